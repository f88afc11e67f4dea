#include "engine/run/load_runner.hpp"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>

#include "engine/run/flow_control.hpp"
#include "engine/run/response_row.hpp"
#include "engine/run/sampling.hpp"
#include "medsafe/error.hpp"

namespace medsafe {
namespace {

constexpr auto kIdleTick = std::chrono::milliseconds(100);
// A load point keeps its rows in memory while it measures and writes them when it ends: a
// SQLite insert costs about as much CPU as the request itself, and on a machine shared with the
// server under test that CPU is taken from the server. Nothing of value is at risk: a load point
// cut short is measured again from the start on resume. Only a point whose answers outgrow this
// much memory writes them while it measures (and the CPU that takes is then missing from the
// measurement): at 300 bytes per short answer, that is 1.7 million requests.
constexpr std::size_t kMaxPendingBytes = std::size_t{512} << 20;
// Open-loop schedules start a little in the future, so the first send is not already late.
constexpr auto kScheduleLead = std::chrono::milliseconds(20);

std::string level_text(double level) {
  std::ostringstream out;
  out << level;
  return out.str();
}

Clock::duration seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

// The arrival schedule of an open-loop point: absolute times, so a late send never shifts the
// ones after it (no drift from relative sleeps).
class Schedule {
 public:
  Schedule(TimePoint start, double rate, bool poisson, std::uint64_t seed)
      : next_(start), rate_(rate), poisson_(poisson), random_(seed) {}

  [[nodiscard]] TimePoint peek() const { return next_; }
  TimePoint pop() {
    const TimePoint due = next_;
    double gap = 1.0 / rate_;
    if (poisson_) {
      // Exponential gaps from a uniform in (0, 1]: never log(0).
      const double u = (static_cast<double>(random_.next() >> 11) + 1.0) * 0x1.0p-53;
      gap = -std::log(u) / rate_;
    }
    next_ += seconds(gap);
    return due;
  }

 private:
  TimePoint next_;
  double rate_;
  bool poisson_;
  Xoshiro256 random_;
};

// One answer as it arrives, kept as it is until the point writes its rows.
struct Answer {
  std::int64_t index = 0;  ///< the request's position in its load point
  TimePoint intended;
  bool warmup = false;
  Response response;
};

// The memory one kept answer holds, near enough to bound a point's: the struct and what its
// strings and time stamps hold outside it.
std::size_t memory_of(const Answer& answer) {
  const Response& r = answer.response;
  const auto outside = [](const std::string& text) {
    return text.capacity() > std::string().capacity() ? text.capacity() + 1 : 0;
  };
  return sizeof(Answer) + outside(r.error) + outside(r.text) + outside(r.finish_reason) +
         r.timing.token_events.capacity() * sizeof(TimePoint);
}

// The thread that is inside LoadPoint::send, on which point: an answer given inside submit
// is kept for send() instead of taking the lock this thread already holds.
thread_local const void* t_sending = nullptr;

class SendingScope {
 public:
  explicit SendingScope(const void* point) noexcept : outer_(t_sending) { t_sending = point; }
  ~SendingScope() { t_sending = outer_; }
  SendingScope(const SendingScope&) = delete;
  SendingScope& operator=(const SendingScope&) = delete;

 private:
  const void* outer_;
};

// One load point: sends its requests, keeps their answers, writes them when it ends.
//
// Answers come on the backend's threads. They update the point under its lock. At fixed
// concurrency, with a backend that allows it (Backend::reentrant_submit), the answer's thread
// also sends the next request: the runner's thread then only starts the point, watches for an
// interrupt and writes the rows, instead of being woken for every answer (a futex wake and a
// context switch per request, about a sixth of the client's CPU at 30 k requests per second).
class LoadPoint {
 public:
  LoadPoint(const LoadSpec& load, ModelSlot& model, const SuiteSlot& suite, double level,
            LoadPointRow& row, Store& store, const RunnerOptions& options, std::uint64_t seed,
            std::size_t point, std::size_t points)
      : point_(point),
        points_(points),
        load_(load),
        model_(model),
        suite_(suite),
        level_(level),
        row_(row),
        store_(store),
        options_(options),
        seed_(seed),
        fail_fast_(model.flow.fail_fast_after) {}

