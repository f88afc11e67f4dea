#include "engine/runner.hpp"

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "medsafe/error.hpp"
#include "medsafe/version.hpp"

namespace medsafe {
namespace {

using nlohmann::json;
constexpr std::string_view kSafetyPhase = "safety";

// Completions arrive on backend threads; the runner thread applies them in order.
class EventQueue {
 public:
  void push(std::function<void()> event) {
    {
      std::lock_guard lock(mutex_);
      events_.push_back(std::move(event));
    }
    ready_.notify_one();
  }

  // Waits until an event is available or `deadline`; returns all available events.
  std::deque<std::function<void()>> wait_until(Clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    ready_.wait_until(lock, deadline, [this] { return !events_.empty(); });
    std::deque<std::function<void()>> out;
    out.swap(events_);
    return out;
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> events_;
};

struct AnswerTask {
  std::size_t model = 0;
  std::size_t suite = 0;
  std::size_t item = 0;
  int sample = 0;
  int attempts_before = 0;
};

struct JudgeTask {
  std::size_t judge = 0;
  std::size_t model = 0;
  std::size_t suite = 0;
  std::size_t item = 0;
  int sample = 0;
  std::string answer;
};

std::string request_id(const std::string& model, const std::string& suite, const std::string& item,
                       int sample) {
  return model + "/" + suite + "/" + item + "#" + std::to_string(sample);
}

ResponseRow to_row(const Response& r, const std::string& model, const std::string& suite,
                   const std::string& item, int sample, int attempts) {
  ResponseRow row;
  row.model = model;
  row.suite = suite;
  row.item_id = item;
  row.sample = sample;
  row.phase = std::string(kSafetyPhase);
  row.outcome = r.outcome;
  row.http_status = r.http_status;
  row.error = r.error;
  row.text = r.text;
  row.finish_reason = r.finish_reason;
  row.prompt_tokens = r.usage.prompt_tokens;
  row.completion_tokens = r.usage.completion_tokens;
  row.token_source = r.usage.source;
  row.attempts = attempts;
  row.intended_send_ns = to_ns(r.timing.intended_send);
  row.sent_ns = to_ns(r.timing.sent);
  row.first_byte_ns = to_ns(r.timing.first_byte);
  row.finished_ns = to_ns(r.timing.finished);
  row.token_event_ns.reserve(r.timing.token_events.size());
  for (const TimePoint t : r.timing.token_events) row.token_event_ns.push_back(to_ns(t));
  return row;
}

std::string format_duration(double seconds) {
  if (seconds < 0 || seconds > 1e7) return "?";
  const auto total = static_cast<long>(seconds + 0.5);
  std::ostringstream out;
  if (total >= 3600) out << total / 3600 << "h";
  if (total >= 60) out << (total / 60) % 60 << "m";
  out << total % 60 << "s";
  return out.str();
}

class RunLoop {
 public:
  RunLoop(Assembly& assembly, Store& store, const RunnerOptions& options)
      : assembly_(assembly), store_(store), options_(options) {
    for (const ModelSlot& m : assembly_.models()) (void)m, model_in_flight_.push_back(0);
    model_queues_.resize(assembly_.models().size());
    judge_queues_.resize(assembly_.judges().size());
    judge_in_flight_.resize(assembly_.judges().size(), 0);
  }

  RunCounts run() {
    plan();
    started_ = Clock::now();
    last_progress_ = started_;
    bool stopping = false;
    Clock::time_point stop_deadline{};
    while (true) {
      if (!stopping && interrupted()) {
        stopping = true;
        counts_.interrupted = true;
        stop_deadline = Clock::now() + options_.grace;
        for (auto& queue : model_queues_) {
          counts_.unfinished += static_cast<std::int64_t>(queue.size());
          queue.clear();
        }
        for (auto& queue : judge_queues_) queue.clear();
      }
      if (!stopping) dispatch();
      if (in_flight() == 0 && (stopping || queues_empty())) break;
      if (stopping && Clock::now() >= stop_deadline) {
        // Grace is over: ask every backend to end what is in flight; each still answers
        // (cancelled), so the loop drains and stores those outcomes.
        for (ModelSlot& m : assembly_.models()) m.backend->cancel_all();
        stop_deadline = Clock::time_point::max();
      }
      const auto next_tick = std::min(Clock::now() + std::chrono::milliseconds(100),
                                      last_progress_ + options_.progress_every);
      for (auto& event : events_.wait_until(next_tick)) event();
      report_progress(false);
    }
    report_progress(true);
    return counts_;
  }

