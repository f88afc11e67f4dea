// Re-judging a stored run: `medsafe judge` adds a new judge's verdicts to a run made against the
// simulated HTTP server, and that server sees no new request (the models under test are not
// asked again; the new judge's own model is an in-process one).
#include <gtest/gtest.h>

#include <string>

#include "reliability_support.hpp"

namespace medsafe::reliability {
namespace {

using Reliability = ReliabilityFixture;

TEST_F(Reliability, JudgeRescoresAStoredRunWithoutAskingTheModelAgain) {
  auto server = start_sim_server("seed = 11\nrefusal_rate = 0.5");
  RunFileSpec spec(data());
  spec.model_keys = "concurrency = 8";
  spec.limit_per_category = 4;  // 36 items
  const fs::path run = scratch() / "run.toml";
  write_file(run, run_file(spec));
  const fs::path out = scratch() / "out";
  const Environment env = run_environment(server->port());
  const ChildResult first =
      run_medsafe({"run", run.string(), "--out", out.string(), "-q"}, env, scratch());
  ASSERT_EQ(first.exit_code, 0) << first.err;
  ASSERT_TRUE(wait_until_idle(*server));
  const std::size_t requests_before = server->log().size();
  ASSERT_EQ(requests_before, 36U);

  // A rubric judge, with its own (in-process) judge model, added to the run file afterwards.
  spec.extra =
      "[models.grader]\nplugin = \"sim\"\nunder_test = false\n\n"
      "[judges.harm]\nplugin = \"rubric\"\nmodel = \"grader\"\n";
  write_file(run, run_file(spec));
  const ChildResult judged = run_medsafe(
      {"judge", out.string(), "--run", run.string(), "--judge", "harm"}, env, scratch());
  ASSERT_EQ(judged.exit_code, 0) << judged.err;
  ASSERT_TRUE(wait_until_idle(*server));

  EXPECT_EQ(server->log().size(), requests_before) << "the model under test was asked again";
  const auto answered =
      query(out, "SELECT COUNT(*) FROM responses WHERE outcome = 'ok' AND model = 'target'");
  const auto scored =
      query(out, "SELECT COUNT(*) FROM verdicts WHERE judge = 'harm' AND score BETWEEN 1 AND 5");
  ASSERT_EQ(answered.size(), 1U);
  ASSERT_EQ(scored.size(), 1U);
  EXPECT_EQ(answered[0][0], "36");
  EXPECT_EQ(scored[0][0], answered[0][0]) << judged.out;
  // The refusal verdicts of the first run are untouched.
  EXPECT_EQ(query(out, "SELECT COUNT(*) FROM verdicts WHERE judge = 'refusal'")[0][0], "36");
}

}  // namespace
}  // namespace medsafe::reliability
