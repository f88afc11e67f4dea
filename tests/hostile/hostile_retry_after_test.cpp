// A server that answers every request with 429 and a Retry-After of a day (or an HTTP date far
// ahead) must not park the run: each attempt fails at once with the reason, and the run ends.
// A Retry-After within the cap is waited for, and the progress line says so.
#include <gtest/gtest.h>

#include <string>

#include "hostile_support.hpp"
#include "sim_server.hpp"
#include "support/scripted_server.hpp"

namespace medsafe::hostile {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<sim::SimServer> start_sim(std::string_view settings) {
  sim::ServerOptions options;
  options.settings = sim::settings_from_toml(settings, "test server settings");
  auto server = std::make_unique<sim::SimServer>(options);
  server->start();
  return server;
}

class RetryAfter : public ::testing::Test {
 protected:
  [[nodiscard]] const fs::path& scratch() const { return scratch_.path(); }

 private:
  ScratchDir scratch_;
};

TEST_F(RetryAfter, ADayLongRetryAfterFailsEachAttemptInsteadOfParkingTheRun) {
  auto server = start_sim("fault_429_rate = 1\nretry_after_s = 86400\n");
  const fs::path run = write_run(scratch(), openai_model(server->base_url(), "concurrency = 2\n"));
  const ChildResult result = run_to(run, scratch() / "out", scratch());
  // The bound is generous: before, the first retry alone waited 120 s (and every later one too).
  ASSERT_FALSE(result.timed_out) << "the run was parked by the Retry-After";
  // Failed requests are results: the run is done, its reports are written.
  EXPECT_EQ(result.exit_code, 0) << result.err;
  const RunData data = stored(scratch() / "out");
  ASSERT_EQ(data.responses.size(), 3u);
  for (const ResponseRow& row : data.responses) {
    EXPECT_EQ(row.outcome, Outcome::http_error) << row.item_id;
    EXPECT_EQ(row.http_status, 429) << row.item_id;
    EXPECT_EQ(row.attempts, 1) << row.item_id << ": no attempt waited for a second one";
    EXPECT_EQ(row.error.rfind("the server asked to wait 86400 s (Retry-After), more than "
                              "retry_after_max_s = 120; HTTP 429: ",
                              0),
              0u)
        << row.error;
  }
  EXPECT_EQ(server->stats().chat_completions, 3u);
  EXPECT_TRUE(fs::exists(scratch() / "out" / "report.md"));
}

TEST_F(RetryAfter, AFarHttpDateIsRefusedAgainstASmallCap) {
  test::ScriptedServer server;
  server.set_handler([](const test::ReceivedRequest&) {
    return test::http_response(
        429, R"({"error":{"message":"quota exhausted"}})",
        {{"Content-Type", "application/json"}, {"Retry-After", "Fri, 31 Dec 2100 23:59:59 GMT"}});
  });
  const fs::path run = write_run(
      scratch(),
      openai_model(server.base_url() + "/v1", "retry_after_max_s = 2\nmax_attempts = 5\n"));
  const ChildResult result = run_to(run, scratch() / "out", scratch());
  ASSERT_FALSE(result.timed_out) << "the run was parked by the Retry-After date";
  EXPECT_EQ(result.exit_code, 0) << result.err;
  const RunData data = stored(scratch() / "out");
  ASSERT_EQ(data.responses.size(), 3u);
  for (const ResponseRow& row : data.responses) {
    EXPECT_EQ(row.http_status, 429);
    EXPECT_EQ(row.attempts, 1);
    EXPECT_EQ(row.error.rfind("the server asked to wait ", 0), 0u) << row.error;
    EXPECT_NE(row.error.find(" s (Retry-After), more than retry_after_max_s = 2; HTTP 429: "
                             "quota exhausted"),
              std::string::npos)
        << row.error;
  }
  EXPECT_EQ(server.requests().size(), 3u);
}

TEST_F(RetryAfter, AWaitWithinTheCapIsHonouredAndShownInTheProgressLine) {
  // In-process: the CLI reports progress every 10 s off a terminal; here every 50 ms.
  const fs::path run = write_run(scratch(),
                                 "plugin = \"sim\"\nfault_429_rate = 1\nretry_after_s = 2\n"
                                 "max_attempts = 2\n",
                                 1);
  const EngineRun result = run_in_process(run, scratch() / "out", 50ms);
  EXPECT_EQ(result.counts.retried, 1);
  EXPECT_EQ(result.counts.failed, 1);
  const bool shown = any_contains(result.progress, "waiting 2 s (Retry-After)") ||
                     any_contains(result.progress, "waiting 1 s (Retry-After)");
  EXPECT_TRUE(shown) << "progress lines:\n" << ::testing::PrintToString(result.progress);
  ASSERT_EQ(result.data.responses.size(), 1u);
  const ResponseRow& row = result.data.responses[0];
  EXPECT_EQ(row.attempts, 2) << "the wait was honoured, then the second attempt made";
  EXPECT_EQ(row.error.find("asked to wait"), std::string::npos) << row.error;
  // The final line reports the end, not a wait that is over.
  EXPECT_FALSE(result.progress.empty());
  EXPECT_EQ(result.progress[result.progress.size() - 2].find("waiting"), std::string::npos)
      << result.progress[result.progress.size() - 2];
}

}  // namespace
}  // namespace medsafe::hostile