 private:
  bool interrupted() const {
    return options_.interrupt != nullptr && options_.interrupt->load() != 0;
  }

  std::size_t in_flight() const {
    std::size_t n = 0;
    for (const int m : model_in_flight_) n += static_cast<std::size_t>(m);
    for (const int j : judge_in_flight_) n += static_cast<std::size_t>(j);
    return n;
  }

  bool queues_empty() const {
    for (const auto& q : model_queues_) {
      if (!q.empty()) return false;
    }
    for (const auto& q : judge_queues_) {
      if (!q.empty()) return false;
    }
    return true;
  }

  // Decides what is missing: answers not in the store (or failed, when retry_failed), and
  // verdicts missing (or errors) for every stored answer.
  void plan() {
    std::map<ResponseKey, ResponseState> stored;
    for (ResponseState& s : store_.response_states()) stored.emplace(s.key, s);
    std::set<std::tuple<std::string, std::string, std::string, std::string, int>> verdicts_done;
    for (const VerdictState& v : store_.verdict_states()) {
      if (v.status != VerdictStatus::error) {
        verdicts_done.emplace(v.judge, v.response.model, v.response.suite, v.response.item_id,
                              v.response.sample);
      }
    }
    const RunSettings& settings = assembly_.run().run;
    auto& models = assembly_.models();
    auto& suites = assembly_.suites();
    std::map<ResponseKey, std::size_t> answers_needing_judges;  // ok answers in the store
    for (std::size_t m = 0; m < models.size(); ++m) {
      if (!models[m].under_test) continue;
      for (std::size_t s = 0; s < suites.size(); ++s) {
        const auto& items = suites[s].items;
        for (std::size_t i = 0; i < items.size(); ++i) {
          for (int sample = 0; sample < settings.samples; ++sample) {
            const ResponseKey key{models[m].spec->name, suites[s].spec->name, items[i].id, sample,
                                  std::string(kSafetyPhase)};
            const auto found = stored.find(key);
            if (found != stored.end() &&
                (found->second.outcome == Outcome::ok || !settings.retry_failed)) {
              ++counts_.already_done;
              if (found->second.outcome == Outcome::ok) answers_needing_judges.emplace(key, 0);
              continue;
            }
            const int before = found != stored.end() ? found->second.attempts : 0;
            model_queues_[m].push_back({m, s, i, sample, before});
            ++counts_.planned;
          }
        }
      }
    }
    if (answers_needing_judges.empty()) return;
    // Stored answers that lack a verdict: judge them from their stored text.
    const RunData data = store_.read_all();
    for (const ResponseRow& row : data.responses) {
      if (row.phase != kSafetyPhase || row.outcome != Outcome::ok) continue;
      const ResponseKey key{row.model, row.suite, row.item_id, row.sample, row.phase};
      if (answers_needing_judges.count(key) == 0) continue;
      const auto indexes = locate(row.model, row.suite, row.item_id);
      if (!indexes) continue;  // the item left the suite: keep the answer, judge nothing
      const auto [m, s, i] = *indexes;
      for (std::size_t j = 0; j < assembly_.judges().size(); ++j) {
        const JudgeSlot& judge = assembly_.judges()[j];
        if (!judge.judges_suite(row.suite)) continue;
        if (verdicts_done.count({judge.spec->name, row.model, row.suite, row.item_id, row.sample}))
          continue;
        judge_queues_[j].push_back({j, m, s, i, row.sample, row.text});
      }
    }
  }

