#include "engine/run/runner.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine/run/config_diff.hpp"
#include "engine/run/event_queue.hpp"
#include "engine/run/flow_control.hpp"
#include "engine/run/item_changes.hpp"
#include "engine/run/load_runner.hpp"
#include "engine/run/response_row.hpp"
#include "engine/run/sampling.hpp"
#include "medsafe/error.hpp"
#include "medsafe/version.hpp"

namespace medsafe {
namespace {

using nlohmann::json;
constexpr std::string_view kSafetyPhase = "safety";
constexpr auto kIdleTick = std::chrono::milliseconds(100);

// How many items the runner reads from the store at a time, per model: it holds at most about
// two pages of prompts (plus retries and what is in flight), whatever the suite's size.
constexpr std::size_t kPageItems = 1'000;

// While this many verdicts wait for a judge, no model is asked more: answers (with their
// items) would otherwise pile up in the judges' queues as fast as a model outruns its judges.
constexpr std::size_t kMaxJudgeBacklog = 4 * kPageItems;

using ItemRef = std::shared_ptr<const PromptItem>;

struct AnswerTask {
  std::size_t model = 0;
  std::size_t suite = 0;
  ItemRef item;  ///< from the page it was read in; shared with its judge tasks
  int sample = 0;
  int attempts = 0;  ///< attempts made so far, in this and earlier invocations
};

struct JudgeTask {
  std::size_t judge = 0;
  std::size_t model = 0;
  std::size_t suite = 0;
  ItemRef item;
  int sample = 0;
  std::string answer;
};

// Per model: what waits, what is in flight, and the flow control that decides.
struct ModelState {
  explicit ModelState(const ModelSlot& slot)
      : gate(slot.flow.gate), retry(slot.flow.retry), fail_fast(slot.flow.fail_fast_after) {}
  ModelGate gate;
  RetryPolicy retry;
  FailFast fail_fast;
  std::deque<AnswerTask> queue;
  std::multimap<TimePoint, AnswerTask> retries;  ///< waiting for their backoff to pass
  // Where the next page of missing answers is read from the store: suite index, and the place
  // of the last item read in it.
  std::size_t next_suite = 0;
  std::int64_t after_ord = -1;
  bool exhausted = false;    ///< every page read
  std::int64_t fetched = 0;  ///< planned answers read into the queue so far
  std::int64_t planned = 0;
  std::int64_t answered = 0;
  std::int64_t failed = 0;
  std::int64_t retried = 0;
  TimePoint retry_after_until{};  ///< when the longest wait a server asked for ends
};

// A model × suite whose stored answers a judge owes verdicts: read a page at a time.
struct StoredBacklog {
  std::size_t model = 0;
  std::size_t suite = 0;
};

struct JudgeState {
  std::deque<JudgeTask> queue;
  int in_flight = 0;
  std::int64_t done = 0;
  std::int64_t failures = 0;
  // The answers stored before this invocation that the judge owes verdicts: where the next
  // page is read from, and how many are not read yet (for the progress line).
  std::vector<StoredBacklog> backlog;
  std::size_t next_backlog = 0;
  Store::AnswerPlace after{};
  std::int64_t unread = 0;
  [[nodiscard]] bool exhausted() const noexcept { return next_backlog >= backlog.size(); }
};

class SafetyLoop {
 public:
  SafetyLoop(Assembly& assembly, Store& store, const RunnerOptions& options)
      : assembly_(assembly),
        store_(store),
        options_(options),
        random_state_(assembly.run().run.seed ^ 0x5eed5afe7e11ULL) {
    for (const ModelSlot& m : assembly_.models()) models_.emplace_back(m);
    judges_.resize(assembly_.judges().size());
  }

  InvocationCounts run() {
    plan();
    started_ = Clock::now();
    last_progress_ = started_;
    bool stopping = false;
    TimePoint cancel_at = TimePoint::max();
    while (true) {
      if (!stopping && (interrupted() || counts_.stopped_early)) {
        stopping = true;
        counts_.interrupted = !counts_.stopped_early;
        cancel_at = Clock::now() + options_.grace;
        drop_waiting_work();
      }
      TimePoint wake = Clock::now() + kIdleTick;
      if (!stopping) wake = std::min(wake, dispatch());
      if (in_flight() == 0 && (stopping || nothing_waiting())) break;
      if (Clock::now() >= cancel_at) {
        // Grace is over: every backend ends what is in flight; each request still answers
        // (cancelled), so the loop drains and stores those outcomes.
        for (ModelSlot& m : assembly_.models()) m.backend->cancel_all();
        cancel_at = TimePoint::max();
      }
      wake = std::min({wake, cancel_at, last_progress_ + options_.progress_every});
      events_.take_all(arrived_, wake);
      if (!arrived_.empty()) {
        // One transaction per batch: fewer syncs under load, and every row is still committed
        // before the runner sleeps again.
        Transaction batch = store_.batch();
        for (auto& event : arrived_) event();
        batch.commit();
      }
      report_progress(false);
    }
    report_progress(true);
    return counts_;
  }

