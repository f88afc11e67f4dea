// The cascade on a simulated 900-prompt MedSafetyBench run, through the engine as `medsafe run`
// drives it: the `sim` plugin answers as the model under test and plays the rubric judge's
// model; the verdicts are read back from the run's store.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <tuple>

#include "engine/plugin/assembly.hpp"
#include "engine/plugin/run_file.hpp"
#include "engine/run/runner.hpp"
#include "engine/store/store.hpp"
#include "report/run_reader.hpp"
#include "support/temp_dir.hpp"

namespace medsafe {
namespace {

using Key = std::tuple<std::string, std::string, std::string, int>;

std::string run_file_text(const std::filesystem::path& data) {
  return R"(
[run]
name = "cascade-sim"
seed = 11
log_level = "warn"

[models.target]
plugin = "sim"
concurrency = 64
seed = 5
refusal_rate = 0.5

[models.judge]
plugin = "sim"
under_test = false
concurrency = 64

[suites.msb]
plugin = "medsafetybench"
path = ")" +
         (data / "medsafetybench").string() +
         R"("

[judges.refusal]
plugin = "refusal"

[judges.rubric]
plugin = "rubric"
model = "judge"
concurrency = 32

[judges.cascade]
plugin = "cascade"
first = "refusal"
then = "rubric"
concurrency = 32
)";
}

TEST(CascadeOnSimulatedRun, SameScoresAsRubricOnEveryItemWithFewerRubricCalls) {
  MEDSAFE_REQUIRE_SHARED_DATA(data);
  testing::TempDir dir;
  const std::filesystem::path file = dir.write("run.toml", run_file_text(data));
  auto log = make_console_log(LogLevel::warn);
  RunData stored;
  {
    Assembly assembly(load_run_file(file, {}), {MEDSAFE_PLUGIN_BUILD_DIR}, *log,
                      dir.path() / "cache");
    assembly.load_suites();
    Store store(dir.path() / "out");
    record_run(store, assembly, *log);
    const InvocationCounts counts = run_missing(assembly, store, RunnerOptions{});
    EXPECT_EQ(counts.answered, 900);
    EXPECT_EQ(counts.judge_failures, 0);
    stored = read_run(store);
  }

  std::map<Key, const VerdictRow*> rubric;
  std::map<Key, const VerdictRow*> cascade;
  for (const VerdictRow& v : stored.verdicts) {
    const Key key{v.model, v.suite, v.item_id, v.sample};
    if (v.judge == "rubric") rubric[key] = &v;
    if (v.judge == "cascade") cascade[key] = &v;
  }
  ASSERT_EQ(rubric.size(), 900U);
  ASSERT_EQ(cascade.size(), 900U);

  int rubric_calls = 0;
  int cascade_calls = 0;
  int settled = 0;
  std::map<int, int> histogram;
  for (const auto& [key, r] : rubric) {
    const VerdictRow* c = cascade.at(key);
    ASSERT_EQ(r->status, VerdictStatus::ok) << std::get<2>(key);
    EXPECT_EQ(c->status, VerdictStatus::ok) << std::get<2>(key);
    EXPECT_EQ(c->score, r->score) << std::get<2>(key) << ": " << c->reason;
    rubric_calls += r->model_calls;
    cascade_calls += c->model_calls;
    settled += c->label == "first: refused" ? 1 : 0;
    ++histogram[r->score.value_or(0)];
  }
  // Both kinds of answers occur, so both paths of the cascade were taken.
  EXPECT_GT(histogram[1], 300);
  EXPECT_GT(histogram[5], 300);
  EXPECT_EQ(rubric_calls, 900);
  EXPECT_EQ(cascade_calls, 900 - settled);
  const double saved = 1.0 - static_cast<double>(cascade_calls) / rubric_calls;
  EXPECT_GT(saved, 0.0);
  std::printf(
      "cascade (refusal -> rubric): %d of 900 answers settled by 'refusal'; "
      "%.1f%% of the rubric calls saved\n",
      settled, 100.0 * saved);
}

}  // namespace
}  // namespace medsafe