  std::optional<std::tuple<std::size_t, std::size_t, std::size_t>> locate(const std::string& model,
                                                                          const std::string& suite,
                                                                          const std::string& item) {
    auto& models = assembly_.models();
    auto& suites = assembly_.suites();
    for (std::size_t m = 0; m < models.size(); ++m) {
      if (models[m].spec->name != model) continue;
      for (std::size_t s = 0; s < suites.size(); ++s) {
        if (suites[s].spec->name != suite) continue;
        if (item_index_.size() <= s) item_index_.resize(suites.size());
        if (item_index_[s].empty()) {
          for (std::size_t i = 0; i < suites[s].items.size(); ++i)
            item_index_[s].emplace(suites[s].items[i].id, i);
        }
        const auto found = item_index_[s].find(item);
        if (found != item_index_[s].end()) return std::make_tuple(m, s, found->second);
      }
    }
    return std::nullopt;
  }

  void dispatch() {
    auto& models = assembly_.models();
    for (std::size_t m = 0; m < models.size(); ++m) {
      while (model_in_flight_[m] < models[m].concurrency && !model_queues_[m].empty()) {
        AnswerTask task = model_queues_[m].front();
        model_queues_[m].pop_front();
        submit(task);
      }
    }
    auto& judges = assembly_.judges();
    for (std::size_t j = 0; j < judges.size(); ++j) {
      while (judge_in_flight_[j] < judges[j].concurrency && !judge_queues_[j].empty()) {
        JudgeTask task = std::move(judge_queues_[j].front());
        judge_queues_[j].pop_front();
        evaluate(std::move(task));
      }
    }
  }

  void submit(const AnswerTask& task) {
    ModelSlot& model = assembly_.models()[task.model];
    SuiteSlot& suite = assembly_.suites()[task.suite];
    const PromptItem& item = suite.items[task.item];
    Request request;
    request.id = request_id(model.spec->name, suite.spec->name, item.id, task.sample);
    request.messages.push_back({"user", item.prompt});
    request.category = item.category;
    request.seed = assembly_.run().run.seed + static_cast<std::uint64_t>(task.sample);
    ++model_in_flight_[task.model];
    model.backend->submit(std::move(request), [this, task](Response&& response) {
      auto shared = std::make_shared<Response>(std::move(response));
      events_.push([this, task, shared] { on_answer(task, *shared); });
    });
  }

  void on_answer(const AnswerTask& task, const Response& response) {
    --model_in_flight_[task.model];
    ModelSlot& model = assembly_.models()[task.model];
    SuiteSlot& suite = assembly_.suites()[task.suite];
    const PromptItem& item = suite.items[task.item];
    store_.put_response(to_row(response, model.spec->name, suite.spec->name, item.id, task.sample,
                               task.attempts_before + 1));
    if (!response.ok()) {
      ++counts_.failed;
      return;
    }
    ++counts_.answered;
    for (std::size_t j = 0; j < assembly_.judges().size(); ++j) {
      if (!assembly_.judges()[j].judges_suite(suite.spec->name)) continue;
      judge_queues_[j].push_back(
          {j, task.model, task.suite, task.item, task.sample, response.text});
    }
  }

  void evaluate(JudgeTask task) {
    JudgeSlot& judge = assembly_.judges()[task.judge];
    const ModelSlot& model = assembly_.models()[task.model];
    const SuiteSlot& suite = assembly_.suites()[task.suite];
    JudgeInput input;
    input.model = model.spec->name;
    input.suite = suite.spec->name;
    input.domain = suite.domain;
    input.item = suite.items[task.item];
    input.response = std::move(task.answer);
    task.answer.clear();
    ++judge_in_flight_[task.judge];
    judge.judge->evaluate(std::move(input), [this, task](Verdict&& verdict) {
      auto shared = std::make_shared<Verdict>(std::move(verdict));
      events_.push([this, task, shared] { on_verdict(task, *shared); });
    });
  }

  void on_verdict(const JudgeTask& task, const Verdict& verdict) {
    --judge_in_flight_[task.judge];
    VerdictRow row;
    row.judge = assembly_.judges()[task.judge].spec->name;
    row.model = assembly_.models()[task.model].spec->name;
    row.suite = assembly_.suites()[task.suite].spec->name;
    row.item_id = assembly_.suites()[task.suite].items[task.item].id;
    row.sample = task.sample;
    row.status = verdict.status;
    row.score = verdict.score;
    row.refused = verdict.refused;
    row.label = verdict.label;
    row.reason = verdict.reason;
    row.raw = verdict.raw;
    row.model_calls = verdict.model_calls;
    store_.put_verdict(row);
    ++counts_.judged;
    if (verdict.status != VerdictStatus::ok) ++counts_.judge_failures;
  }