 private:
  bool interrupted() const {
    return options_.interrupt != nullptr && options_.interrupt->load() != 0;
  }

  void drop_waiting_work() {
    for (ModelState& m : models_) {
      counts_.unfinished += static_cast<std::int64_t>(m.queue.size() + m.retries.size()) +
                            std::max<std::int64_t>(m.planned - m.fetched, 0);
      m.exhausted = true;
      m.queue.clear();
      m.retries.clear();
    }
    for (JudgeState& j : judges_) {
      j.queue.clear();
      j.next_backlog = j.backlog.size();
      j.unread = 0;
    }
  }

  std::size_t in_flight() const {
    std::size_t n = 0;
    for (const ModelState& m : models_) n += static_cast<std::size_t>(m.gate.in_flight());
    for (const JudgeState& j : judges_) n += static_cast<std::size_t>(j.in_flight);
    return n;
  }

  bool nothing_waiting() const {
    for (const ModelState& m : models_) {
      if (!m.queue.empty() || !m.retries.empty() || !m.exhausted) return false;
    }
    for (const JudgeState& j : judges_) {
      if (!j.queue.empty() || !j.exhausted()) return false;
    }
    return true;
  }

  // Whether model `m` asks suite `s` in this invocation.
  bool asks(std::size_t m, std::size_t s) const {
    return options_.ask_models && assembly_.models()[m].under_test &&
           assembly_.suites()[s].spec->safety;
  }

  // Counts what is missing: answers not in the store (or failed, when retry_failed), which
  // refill() then reads page by page; and queues the verdicts missing (or errors) for stored
  // answers, from their stored text.
  void plan() {
    const RunSettings& settings = assembly_.run().run;
    auto& models = assembly_.models();
    auto& suites = assembly_.suites();
    // A cancelled answer was stopped by an interrupt, not refused by the model: it is asked
    // again even when failures are not.
    const AnswerFilter done = !options_.ask_models    ? AnswerFilter::any
                              : settings.retry_failed ? AnswerFilter::ok
                                                      : AnswerFilter::not_cancelled;
    for (std::size_t m = 0; m < models.size(); ++m) {
      if (!models[m].under_test) continue;
      for (std::size_t s = 0; s < suites.size(); ++s) {
        if (!suites[s].spec->safety) continue;
        const std::string& suite = suites[s].spec->name;
        const std::int64_t stored =
            store_.count_answers(models[m].spec->name, suite, settings.samples, done);
        counts_.already_done += stored;
        if (!options_.ask_models) continue;
        const std::int64_t missing = store_.count_items(suite) * settings.samples - stored;
        models_[m].planned += missing;
        counts_.planned += missing;
      }
      if (!options_.ask_models) models_[m].exhausted = true;
    }
    for (std::size_t m = 0; m < models.size(); ++m) {
      if (!models[m].under_test) models_[m].exhausted = true;
    }
    for (std::size_t j = 0; j < assembly_.judges().size(); ++j) {
      const JudgeSlot& judge = assembly_.judges()[j];
      if (!selected(judge)) continue;
      for (std::size_t m = 0; m < models.size(); ++m) {
        if (!models[m].under_test) continue;
        for (std::size_t s = 0; s < suites.size(); ++s) {
          const std::string& suite = suites[s].spec->name;
          if (!suites[s].spec->safety || !judge.judges_suite(suite)) continue;
          judges_[j].backlog.push_back({m, s});
          judges_[j].unread +=
              store_.count_answers_to_judge(backlog_of(j, judges_[j].backlog.back()));
        }
      }
      // Without a session the store cannot tell this invocation's answers from earlier ones,
      // so the backlog is read now, before any is added (a Store used without begin_session).
      if (store_.session() == 0) refill_judge(j, std::numeric_limits<std::size_t>::max());
    }
  }