  // Returns false when interrupted.
  bool run() {
    const TimePoint start = Clock::now();
    warmup_ends_ = load_.warmup_s > 0 ? start + seconds(load_.warmup_s) : TimePoint{};
    if (load_.mode == LoadMode::rate) {
      schedule_.emplace(start + kScheduleLead, level_, load_.poisson, seed_);
    }
    refill_in_callbacks_ =
        load_.mode == LoadMode::concurrency && model_.backend->reentrant_submit();
    TimePoint cancel_at = TimePoint::max();
    bool cancel_armed = false;
    std::unique_lock lock(mutex_);
    if (options_.progress) report_progress(lock, start, false);  // where it starts: 0 done
    while (true) {
      if (!stopping_ && interrupted()) stopping_ = true;
      // An interrupt, or an answer that stopped the point early (on_done).
      if (stopping_ && !cancel_armed) {
        cancel_armed = true;
        cancel_at = Clock::now() + options_.grace;
      }
      TimePoint wake = Clock::now() + kIdleTick;
      if (!stopping_) wake = std::min(wake, send_due());
      if (in_flight_ == 0 && (stopping_ || sending_done_)) break;
      if (Clock::now() >= cancel_at) {
        cancel_at = TimePoint::max();
        lock.unlock();  // the cancelled requests' callbacks take the lock
        model_.backend->cancel_all();
        lock.lock();
        continue;
      }
      if (pending_bytes_ >= kMaxPendingBytes) {
        write_pending(lock);
        continue;
      }
      if (options_.progress && Clock::now() >= next_progress_) {
        report_progress(lock, start, false);
        continue;
      }
      // Every change a callback makes is under the lock, so none is missed between the checks
      // above and this wait.
      changed_.wait_until(lock, std::min({wake, cancel_at, next_progress_}));
    }
    write_pending(lock);
    if (options_.progress) report_progress(lock, start, true);
    return !stopping_;
  }

  [[nodiscard]] std::int64_t failed() const { return failed_; }
  [[nodiscard]] const std::optional<EarlyStop>& stopped_early() const { return stopped_early_; }

 private:
  bool interrupted() const {
    return options_.interrupt != nullptr && options_.interrupt->load() != 0;
  }

  // Reports where the point stands; the lock is released while the line is printed.
  void report_progress(std::unique_lock<std::mutex>& lock, TimePoint start, bool final) {
    const TimePoint now = Clock::now();
    next_progress_ = now + options_.progress_every;
    LoadProgress progress;
    progress.point = point_;
    progress.points = points_;
    progress.model = model_.spec->name;
    progress.mode = load_.mode == LoadMode::rate ? "rate" : "concurrency";
    progress.level = level_;
    progress.done = row_.sent - in_flight_;
    progress.planned = load_.requests > 0 ? load_.requests + load_.warmup_requests : 0;
    progress.failed = failed_;
    progress.elapsed_s = std::chrono::duration<double>(now - start).count();
    progress.duration_s = load_.duration_s > 0 ? load_.duration_s + load_.warmup_s : 0;
    std::string line = load_progress_line(progress);
    if (final) line += stopping_ ? " (stopped)" : " (done)";
    lock.unlock();
    options_.progress({line}, false);
    lock.lock();
  }

  // Whether the request about to be sent at `at` is still warm-up.
  bool is_warmup(TimePoint at) const {
    if (row_.sent < load_.warmup_requests) return true;
    return warmup_ends_ != TimePoint{} && at < warmup_ends_;
  }

  // Whether another measured request may be sent at `at`.
  bool may_send_measured(TimePoint at) const {
    if (load_.requests > 0 && measured_ >= load_.requests) return false;
    if (load_.duration_s > 0 && window_started_ &&
        at >= row_window_start() + seconds(load_.duration_s)) {
      return false;
    }
    return true;
  }

  TimePoint row_window_start() const { return from_ns(row_.window_start_ns); }

  // Sends what is due; returns when the next send is due (max when waiting for completions).
  // Holding the lock.
  TimePoint send_due() {
    if (sending_done_) return TimePoint::max();
    const TimePoint now = Clock::now();
    if (load_.mode == LoadMode::concurrency) {
      fill(now);
      // Below the level only when answers came back inside submit: go round again at once.
      return in_flight_ < concurrency() && !sending_done_ ? now : TimePoint::max();
    }
    while (!sending_done_ && schedule_->peek() <= now) {
      if (in_flight_ >= load_.max_in_flight) return TimePoint::max();  // lag grows: recorded
      send(schedule_->peek());
      if (!sending_done_) schedule_->pop();
    }
    return sending_done_ ? TimePoint::max() : schedule_->peek();
  }

