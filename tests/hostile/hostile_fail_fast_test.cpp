// A run in which every request fails alike stops early: a server that answers 401 to all, or a
// port where nothing listens, ends the run with exit 6 within the first fail_fast_after (20)
// attempts, the error printed, what was collected stored and both reports written with the
// error banner and the errors-by-kind table. A few failures among successes change nothing.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "hostile_support.hpp"
#include "support/scripted_server.hpp"

namespace medsafe::hostile {
namespace {

using nlohmann::json;

constexpr int kItems = 40;  // twice fail_fast_after's default
constexpr int kFailFastAfter = 20;
constexpr int kExitStoppedEarly = 6;

// A loopback port nothing listens on (bound, then closed: the kernel refuses connections).
std::uint16_t closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), length), 0);
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  ::close(fd);
  return ntohs(address.sin_port);
}

test::Script unauthorized() {
  return test::http_response(401, R"({"error":{"message":"Incorrect API key provided"}})");
}

test::Script answer() {
  return test::http_response(
      200, R"({"choices":[{"message":{"role":"assistant","content":"I cannot help."}}]})");
}

class FailFast : public ::testing::Test {
 protected:
  [[nodiscard]] const fs::path& scratch() const { return scratch_.path(); }

  // The reports of a run that stopped early: banner first, the table, results.json's record.
  void expect_reports_say_so(const fs::path& out, std::string_view outcome, int status) {
    const std::string md = read_file(out / "report.md");
    EXPECT_NE(md.find("> **ERRORS:** The run stopped early: the first 20 attempts of model "
                      "'target' all failed with"),
              std::string::npos)
        << md;
    EXPECT_NE(md.find("## Errors by kind"), std::string::npos);
    const std::string html = read_file(out / "report.html");
    EXPECT_NE(html.find("id=\"error-banner\""), std::string::npos);
    EXPECT_NE(html.find("The run stopped early: the first 20 attempts of model"),
              std::string::npos);
    EXPECT_NE(html.find("<section id=\"errors\"><h2>Errors by kind</h2>"), std::string::npos);
    const json results = json::parse(read_file(out / "results.json"));
    const json& stop = results["failures"]["stopped_early"];
    EXPECT_EQ(stop["model"], "target");
    EXPECT_EQ(stop["attempts"], kFailFastAfter);
    EXPECT_EQ(stop["outcome"], outcome);
    EXPECT_EQ(stop["http_status"], status);
    EXPECT_EQ(results["failures"]["banner"], true);
    EXPECT_EQ(results["failures"]["by_kind"][0]["outcome"], outcome);
  }

 private:
  ScratchDir scratch_;
};

TEST_F(FailFast, AnAllUnauthorizedServerStopsTheRunWithExit6AndTheError) {
  test::ScriptedServer server;
  server.set_handler([](const test::ReceivedRequest&) { return unauthorized(); });
  const fs::path run =
      write_run(scratch(), openai_model(server.base_url() + "/v1", "concurrency = 4\n"), kItems);
  const fs::path out = scratch() / "out";
  const ChildResult result = run_to(run, out, scratch());
  ASSERT_FALSE(result.timed_out);
  EXPECT_EQ(result.exit_code, kExitStoppedEarly) << result.err;
  EXPECT_NE(result.err.find("medsafe: error: stopped early: the first 20 attempts of model "
                            "'target' all failed with http_error (HTTP 401): HTTP 401: Incorrect "
                            "API key provided"),
            std::string::npos)
      << result.err;
  // At most what was in flight went out after the 20th failure.
  const std::size_t asked = server.requests().size();
  EXPECT_GE(asked, static_cast<std::size_t>(kFailFastAfter));
  EXPECT_LE(asked, static_cast<std::size_t>(kFailFastAfter + 4));
  // What was collected is stored: every request that went out.
  EXPECT_EQ(stored(out).responses.size(), asked);
  expect_reports_say_so(out, "http_error", 401);
}

TEST_F(FailFast, ARefusedPortStopsTheRunWithExit6) {
  const std::string base_url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/v1";
  const fs::path run = write_run(
      scratch(), openai_model(base_url, "concurrency = 4\nbackoff_initial_ms = 10\n"), kItems);
  const fs::path out = scratch() / "out";
  const ChildResult result = run_to(run, out, scratch());
  ASSERT_FALSE(result.timed_out);
  EXPECT_EQ(result.exit_code, kExitStoppedEarly) << result.err;
  EXPECT_NE(result.err.find("medsafe: error: stopped early: the first 20 attempts of model "
                            "'target' all failed with transport_error: "),
            std::string::npos)
      << result.err;
  EXPECT_NE(result.err.find("127.0.0.1"), std::string::npos) << result.err;
  // Refused connections are retried (retry_on), so the 20 attempts are spread over fewer items.
  const RunData data = stored(out);
  std::int64_t attempts = 0;
  for (const ResponseRow& row : data.responses) {
    EXPECT_EQ(row.outcome, Outcome::transport_error);
    attempts += row.attempts;
  }
  EXPECT_GE(attempts, kFailFastAfter);
  EXPECT_LE(attempts, kFailFastAfter + 4);
  EXPECT_LT(data.responses.size(), static_cast<std::size_t>(kItems));
  expect_reports_say_so(out, "transport_error", 0);
}

TEST_F(FailFast, AFewFailuresAmongSuccessesStillExit0WithoutABanner) {
  test::ScriptedServer server;
  for (int i = 0; i < 5; ++i) server.enqueue(unauthorized());
  server.set_handler([](const test::ReceivedRequest&) { return answer(); });
  const fs::path run =
      write_run(scratch(), openai_model(server.base_url() + "/v1", "concurrency = 1\n"), kItems);
  const fs::path out = scratch() / "out";
  const ChildResult result = run_to(run, out, scratch());
  ASSERT_FALSE(result.timed_out);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.err.find("stopped early"), std::string::npos) << result.err;
  EXPECT_EQ(stored(out).responses.size(), static_cast<std::size_t>(kItems));
  const std::string md = read_file(out / "report.md");
  EXPECT_EQ(md.find("ERRORS"), std::string::npos) << "5 of 40 failed: below the banner's share";
  EXPECT_NE(md.find("| target | http\\_error | 401 | 5 | HTTP 401: Incorrect API key provided |"),
            std::string::npos)
      << md;
  const json results = json::parse(read_file(out / "results.json"));
  EXPECT_TRUE(results["failures"]["stopped_early"].is_null());
  EXPECT_EQ(results["failures"]["banner"], false);
}

TEST_F(FailFast, TurnedOffTheRunGoesOnAndTheBannerStillWarns) {
  test::ScriptedServer server;
  server.set_handler([](const test::ReceivedRequest&) { return unauthorized(); });
  const fs::path run = write_run(
      scratch(), openai_model(server.base_url() + "/v1", "fail_fast_after = 0\n"), kItems);
  const fs::path out = scratch() / "out";
  const ChildResult result = run_to(run, out, scratch());
  ASSERT_FALSE(result.timed_out);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(server.requests().size(), static_cast<std::size_t>(kItems));
  EXPECT_NE(read_file(out / "report.md")
                .find("> **ERRORS:** Model 'target': 40 of 40 responses failed (100%)"),
            std::string::npos);
}

}  // namespace
}  // namespace medsafe::hostile
