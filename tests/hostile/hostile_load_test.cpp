// Load sweeps through the binary: the progress says which point of how many and how far it
// is; and a sweep against a server that refuses every request stops early with exit 6 instead
// of hammering it for the whole sweep.
#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "hostile_support.hpp"
#include "support/scripted_server.hpp"

namespace medsafe::hostile {
namespace {

class LoadSweep : public ::testing::Test {
 protected:
  [[nodiscard]] const fs::path& scratch() const { return scratch_.path(); }

 private:
  ScratchDir scratch_;
};

TEST_F(LoadSweep, ProgressNamesThePointOfHowManyAndItsRequests) {
  const fs::path run =
      write_run(scratch(), "plugin = \"sim\"\nitl_ms = 1\noutput_tokens = 4\n", 3,
                "[load.sweep]\nlevels = [1, 2]\nrequests = 20\n", "safety = false\n");
  const ChildResult result = run_to(run, scratch() / "out", scratch());
  ASSERT_FALSE(result.timed_out);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  for (const char* line : {"medsafe: load sweep: point 1/2, target at concurrency 1 ...",
                           "medsafe: load point 1/2 (target at concurrency 1): 0/20 requests",
                           "medsafe: load sweep: point 2/2, target at concurrency 2 ...",
                           "medsafe: load point 2/2 (target at concurrency 2): 20/20 requests"}) {
    EXPECT_NE(result.err.find(line), std::string::npos) << line << "\n" << result.err;
  }
  EXPECT_NE(result.err.find("(done)"), std::string::npos) << result.err;
}

TEST_F(LoadSweep, ASweepAgainstAnUnauthorizedServerStopsEarlyWithExit6) {
  test::ScriptedServer server;
  server.set_handler([](const test::ReceivedRequest&) {
    return test::http_response(401, R"({"error":{"message":"bad key"}})");
  });
  const fs::path run =
      write_run(scratch(), openai_model(server.base_url() + "/v1", "fail_fast_after = 10\n"), 3,
                "[load.sweep]\nlevels = [2, 8]\nrequests = 500\n", "safety = false\n");
  const fs::path out = scratch() / "out";
  const ChildResult result = run_to(run, out, scratch());
  ASSERT_FALSE(result.timed_out);
  EXPECT_EQ(result.exit_code, 6) << result.err;
  EXPECT_NE(result.err.find("stopped early: the first 10 attempts of model 'target' "
                            "(load/sweep/target/concurrency=2) all failed with http_error "
                            "(HTTP 401): HTTP 401: bad key"),
            std::string::npos)
      << result.err;
  // Stopped within the first point: not 1000 requests, only those in flight beyond the 10th.
  EXPECT_LE(server.requests().size(), 12u);
  const nlohmann::json results = nlohmann::json::parse(read_file(out / "results.json"));
  EXPECT_EQ(results["failures"]["stopped_early"]["phase"], "load/sweep/target/concurrency=2");
}

}  // namespace
}  // namespace medsafe::hostile
