// The safety phase's scheduling loop (record_run + run_missing) of its own, not through the CLI:
// real plugins (sim, synthetic, refusal) from the build's plugin folder, a store in a temporary
// directory, and the counts each invocation returns checked against what the store holds.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <utility>

#include "engine/plugin/assembly.hpp"
#include "engine/plugin/run_file.hpp"
#include "engine/run/runner.hpp"
#include "engine/store/store.hpp"
#include "medsafe/error.hpp"
#include "report/run_reader.hpp"
#include "support/temp_dir.hpp"

namespace medsafe {
namespace {

constexpr int kItems = 12;

// Two models under test, one suite of kItems prompts, two judges (the second with another
// phrase-matching mode, so its verdicts are its own).
std::string run_file_text(const std::string& first_model_extra = "") {
  return R"([run]
name = "runner"

[models.alpha]
plugin = "sim"
seed = 1
refusal_rate = 0.5
output_tokens = 4
concurrency = 4
)" + first_model_extra +
         R"(
[models.beta]
plugin = "sim"
seed = 2
refusal_rate = 0.2
output_tokens = 4
concurrency = 2

[suites.syn]
plugin = "synthetic"
count = )" +
         std::to_string(kItems) +
         R"(

[judges.refusal]
plugin = "refusal"

[judges.strict]
plugin = "refusal"
match = "prefix"
)";
}

struct Fixture {
  testing::TempDir dir;
  std::unique_ptr<Log> log = make_console_log(LogLevel::off);

  std::unique_ptr<Assembly> assemble(const std::string& text = run_file_text(), bool load = true) {
    const auto file = dir.write("run.toml", text);
    auto assembly = std::make_unique<Assembly>(
        load_run_file(file, {}), std::vector<std::filesystem::path>{MEDSAFE_PLUGIN_BUILD_DIR}, *log,
        dir.path() / "cache");
    if (load) assembly->load_suites();
    return assembly;
  }
  [[nodiscard]] std::filesystem::path out() const { return dir.path() / "out"; }
};

using AnswerSlot = std::tuple<std::string, std::string, std::string, int>;

std::set<AnswerSlot> stored_answers(const RunData& run) {
  std::set<AnswerSlot> slots;
  for (const ResponseRow& r : run.responses) slots.emplace(r.model, r.suite, r.item_id, r.sample);
  return slots;
}

TEST(Runner, AsksEveryModelForEveryItemOnceAndJudgesEachAnswerWithEveryJudge) {
  Fixture f;
  auto assembly = f.assemble();
  Store store(f.out());
  record_run(store, *assembly, *f.log);
  int final_calls = 0;
  std::size_t final_lines = 0;
  RunnerOptions options;
  options.progress = [&](const std::vector<std::string>& lines, bool final) {
    if (final) {
      ++final_calls;
      final_lines = lines.size();
    }
  };
  const InvocationCounts counts = run_missing(*assembly, store, options);

  EXPECT_EQ(counts.planned, 2 * kItems);
  EXPECT_EQ(counts.answered, 2 * kItems);
  EXPECT_EQ(counts.failed, 0);
  EXPECT_EQ(counts.already_done, 0);
  EXPECT_EQ(counts.judged, 2 * 2 * kItems);
  EXPECT_EQ(counts.judge_failures, 0);
  EXPECT_FALSE(counts.interrupted);
  EXPECT_FALSE(counts.stopped_early.has_value());
  EXPECT_EQ(final_calls, 1);
  EXPECT_EQ(final_lines, 3U) << "one progress line per model, one for the judges";

  const RunData run = read_run(store);
  EXPECT_EQ(run.responses.size(), static_cast<std::size_t>(2 * kItems));
  EXPECT_EQ(stored_answers(run).size(), static_cast<std::size_t>(2 * kItems))
      << "no answer slot stored twice";
  std::set<std::tuple<std::string, AnswerSlot>> verdicts;
  for (const VerdictRow& v : run.verdicts) {
    verdicts.emplace(v.judge, AnswerSlot{v.model, v.suite, v.item_id, v.sample});
  }
  EXPECT_EQ(verdicts.size(), static_cast<std::size_t>(2 * 2 * kItems));
}