  // What judge `j` owes on one model × suite: the answers stored before this invocation, as
  // this invocation's reach their judges as they arrive (queue_judges).
  Store::JudgeBacklog backlog_of(std::size_t j, const StoredBacklog& b) const {
    return {assembly_.judges()[j].spec->name, assembly_.models()[b.model].spec->name,
            assembly_.suites()[b.suite].spec->name, assembly_.run().run.samples, store_.session()};
  }

  // Reads judge `j`'s next pages of stored answers it owes verdicts until its queue holds
  // `until` (a page's worth), or every page is read: a judge added to a run of a million answers
  // holds a page of them, not all.
  void refill_judge(std::size_t j, std::size_t until = kPageItems) {
    JudgeState& state = judges_[j];
    while (!state.exhausted() && state.queue.size() < until) {
      const StoredBacklog& b = state.backlog[state.next_backlog];
      std::vector<StoredAnswer> page =
          store_.answers_to_judge(backlog_of(j, b), state.after, kPageItems);
      if (page.empty()) {
        ++state.next_backlog;
        state.after = {};
        continue;
      }
      for (StoredAnswer& a : page) {
        state.after = {a.prompt.ord, a.sample};
        state.queue.push_back({j, b.model, b.suite,
                               std::make_shared<const PromptItem>(std::move(a.prompt.item)),
                               a.sample, std::move(a.text)});
        state.unread = std::max<std::int64_t>(state.unread - 1, 0);
      }
    }
  }

  // Reads model `m`'s next pages of missing answers from the store until its queue holds a
  // page's worth, or every page is read. Items asked in this invocation come before the cursor,
  // so what a page finds missing is what plan() counted.
  void refill(std::size_t m) {
    ModelState& state = models_[m];
    const RunSettings& settings = assembly_.run().run;
    auto& suites = assembly_.suites();
    while (!state.exhausted && state.queue.size() < kPageItems) {
      if (state.next_suite >= suites.size()) {
        state.exhausted = true;
        break;
      }
      const std::size_t s = state.next_suite;
      std::vector<StoredPrompt> page;
      if (asks(m, s)) page = store_.items_after(suites[s].spec->name, state.after_ord, kPageItems);
      if (page.empty()) {
        ++state.next_suite;
        state.after_ord = -1;
        continue;
      }
      for (StoredPrompt& p : page) {
        state.after_ord = p.ord;
        auto item = std::make_shared<const PromptItem>(std::move(p.item));
        for (int sample = 0; sample < settings.samples; ++sample) {
          const auto found =
              store_.response_state({assembly_.models()[m].spec->name, suites[s].spec->name,
                                     item->id, sample, std::string(kSafetyPhase)});
          const bool keep_failure =
              !settings.retry_failed && found && found->outcome != Outcome::cancelled;
          if (found && (found->outcome == Outcome::ok || keep_failure)) continue;
          state.queue.push_back({m, s, item, sample, found ? found->attempts : 0});
          ++state.fetched;
        }
      }
    }
  }

  // Starts what may start now; returns when something next may start (retries, rate limits).
  TimePoint dispatch() {
    const TimePoint now = Clock::now();
    TimePoint next = TimePoint::max();
    std::size_t backlog = 0;
    for (const JudgeState& j : judges_) backlog += j.queue.size();
    for (std::size_t index = 0; index < models_.size() && backlog < kMaxJudgeBacklog; ++index) {
      ModelState& m = models_[index];
      // Retries whose backoff is over go first: they are the oldest work.
      while (!m.retries.empty() && m.retries.begin()->first <= now) {
        m.queue.push_front(m.retries.begin()->second);
        m.retries.erase(m.retries.begin());
      }
      if (!m.retries.empty()) next = std::min(next, m.retries.begin()->first);
      refill(index);
      while (!m.queue.empty()) {
        const AnswerTask& task = m.queue.front();
        const double tokens = estimate_tokens(item_of(task).prompt);
        const TimePoint when = m.gate.next_start(now, tokens);
        if (when > now) {
          if (when != TimePoint::max()) next = std::min(next, when);
          break;
        }
        m.gate.started(now, tokens);
        submit(m.queue.front());
        m.queue.pop_front();
        if (m.queue.empty()) refill(index);
      }
    }
    auto& judges = assembly_.judges();
    for (std::size_t j = 0; j < judges.size(); ++j) {
      refill_judge(j);
      while (judges_[j].in_flight < judges[j].concurrency && !judges_[j].queue.empty()) {
        JudgeTask task = std::move(judges_[j].queue.front());
        judges_[j].queue.pop_front();
        evaluate(std::move(task));
      }
    }
    return next;
  }