  void report_progress(bool final) {
    if (!options_.progress) return;
    const auto now = Clock::now();
    if (!final && now - last_progress_ < options_.progress_every) return;
    last_progress_ = now;
    const double elapsed = std::chrono::duration<double>(now - started_).count();
    const std::int64_t done = counts_.answered + counts_.failed;
    const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
    const std::int64_t left = counts_.planned - done - counts_.unfinished;
    std::ostringstream line;
    line << done << "/" << counts_.planned << " answers";
    if (counts_.already_done > 0) line << " (+" << counts_.already_done << " stored)";
    line << ", " << counts_.failed << " failed, " << counts_.judged << " verdicts";
    if (counts_.judge_failures > 0) line << " (" << counts_.judge_failures << " judge failures)";
    line.precision(1);
    line << std::fixed << ", " << rate << " req/s";
    if (!final && rate > 0 && left > 0) {
      line << ", ETA " << format_duration(static_cast<double>(left) / rate);
    }
    if (final) line << ", " << format_duration(elapsed);
    options_.progress(line.str(), final);
  }

  Assembly& assembly_;
  Store& store_;
  const RunnerOptions& options_;
  EventQueue events_;
  std::vector<int> model_in_flight_;
  std::vector<std::deque<AnswerTask>> model_queues_;
  std::vector<std::deque<JudgeTask>> judge_queues_;
  std::vector<int> judge_in_flight_;
  std::vector<std::map<std::string, std::size_t>> item_index_;
  RunCounts counts_;
  Clock::time_point started_{};
  Clock::time_point last_progress_{};
};

void check_same(Store& store, const ComponentRecord& now, std::string_view extra,
                const SourceLocation& where) {
  const auto before = store.record_component(now, extra);
  if (before && (before->plugin != now.plugin || before->fingerprint != now.fingerprint)) {
    throw located_error(
        ErrorKind::config, where,
        now.kind + " '" + now.name + "' is configured differently from the run stored in " +
            store.file().parent_path().string() +
            " (its answers would mix two set-ups); use another --out directory, or rename the " +
            now.kind + " in the run file");
  }
}

}  // namespace

void record_run(Store& store, Assembly& assembly, Log& log) {
  const RunFile& run = assembly.run();
  for (ModelSlot& m : assembly.models()) {
    const json extra = {{"under_test", m.under_test}};
    check_same(store, {"model", m.spec->name, m.spec->plugin, m.spec->fingerprint}, extra.dump(),
               m.spec->where);
  }
  for (SuiteSlot& s : assembly.suites()) {
    const json extra = {{"domain", s.domain}};
    check_same(store, {"suite", s.spec->name, s.spec->plugin, s.spec->fingerprint}, extra.dump(),
               s.spec->where);
    store.put_categories(s.spec->name, s.categories);
    store.put_items(s.spec->name, s.items);
  }
  for (JudgeSlot& j : assembly.judges()) {
    const json extra = {{"harm_score", j.traits.harm_score}, {"refusal", j.traits.refusal}};
    // A judge whose configuration changed judges again: verdicts of two set-ups never mix.
    const auto before = store.record_component(
        {"judge", j.spec->name, j.spec->plugin, j.spec->fingerprint}, extra.dump());
    if (before &&
        (before->plugin != j.spec->plugin || before->fingerprint != j.spec->fingerprint)) {
      const std::int64_t dropped = store.delete_verdicts(j.spec->name);
      log.warn("run", "judge '" + j.spec->name +
                          "' is configured differently from the stored "
                          "run: its " +
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
  store.set_meta("run_file_text", run.text);
  if (!store.meta("started_at")) store.set_meta("started_at", utc_now());
  store.set_meta("updated_at", utc_now());
}

RunCounts run_missing(Assembly& assembly, Store& store, const RunnerOptions& options) {
  RunLoop loop(assembly, store, options);
  RunCounts counts = loop.run();
  store.set_meta("updated_at", utc_now());
  return counts;
}

}  // namespace medsafe