// As `medsafe run` does it: the suite is not loaded first but streamed into the store by
// record_run, which keeps only a window of it, and the runner pages through the store (more
// items than a page and the window, two samples each), asking every slot once, in suite order.
TEST(Runner, StreamsASuiteLargerThanItsWindowIntoTheStoreAndAsksEveryItemFromThere) {
  constexpr int kMany = 2'500;
  Fixture f;
  auto assembly = f.assemble(R"([run]
name = "many"
samples = 2

[models.alpha]
plugin = "sim"
output_tokens = 2
concurrency = 16

[suites.syn]
plugin = "synthetic"
count = )" + std::to_string(kMany) +
                                 R"(

[judges.refusal]
plugin = "refusal"
)",
                             false);
  Store store(f.out());
  record_run(store, *assembly, *f.log);
  const SuiteSlot& suite = assembly->suites().front();
  EXPECT_EQ(suite.item_count, static_cast<std::size_t>(kMany));
  EXPECT_EQ(suite.items.size(), kItemWindow) << "the run holds a window, not the suite";
  EXPECT_EQ(store.count_items("syn"), kMany);

  const InvocationCounts counts = run_missing(*assembly, store, RunnerOptions{});
  EXPECT_EQ(counts.planned, 2 * kMany);
  EXPECT_EQ(counts.answered, 2 * kMany);
  EXPECT_EQ(counts.judged, 2 * kMany);
  const RunData run = read_run(store);
  EXPECT_EQ(stored_answers(run).size(), static_cast<std::size_t>(2 * kMany));
  // Asked in the suite's order: the window's first item was the first request.
  std::int64_t first_sent = -1;
  std::string first_item;
  for (const ResponseRow& r : run.responses) {
    if (first_sent < 0 || r.sent_ns < first_sent) {
      first_sent = r.sent_ns;
      first_item = r.item_id;
    }
  }
  // (RunData's items are in suite order: the first is the suite's first item.)
  ASSERT_FALSE(run.items.empty());
  EXPECT_EQ(first_item, run.items.front().item_id);
}

TEST(Runner, TheWindowOfALargeSuiteIsASeededSampleOfTheWholeSuiteInItsOrder) {
  constexpr int kMany = 2'500;
  const auto window_of = [](std::uint64_t seed) {
    Fixture f;
    auto assembly = f.assemble("[run]\nname = \"window\"\nseed = " + std::to_string(seed) +
                                   "\n\n[models.alpha]\nplugin = \"sim\"\n\n[suites.syn]\n"
                                   "plugin = \"synthetic\"\ncount = " +
                                   std::to_string(kMany) +
                                   "\n\n[judges.refusal]\nplugin = "
                                   "\"refusal\"\n",
                               false);
    Store store(f.out());
    record_run(store, *assembly, *f.log);
    const SuiteSlot& suite = assembly->suites().front();
    EXPECT_EQ(suite.items.size(), kItemWindow);
    EXPECT_EQ(suite.positions.size(), kItemWindow);
    return std::make_pair(suite.positions, suite.items.empty() ? std::string() : suite.items[0].id);
  };
  const auto [positions, first] = window_of(7);
  ASSERT_EQ(positions.size(), kItemWindow);
  EXPECT_TRUE(std::is_sorted(positions.begin(), positions.end())) << "kept in suite order";
  EXPECT_EQ(std::adjacent_find(positions.begin(), positions.end()), positions.end())
      << "no repeats";
  // Spread over the whole suite, not its first kItemWindow items: about 40 % of each third.
  const auto in = [&positions = positions](std::size_t from, std::size_t to) {
    return std::count_if(positions.begin(), positions.end(),
                         [&](std::size_t p) { return p >= from && p < to; });
  };
  EXPECT_GT(positions.back(), static_cast<std::size_t>(2 * kMany / 3));
  for (const std::size_t third : {0, 1, 2}) {
    const auto n = in(third * kMany / 3, (third + 1) * kMany / 3);
    EXPECT_GT(n, 250) << "third " << third;
    EXPECT_LT(n, 420) << "third " << third;
  }
  // The same seed keeps the same prompts; another seed takes others.
  EXPECT_EQ(window_of(7).first, positions);
  EXPECT_NE(window_of(8).first, positions);
}