  bool selected(const JudgeSlot& judge) const {
    return options_.judges.empty() || std::find(options_.judges.begin(), options_.judges.end(),
                                                judge.spec->name) != options_.judges.end();
  }

  static const PromptItem& item_of(const AnswerTask& task) { return *task.item; }

  ResponseSlot slot_of(const AnswerTask& task) const {
    return {assembly_.models()[task.model].spec->name, assembly_.suites()[task.suite].spec->name,
            item_of(task).id, task.sample, std::string(kSafetyPhase)};
  }

  void submit(const AnswerTask& task) {
    const PromptItem& item = item_of(task);
    Request request;
    request.id = request_id(slot_of(task));
    request.messages.push_back({"user", item.prompt});
    request.item.category = item.category;
    request.seed = assembly_.run().run.seed + static_cast<std::uint64_t>(task.sample);
    assembly_.models()[task.model].backend->submit(
        std::move(request), [this, task](Response&& response) {
          auto shared = std::make_shared<Response>(std::move(response));
          events_.push([this, task, shared] { on_answer(task, *shared); });
        });
  }

  void on_answer(AnswerTask task, const Response& response) {
    ModelState& model = models_[task.model];
    const TimePoint now = Clock::now();
    model.gate.finished(now, response,
                        response.usage.completion_tokens > 0
                            ? static_cast<double>(response.usage.completion_tokens)
                            : estimate_tokens(response.text));
    task.attempts += std::max(response.wire_sends, 1);
    const bool retry = !counts_.interrupted && !counts_.stopped_early &&
                       model.retry.retryable(response) && task.attempts < model.retry.max_attempts;
    // A server that asks for a longer wait than the model allows fails the attempt now: waiting
    // would park the run (a Retry-After of a day, or an HTTP date years ahead).
    const std::optional<std::string> refused_wait =
        retry ? model.retry.excessive_wait(response) : std::nullopt;
    ResponseRow row = to_row(response, slot_of(task), task.attempts);
    if (refused_wait) row.error = *refused_wait + (row.error.empty() ? "" : "; " + row.error);
    // Every attempt's outcome is committed, so a killed run resumes with the right count.
    store_.put_response(row);
    if (model.fail_fast.record(response, refused_wait.has_value()) && !counts_.stopped_early) {
      stop_early(task.model, model.fail_fast.failures(), row);
    }
    if (response.ok()) {
      ++model.answered;
      ++counts_.answered;
      queue_judges(task, response.text);
      return;
    }
    if (retry && !refused_wait) {
      ++model.retried;
      ++counts_.retried;
      const auto wait = model.retry.delay(task.attempts, response, random_state_);
      if (response.retry_after_s)
        model.retry_after_until = std::max(model.retry_after_until, now + wait);
      model.retries.emplace(now + wait, task);
      return;
    }
    ++model.failed;
    ++counts_.failed;
  }

  // A model's first attempts all failed alike: asking the rest would fail them all the same.
  void stop_early(std::size_t model, std::int64_t attempts, const ResponseRow& last) {
    EarlyStop stop;
    stop.model = assembly_.models()[model].spec->name;
    stop.attempts = attempts;
    stop.outcome = last.outcome;
    stop.http_status = last.http_status;
    stop.error = last.error;
    stop.phase = std::string(kSafetyPhase);
    store_.set_meta("stopped_early", early_stop_to_json(stop));
    counts_.stopped_early = std::move(stop);
  }

  void queue_judges(const AnswerTask& task, const std::string& answer) {
    const std::string& suite = assembly_.suites()[task.suite].spec->name;
    for (std::size_t j = 0; j < assembly_.judges().size(); ++j) {
      const JudgeSlot& judge = assembly_.judges()[j];
      if (!judge.judges_suite(suite) || !selected(judge)) continue;
      judges_[j].queue.push_back({j, task.model, task.suite, task.item, task.sample, answer});
    }
  }