  [[nodiscard]] std::int64_t concurrency() const { return static_cast<std::int64_t>(level_); }

  // Brings the requests in flight up to the level, sending at most one level's worth: answers
  // that come back inside submit free their place at once, and a backend that fails every
  // request that way must not keep this thread here for the whole point. Holding the lock.
  void fill(TimePoint now) {
    const std::int64_t limit = concurrency();
    for (std::int64_t n = 0; n < limit && in_flight_ < limit && !sending_done_; ++n) send(now);
  }

  // Holding the lock.
  void send(TimePoint intended) {
    const bool warmup = is_warmup(intended);
    if (!warmup) {
      if (!may_send_measured(intended)) {
        sending_done_ = true;
        return;
      }
      if (!window_started_) {
        window_started_ = true;
        row_.window_start_ns = to_ns(intended);
      }
      ++measured_;
      row_.window_end_ns = to_ns(intended);
    }
    const std::int64_t index = row_.sent;
    const PromptItem& item = item_at(index);
    ++row_.sent;
    if (warmup) ++row_.warmup;
    ++in_flight_;
    Request request;
    request.id = request_id(slot_of(index));
    request.messages.push_back({"user", item.prompt});
    request.item.category = item.category;
    request.max_tokens = load_.max_tokens;
    request.load.ignore_eos = load_.ignore_eos;
    request.intended_send = intended;
    {
      const SendingScope sending(this);
      model_.backend->submit(std::move(request),
                             [this, index, intended, warmup](Response&& response) {
                               on_answer(Answer{index, intended, warmup, std::move(response)});
                             });
    }
    for (Answer& answer : answered_in_submit_) on_done(std::move(answer));
    answered_in_submit_.clear();
  }

  // A request's callback, on any thread.
  void on_answer(Answer&& answer) {
    if (t_sending == this) {
      // Called inside submit, by the thread that is sending and so holds the lock: send()
      // takes the answer when submit returns.
      answered_in_submit_.push_back(std::move(answer));
      return;
    }
    std::lock_guard lock(mutex_);
    on_done(std::move(answer));
    if (refill_in_callbacks_ && !stopping_) fill(Clock::now());
    // Notified under the lock: once the runner sees the last answer it may destroy this point.
    if (runner_needed()) changed_.notify_one();
  }

  // Whether the runner's thread has something to do after an answer. Holding the lock.
  [[nodiscard]] bool runner_needed() const {
    if (!refill_in_callbacks_) return true;  // it sends, or waits for the end
    return in_flight_ == 0 || pending_bytes_ >= kMaxPendingBytes ||
           (in_flight_ < concurrency() && !sending_done_ && !stopping_);
  }

  // The point's index-th request asks the suite's prompts in turn, round after round.
  [[nodiscard]] const PromptItem& item_at(std::int64_t index) const {
    return suite_.items[static_cast<std::size_t>(index) % suite_.items.size()];
  }

  [[nodiscard]] ResponseSlot slot_of(std::int64_t index) const {
    const std::size_t n = suite_.items.size();
    return ResponseSlot{model_.spec->name, suite_.spec->name, item_at(index).id,
                        static_cast<int>(static_cast<std::size_t>(index) / n), row_.phase};
  }

  void on_done(Answer&& answer) {
    --in_flight_;
    const Response& response = answer.response;
    if (!response.ok()) ++failed_;
    if (fail_fast_.record(response, false) && !stopped_early_) {
      // The point's first requests all failed alike: sending on only repeats the failure, at
      // the full rate of a load test.
      EarlyStop stop;
      stop.model = model_.spec->name;
      stop.attempts = fail_fast_.failures();
      stop.outcome = response.outcome;
      stop.http_status = response.http_status;
      stop.error = response.error;
      stop.phase = row_.phase;
      stopped_early_ = std::move(stop);
      stopping_ = true;
      changed_.notify_one();
    }
    if (!answer.warmup && response.timing.sent != TimePoint{}) {
      send_lags_ms_.push_back(
          std::chrono::duration<double, std::milli>(response.timing.sent - answer.intended)
              .count());
    }
    pending_bytes_ += memory_of(answer);
    pending_.push_back(std::move(answer));
  }