TEST(Runner, ASecondInvocationAsksNothingAndCountsWhatTheStoreHolds) {
  Fixture f;
  {
    auto assembly = f.assemble();
    Store store(f.out());
    record_run(store, *assembly, *f.log);
    ASSERT_EQ(run_missing(*assembly, store, RunnerOptions{}).answered, 2 * kItems);
  }
  auto assembly = f.assemble();
  Store store(f.out());
  record_run(store, *assembly, *f.log);
  const InvocationCounts again = run_missing(*assembly, store, RunnerOptions{});
  EXPECT_EQ(again.planned, 0);
  EXPECT_EQ(again.answered, 0);
  EXPECT_EQ(again.judged, 0);
  EXPECT_EQ(again.already_done, 2 * kItems);
  EXPECT_EQ(read_run(store).responses.size(), static_cast<std::size_t>(2 * kItems));
}

TEST(Runner, AnInterruptedInvocationLosesNothingAndTheNextFinishesWithoutDuplicates) {
  Fixture f;
  std::int64_t first_answered = 0;
  {
    auto assembly = f.assemble();
    Store store(f.out());
    record_run(store, *assembly, *f.log);
    const std::atomic<int> interrupt{1};
    RunnerOptions options;
    options.interrupt = &interrupt;
    options.grace = std::chrono::milliseconds(0);
    const InvocationCounts counts = run_missing(*assembly, store, options);
    EXPECT_TRUE(counts.interrupted);
    EXPECT_EQ(counts.answered + counts.failed + counts.unfinished, counts.planned)
        << "every planned answer is accounted for";
    EXPECT_GT(counts.unfinished, 0);
    first_answered = counts.answered;
    EXPECT_EQ(static_cast<std::int64_t>(read_run(store).responses.size()), first_answered)
        << "what was answered before the interrupt is in the store";
  }
  auto assembly = f.assemble();
  Store store(f.out());
  record_run(store, *assembly, *f.log);
  const InvocationCounts rest = run_missing(*assembly, store, RunnerOptions{});
  EXPECT_FALSE(rest.interrupted);
  EXPECT_EQ(rest.already_done, first_answered);
  EXPECT_EQ(rest.answered, 2 * kItems - first_answered);
  const RunData run = read_run(store);
  EXPECT_EQ(run.responses.size(), static_cast<std::size_t>(2 * kItems));
  EXPECT_EQ(stored_answers(run).size(), static_cast<std::size_t>(2 * kItems));
}

TEST(Runner, JudgingOnlyAsksNoModelAndMakesTheMissingVerdictsOfStoredAnswers) {
  Fixture f;
  {
    auto assembly = f.assemble();
    Store store(f.out());
    record_run(store, *assembly, *f.log);
    RunnerOptions options;
    options.judges = {"refusal"};
    const InvocationCounts counts = run_missing(*assembly, store, options);
    ASSERT_EQ(counts.answered, 2 * kItems);
    EXPECT_EQ(counts.judged, 2 * kItems) << "only the judge asked for";
  }
  auto assembly = f.assemble();
  Store store(f.out());
  record_judges(store, *assembly, *f.log, {"strict"}, false);
  RunnerOptions options;
  options.ask_models = false;
  options.judges = {"strict"};
  const InvocationCounts counts = run_missing(*assembly, store, options);
  EXPECT_EQ(counts.planned, 0);
  EXPECT_EQ(counts.answered, 0);
  EXPECT_EQ(counts.judged, 2 * kItems);
  const RunData run = read_run(store);
  std::int64_t strict = 0;
  for (const VerdictRow& v : run.verdicts) strict += v.judge == "strict" ? 1 : 0;
  EXPECT_EQ(strict, 2 * kItems);
  EXPECT_EQ(run.verdicts.size(), static_cast<std::size_t>(2 * 2 * kItems));
}

// A judge added to a stored run of more answers than a page reads them from the store page by
// page, while the answers of the invocation reach it as they arrive: each answer judged once.
TEST(Runner, AJudgeAddedToAStoredRunJudgesEveryStoredAndNewAnswerOnceAcrossPages) {
  constexpr int kMany = 2'500;
  const std::string suite = R"(
[suites.syn]
plugin = "synthetic"
count = )" + std::to_string(kMany) +
                            "\n";
  const std::string alpha = R"([run]