  void evaluate(JudgeTask task) {
    JudgeSlot& judge = assembly_.judges()[task.judge];
    const SuiteSlot& suite = assembly_.suites()[task.suite];
    JudgeInput input;
    input.model = assembly_.models()[task.model].spec->name;
    input.suite = suite.spec->name;
    input.domain = suite.domain;
    input.item = *task.item;
    input.response = std::move(task.answer);
    task.answer.clear();
    ++judges_[task.judge].in_flight;
    judge.judge->evaluate(std::move(input), [this, task](Verdict&& verdict) {
      auto shared = std::make_shared<Verdict>(std::move(verdict));
      events_.push([this, task, shared] { on_verdict(task, *shared); });
    });
  }

  void on_verdict(const JudgeTask& task, const Verdict& verdict) {
    JudgeState& state = judges_[task.judge];
    --state.in_flight;
    ++state.done;
    VerdictRow row;
    row.judge = assembly_.judges()[task.judge].spec->name;
    row.model = assembly_.models()[task.model].spec->name;
    row.suite = assembly_.suites()[task.suite].spec->name;
    row.item_id = task.item->id;
    row.sample = task.sample;
    row.status = verdict.status;
    row.score = verdict.score;
    row.refused = verdict.refused;
    row.label = verdict.label;
    row.reason = verdict.reason;
    row.raw = verdict.raw;
    row.model_calls = verdict.model_calls;
    row.flags = verdict.flags;
    store_.put_verdict(row);
    ++counts_.judged;
    if (verdict.status != VerdictStatus::ok) {
      ++counts_.judge_failures;
      ++state.failures;
    }
  }

  void report_progress(bool final) {
    if (!options_.progress) return;
    const TimePoint now = Clock::now();
    if (!final && now - last_progress_ < options_.progress_every) return;
    last_progress_ = now;
    const double elapsed = std::chrono::duration<double>(now - started_).count();
    std::vector<std::string> lines;
    auto& models = assembly_.models();
    for (std::size_t i = 0; i < models_.size(); ++i) {
      const ModelState& m = models_[i];
      if (!models[i].under_test || !options_.ask_models) continue;
      const std::int64_t done = m.answered + m.failed;
      const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
      std::ostringstream line;
      line << models[i].spec->name << ": " << done << "/" << m.planned << " answered";
      if (m.failed > 0) line << ", " << m.failed << " failed";
      if (m.retried > 0) line << ", " << m.retried << " retried";
      if (!final && m.retry_after_until > now && !m.retries.empty()) {
        const auto left = std::chrono::ceil<std::chrono::seconds>(m.retry_after_until - now);
        line << ", waiting " << left.count() << " s (Retry-After)";
      }
      if (m.gate.limit() < models[i].flow.gate.concurrency) {
        line << ", concurrency " << m.gate.limit() << "/" << models[i].flow.gate.concurrency;
      }
      line.precision(1);
      line << std::fixed << ", " << rate << " req/s";
      const std::int64_t left = m.planned - done;
      if (!final && rate > 0 && left > 0) {
        line << ", ETA " << format_duration(static_cast<double>(left) / rate);
      }
      lines.push_back(line.str());
    }
    std::ostringstream judged;
    judged << "judges: " << counts_.judged << " verdicts";
    if (counts_.judge_failures > 0) judged << ", " << counts_.judge_failures << " failures";
    std::size_t waiting = 0;
    for (const JudgeState& j : judges_)
      waiting += j.queue.size() + static_cast<std::size_t>(j.in_flight + j.unread);
    if (waiting > 0) judged << ", " << waiting << " waiting";
    if (counts_.already_done > 0) judged << "; " << counts_.already_done << " answers were stored";
    if (final) judged << "; " << format_duration(elapsed);
    if (!assembly_.judges().empty() || final) lines.push_back(judged.str());
    options_.progress(lines, final);
  }