  // Writes the answers kept so far; the lock is released while the store writes, so answers
  // keep arriving (and, refilled in callbacks, requests keep leaving) meanwhile.
  void write_pending(std::unique_lock<std::mutex>& lock) {
    if (pending_.empty()) return;
    std::deque<Answer> rows;
    rows.swap(pending_);
    pending_bytes_ = 0;
    lock.unlock();
    Transaction batch = store_.batch();
    for (const Answer& answer : rows) {
      ResponseRow row = to_row(answer.response, slot_of(answer.index), 1, answer.intended);
      row.warmup = answer.warmup;
      store_.put_response(row);
    }
    batch.commit();
    lock.lock();
  }

 public:
  /// p99 of (actual − intended send) over the measured requests, in milliseconds.
  [[nodiscard]] std::optional<double> send_lag_p99_ms() const {
    if (send_lags_ms_.empty()) return std::nullopt;
    std::vector<double> sorted = send_lags_ms_;
    std::sort(sorted.begin(), sorted.end());
    return percentile_sorted(sorted, 0.99);
  }

 private:
  std::size_t point_;
  std::size_t points_;
  TimePoint next_progress_{};  ///< when the next progress line is due
  const LoadSpec& load_;
  ModelSlot& model_;
  const SuiteSlot& suite_;
  double level_;
  LoadPointRow& row_;
  Store& store_;
  const RunnerOptions& options_;
  std::uint64_t seed_;
  // The point's state below is shared by the runner's thread and the callbacks' threads.
  std::mutex mutex_;
  std::condition_variable changed_;   ///< an answer the runner has to act on
  bool refill_in_callbacks_ = false;  ///< fixed concurrency, reentrant backend: see on_answer
  bool stopping_ = false;
  std::vector<Answer> answered_in_submit_;
  std::optional<Schedule> schedule_;
  TimePoint warmup_ends_{};
  std::int64_t in_flight_ = 0;
  std::int64_t measured_ = 0;
  std::int64_t failed_ = 0;
  bool window_started_ = false;
  bool sending_done_ = false;
  std::vector<double> send_lags_ms_;
  std::deque<Answer> pending_;     ///< answered, not yet in the store
  std::size_t pending_bytes_ = 0;  ///< the memory pending_ holds, roughly (memory_of)
  FailFast fail_fast_;
  std::optional<EarlyStop> stopped_early_;
};

}  // namespace

std::string load_progress_line(const LoadProgress& p) {
  std::ostringstream line;
  line << "load point " << p.point << "/" << p.points << " (" << p.model << " at " << p.mode << " "
       << level_text(p.level) << "): " << p.done;
  if (p.planned > 0) line << "/" << p.planned;
  line << " requests";
  if (p.failed > 0) line << ", " << p.failed << " failed";
  const double rate = p.elapsed_s > 0 ? static_cast<double>(p.done) / p.elapsed_s : 0.0;
  line.precision(1);
  line << std::fixed << ", " << rate << " req/s";
  if (p.duration_s > 0) line << ", " << p.elapsed_s << "/" << p.duration_s << " s";
  std::optional<double> eta;
  if (p.planned > 0 && rate > 0) {
    eta = static_cast<double>(std::max<std::int64_t>(p.planned - p.done, 0)) / rate;
  }
  if (p.duration_s > 0) {
    const double left = std::max(p.duration_s - p.elapsed_s, 0.0);
    eta = eta ? std::min(*eta, left) : left;
  }
  if (eta) line << ", ETA " << format_duration(*eta);
  return line.str();
}

LoadPointResult measure_load_point(const LoadSpec& load, ModelSlot& model, const SuiteSlot& suite,
                                   double level, LoadPointRow& row, Store& store,
                                   const RunnerOptions& options, std::uint64_t seed,
                                   std::size_t number, std::size_t points) {
  LoadPoint point(load, model, suite, level, row, store, options, seed, number, points);
  LoadPointResult result;
  result.complete = point.run();
  result.stopped_early = point.stopped_early();
  result.failed = point.failed();
  result.send_lag_p99_ms = point.send_lag_p99_ms();
  return result;
}

std::string load_phase_key(const LoadSpec& load, const std::string& model, double level) {
  return "load/" + load.name + "/" + model + "/" +
         (load.mode == LoadMode::rate ? "rate=" : "concurrency=") + level_text(level);
}

namespace {

// Whether `load` measures `model`: the models it names, else every model under test.
bool drives(const LoadSpec& load, const ModelSlot& model) {
  return load.models.empty() ? model.under_test
                             : std::find(load.models.begin(), load.models.end(),
                                         model.spec->name) != load.models.end();
}

}  // namespace

std::vector<std::string> planned_load_phases(Assembly& assembly) {
  std::vector<std::string> phases;
  for (const LoadSpec& load : assembly.run().loads) {
    for (const ModelSlot& model : assembly.models()) {
      if (!drives(load, model)) continue;
      for (const double level : load.levels) {
        phases.push_back(load_phase_key(load, model.spec->name, level));
      }
    }
  }
  return phases;
}

LoadCounts run_load_phases(Assembly& assembly, Store& store, const RunnerOptions& options) {
  LoadCounts counts;
  const RunFile& run = assembly.run();
  // Every point of every sweep, stored ones included: progress counts them all.
  std::size_t points = 0;
  for (const LoadSpec& load : run.loads) {
    for (const ModelSlot& model : assembly.models()) {
      if (drives(load, model)) points += load.levels.size();
    }
  }
  int ord = 0;
  for (const LoadSpec& load : run.loads) {
    const SuiteSlot* suite = nullptr;
    for (const SuiteSlot& s : assembly.suites()) {
      if (s.spec->name == load.suite) suite = &s;
    }
    if (suite == nullptr || suite->items.empty()) {
      throw located_error(ErrorKind::config, load.where,
                          "[load." + load.name + "] has no prompts: suite '" + load.suite +
                              "' is empty or missing");
    }
    for (ModelSlot& model : assembly.models()) {
      if (!drives(load, model)) continue;
      for (const double level : load.levels) {
        LoadPointRow row;
        row.phase = load_phase_key(load, model.spec->name, level);
        row.ord = ord++;
        if (store.load_point_status(row.phase) == std::optional<std::string>("complete")) {
          ++counts.points_skipped;
          continue;
        }
        if (options.interrupt != nullptr && options.interrupt->load() != 0) {
          counts.interrupted = true;
          return counts;
        }
        store.delete_phase(row.phase);
        row.load = load.name;
        row.model = model.spec->name;
        row.mode = load.mode == LoadMode::rate ? "rate" : "concurrency";
        row.level = level;
        row.arrival = load.mode == LoadMode::rate ? (load.poisson ? "poisson" : "constant") : "";
        row.planned = load.requests;
        row.status = "running";
        row.slo_ttft_ms = load.slo_ttft_ms;
        row.slo_tpot_ms = load.slo_tpot_ms;
        row.slo_e2e_ms = load.slo_e2e_ms;
        store.put_load_point(row);
        if (options.progress) {
          options.progress({"load " + load.name + ": point " + std::to_string(row.ord + 1) + "/" +
                            std::to_string(points) + ", " + model.spec->name + " at " + row.mode +
                            " " + level_text(level) + " ..."},
                           false);
        }
        const std::uint64_t seed = cell_seed(run.run.seed, {row.phase});
        const LoadPointResult point =
            measure_load_point(load, model, *suite, level, row, store, options, seed,
                               static_cast<std::size_t>(row.ord) + 1, points);
        const bool complete = point.complete;
        counts.requests += row.sent;
        counts.failed += point.failed;
        if (load.mode == LoadMode::rate && load.requests == 0) row.planned = row.sent - row.warmup;
        const std::optional<double> lag = point.send_lag_p99_ms;
        if (lag && load.max_send_lag_ms > 0 && *lag > load.max_send_lag_ms) {
          row.valid = false;
          std::ostringstream note;
          note.precision(3);
          note << "the client could not keep the schedule: p99 send lag " << *lag << " ms > "
               << load.max_send_lag_ms << " ms";
          row.note = note.str();
          ++counts.points_invalid;
        }
        row.status = complete ? "complete" : "interrupted";
        if (point.stopped_early) {
          row.note = "stopped early: its first " + std::to_string(point.stopped_early->attempts) +
                     " requests all failed alike";
        }
        store.put_load_point(row);
        if (point.stopped_early) {
          store.set_meta("stopped_early", early_stop_to_json(*point.stopped_early));
          counts.stopped_early = point.stopped_early;
          return counts;
        }
        if (!complete) {
          counts.interrupted = true;
          return counts;
        }
        ++counts.points_measured;
      }
    }
  }
  return counts;
}

}  // namespace medsafe