name = "added-judge"

[models.alpha]
plugin = "sim"
seed = 1
refusal_rate = 0.5
output_tokens = 2
concurrency = 16

[judges.refusal]
plugin = "refusal"
)";
  const std::string beta = R"(
[models.beta]
plugin = "sim"
seed = 2
output_tokens = 2
concurrency = 16

[judges.strict]
plugin = "refusal"
match = "prefix"
)";
  Fixture f;
  {
    auto assembly = f.assemble(alpha + suite, false);
    Store store(f.out());
    (void)store.begin_session("medsafe run");
    record_run(store, *assembly, *f.log);
    ASSERT_EQ(run_missing(*assembly, store, RunnerOptions{}).judged, kMany);
    store.end_session();
  }
  // A second model (new answers) and a second judge (owing verdicts on every stored answer).
  auto assembly = f.assemble(alpha + beta + suite, false);
  Store store(f.out());
  (void)store.begin_session("medsafe run");
  record_run(store, *assembly, *f.log);
  const InvocationCounts counts = run_missing(*assembly, store, RunnerOptions{});
  EXPECT_EQ(counts.answered, kMany) << "beta's answers";
  EXPECT_EQ(counts.judged, 3 * kMany) << "strict on alpha's and beta's, refusal on beta's";
  const RunData run = read_run(store);
  std::set<std::tuple<std::string, AnswerSlot>> verdicts;
  for (const VerdictRow& v : run.verdicts) {
    verdicts.emplace(v.judge, AnswerSlot{v.model, v.suite, v.item_id, v.sample});
  }
  EXPECT_EQ(verdicts.size(), static_cast<std::size_t>(4 * kMany));
  EXPECT_EQ(run.verdicts.size(), verdicts.size());
}

TEST(Runner, AServerErrorOnEveryAttemptIsRetriedThenStoredAsAFailureWithoutStoppingTheRun) {
  Fixture f;
  // A 500 is not a configuration failure (fail_fast_after counts 401/403/404 and unreachable
  // hosts), so the run goes on, and every answer slot of alpha ends as a stored failure.
  auto assembly =
      f.assemble(run_file_text("fault_500_rate = 1.0\nmax_attempts = 2\n"
                               "backoff_initial_ms = 1\nbackoff_max_ms = 1\n"));
  Store store(f.out());
  record_run(store, *assembly, *f.log);
  const InvocationCounts counts = run_missing(*assembly, store, RunnerOptions{});
  EXPECT_FALSE(counts.stopped_early.has_value());
  EXPECT_EQ(counts.failed, kItems);
  EXPECT_EQ(counts.retried, kItems) << "each slot tried twice";
  EXPECT_EQ(counts.answered, kItems) << "beta is unaffected";
  EXPECT_EQ(counts.judged, 2 * kItems) << "failures are not judged";
  std::int64_t stored_failures = 0;
  for (const ResponseRow& r : read_run(store).responses) {
    if (r.outcome == Outcome::ok) continue;
    ++stored_failures;
    EXPECT_EQ(r.model, "alpha");
    EXPECT_EQ(r.http_status, 500);
    EXPECT_EQ(r.attempts, 2);
  }
  EXPECT_EQ(stored_failures, kItems) << "each failure is data in the store";
}

TEST(Runner, RecordingAChangedModelIntoTheSameDirectoryIsRefusedNamingTheKey) {
  Fixture f;
  {
    auto assembly = f.assemble();
    Store store(f.out());
    record_run(store, *assembly, *f.log);
    (void)run_missing(*assembly, store, RunnerOptions{});
  }
  auto assembly = f.assemble(run_file_text("ttft_ms = 1\n"));
  Store store(f.out());
  try {
    record_run(store, *assembly, *f.log);
    FAIL() << "a changed model was recorded into the old run";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("ttft_ms"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("alpha"), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_run(store).responses.size(), static_cast<std::size_t>(2 * kItems))
      << "the refused run dropped nothing";
}

}  // namespace
}  // namespace medsafe