  Assembly& assembly_;
  Store& store_;
  const RunnerOptions& options_;
  EventQueue events_;
  std::vector<std::function<void()>> arrived_;  ///< the batch being run
  std::deque<ModelState> models_;
  std::vector<JudgeState> judges_;
  InvocationCounts counts_;
  std::uint64_t random_state_;
  TimePoint started_{};
  TimePoint last_progress_{};
};

// Throws when the store holds `now` under another set-up, naming the keys that differ (from the
// fingerprints: values as written, never as expanded from the environment). Writes nothing: a
// refused run must leave the store as it was.
void check_same(Store& store, const ComponentRecord& now, const ComponentSpec& spec) {
  const auto before = store.component(now.kind, now.name);
  if (before && (before->plugin != now.plugin || before->fingerprint != now.fingerprint)) {
    std::string changes =
        describe_changes(spec.owner(), diff_fingerprints(before->fingerprint, now.fingerprint));
    if (changes.empty() && before->plugin != now.plugin) {
      changes =
          spec.owner() + ".plugin: \"" + before->plugin + "\" before, \"" + now.plugin + "\" now";
    }
    throw located_error(
        ErrorKind::config, spec.where,
        now.kind + " '" + now.name + "' is configured differently from the run stored in " +
            store.file().parent_path().string() + (changes.empty() ? "" : ": " + changes) +
            " (its answers would mix two set-ups); use another --out directory, or rename the " +
            now.kind + " in the run file");
  }
}

// Refuses (a data Error at the first changed suite) when a dataset row changed under stored
// answers and the run does not ask for them to be asked again.
void check_items(const std::vector<ItemChanges>& all, Assembly& assembly, const Store& store,
                 bool rerun_changed) {
  if (rerun_changed) return;
  std::string problems;
  const ComponentSpec* first = nullptr;
  for (std::size_t s = 0; s < all.size(); ++s) {
    const ItemChanges& c = all[s];
    if (c.changed.empty()) continue;
    if (first == nullptr) first = assembly.suites()[s].spec;
    problems += (problems.empty() ? "" : "; ") + std::string("suite '") + c.suite +
                "': " + count_of(static_cast<std::int64_t>(c.changed.size()), "item", "items") +
                " changed (" + some_ids(c.changed) + "), with " +
                count_of(c.changed_answers, "answer", "answers") + " and " +
                count_of(c.changed_verdicts, "verdict", "verdicts");
  }
  if (first == nullptr) return;
  throw located_error(ErrorKind::data, first->where,
                      "the dataset changed since the answers stored in " +
                          store.file().parent_path().string() + " were asked: " + problems +
                          ". Their answers would be paired with the new text: rerun with "
                          "--rerun-changed to drop those answers and verdicts and ask the "
                          "changed items again, or use another --out directory");
}

nlohmann::json judge_extra(const JudgeSlot& j) {
  return {{"harm_score", j.traits.harm_score}, {"refusal", j.traits.refusal}, {"suites", j.suites}};
}

}  // namespace

std::string format_duration(double seconds) {
  if (seconds < 0 || seconds > 1e7) return "?";
  const long total = std::lround(seconds);
  std::ostringstream out;
  if (total >= 3600) out << total / 3600 << "h";
  if (total >= 60) out << (total / 60) % 60 << "m";
  out << total % 60 << "s";
  return out.str();
}

std::optional<ShardPlan> record_run(Store& store, Assembly& assembly, Log& log,
                                    const RecordOptions& options) {
  const RunFile& run = assembly.run();
  // One transaction for the whole record: the items are written batch by batch as the suites
  // stream (never held whole), and a run refused after that still leaves the store as it was.
  Transaction record = store.batch();
  for (ModelSlot& m : assembly.models()) {
    check_same(store, {"model", m.spec->name, m.spec->plugin, m.spec->fingerprint}, *m.spec);
  }
  for (SuiteSlot& s : assembly.suites()) {
    check_same(store, {"suite", s.spec->name, s.spec->plugin, s.spec->fingerprint}, *s.spec);
  }
  std::optional<ShardPlan> plan;
  if (options.shard) plan = ShardPlan{*options.shard, {}};
  const std::vector<ItemChanges> item_changes =
      record_items(store, assembly, plan ? &*plan : nullptr);
  check_items(item_changes, assembly, store, options.rerun_changed);
  for (ModelSlot& m : assembly.models()) {
    // The model tested, for reports rebuilt from the store alone (already without secrets).
    const json extra = {
        {"under_test", m.under_test}, {"model_id", m.target.model_id}, {"host", m.target.host}};
    (void)store.record_component({"model", m.spec->name, m.spec->plugin, m.spec->fingerprint},
                                 extra.dump());
  }
  for (const ItemChanges& c : item_changes) {
    const std::string& suite = c.suite;
    if (!c.changed.empty()) {
      const auto [answers, verdicts] = store.drop_answers(suite, c.changed);
      log.warn("run", "suite '" + suite + "': " +
                          count_of(static_cast<std::int64_t>(c.changed.size()), "item", "items") +
                          " changed since their answers were stored (" + some_ids(c.changed) +
                          "): " + count_of(answers, "answer", "answers") + " and " +
                          count_of(verdicts, "verdict", "verdicts") + " dropped, asked again");
    }
    if (!c.gone.empty()) {
      log.warn("run",
               "suite '" + suite + "': " +
                   count_of(c.gone_answers, "stored answer belongs", "stored answers belong") +
                   " to " + count_of(static_cast<std::int64_t>(c.gone.size()), "item", "items") +
                   " no longer in its dataset (" + some_ids(c.gone) +
                   "): kept in the store, left out of the reports");
    }
  }
  for (SuiteSlot& s : assembly.suites()) {
    const std::string expect = std::string(to_string(s.spec->expect));
    const json extra = {{"domain", s.domain}, {"safety", s.spec->safety}, {"expect", expect}};
    (void)store.record_component({"suite", s.spec->name, s.spec->plugin, s.spec->fingerprint},
                                 extra.dump());
    store.put_categories(s.spec->name, s.categories);
  }
  for (JudgeSlot& j : assembly.judges()) {
    // A judge whose configuration changed judges again: verdicts of two set-ups never mix.
    const auto before = store.record_component(
        {"judge", j.spec->name, j.spec->plugin, j.spec->fingerprint}, judge_extra(j).dump());
    if (before &&
        (before->plugin != j.spec->plugin || before->fingerprint != j.spec->fingerprint)) {
      const std::int64_t dropped = store.delete_verdicts(j.spec->name);
      log.warn("run", "judge '" + j.spec->name +
                          "' is configured differently from the stored run: its " +
                          std::to_string(dropped) + " verdicts will be made again");
    }
  }
  const json info = {{"name", run.run.name},
                     {"run_file", run.file.string()},
                     {"seed", run.run.seed},
                     {"samples", run.run.samples},
                     {"primary_judge", assembly.primary_judge()},
                     {"refusal_judge", assembly.refusal_judge()},
                     {"medsafe_version", MEDSAFE_VERSION}};
  store.set_meta("run_info", info.dump());
  // This invocation has not stopped early (yet): the reports must not show an earlier one's.
  store.set_meta("stopped_early", "");
  store.set_meta("run_file_text", run.text);
  // With the text, what `medsafe doctor` needs to read the datasets as this run did.
  store.set_meta("run_overrides", json(run.overrides).dump());
  store.set_meta("run_unsets", json(run.unsets).dump());
  store.set_meta("planned_load_points", json(options.load_phases ? planned_load_phases(assembly)
                                                                 : std::vector<std::string>())
                                            .dump());
  if (!store.meta("started_at")) store.set_meta("started_at", utc_now());
  store.set_meta("updated_at", utc_now());
  record.commit();
  return plan;
}

void record_judges(Store& store, Assembly& assembly, Log& log,
                   const std::vector<std::string>& judges, bool replace) {
  for (const std::string& name : judges) {
    const auto found = std::find_if(assembly.judges().begin(), assembly.judges().end(),
                                    [&name](const JudgeSlot& j) { return j.spec->name == name; });
    if (found == assembly.judges().end()) {
      std::string known;
      for (const JudgeSlot& j : assembly.judges())
        known += (known.empty() ? "" : ", ") + j.spec->name;
      throw Error(ErrorKind::usage, "the run file has no judge '" + name + "'; its judges: " +
                                        (known.empty() ? std::string("none") : known) +
                                        " (add a [judges." + name + "] table)");
    }
    const JudgeSlot& j = *found;
    const auto before = store.record_component(
        {"judge", j.spec->name, j.spec->plugin, j.spec->fingerprint}, judge_extra(j).dump());
    const bool changed =
        before && (before->plugin != j.spec->plugin || before->fingerprint != j.spec->fingerprint);
    if (replace || changed) {
      const std::int64_t dropped = store.delete_verdicts(j.spec->name);
      if (dropped > 0) {
        log.info("judge", "judge '" + j.spec->name + "': " + std::to_string(dropped) +
                              " stored verdicts dropped, to be made again");
      }
    }
  }
  store.set_meta("updated_at", utc_now());
}

InvocationCounts run_missing(Assembly& assembly, Store& store, const RunnerOptions& options) {
  SafetyLoop loop(assembly, store, options);
  InvocationCounts counts = loop.run();
  store.set_meta("updated_at", utc_now());
  return counts;
}

}  // namespace medsafe
