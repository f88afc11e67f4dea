// Secrets the run file takes from the environment — a header value ("Bearer ${TOKEN}") and a
// key in base_url ("?key=${KEY}") — reach the server and appear nowhere else: no file of the run
// directory (store and WAL included), no stdout or stderr at any log level, also when requests
// fail (faults, connection refused), when the server echoes the request back in errors and
// answers, and when a bad value ends the run with an error message.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "reliability_support.hpp"
#include "support/scripted_server.hpp"

namespace medsafe::reliability {
namespace {

constexpr std::string_view kHeaderCanary = "hdr-canary-5b2e90d7c4a1f3";
constexpr std::string_view kUrlCanary = "url-canary-e81f0a6b3d92c7";
constexpr std::string_view kHeaderVariable = "MEDSAFE_RELIABILITY_HEADER_TOKEN";
constexpr std::string_view kUrlVariable = "MEDSAFE_RELIABILITY_URL_KEY";

using Reliability = ReliabilityFixture;

// [models.target]: the openai backend with both secrets from the environment, at `base`.
std::string secret_run_file(const fs::path& data, std::string_view base) {
  return "[run]\nname = \"env-secret\"\nseed = 1\n\n[models.target]\nplugin = \"openai\"\n"
         "base_url = \"" +
         std::string(base) + "/v1?key=${" + std::string(kUrlVariable) +
         "}\"\nmodel = \"medsafe-sim\"\nheaders = { Authorization = \"Bearer ${" +
         std::string(kHeaderVariable) +
         "}\" }\nconcurrency = 4\nbackoff_initial_ms = 1\nbackoff_max_ms = 10\n\n"
         "[suites.msb]\nplugin = \"medsafetybench\"\npath = " +
         toml_string(data.string()) +
         "\nlimit_per_category = 1\n\n[judges.refusal]\nplugin = \"refusal\"\n";
}

Environment secret_environment(std::uint16_t port) {
  return run_environment(port, {{std::string(kHeaderVariable), std::string(kHeaderCanary)},
                                {std::string(kUrlVariable), std::string(kUrlCanary)}});
}

void expect_no_canary(const fs::path& out, const ChildResult& run) {
  for (const std::string_view canary : {kHeaderCanary, kUrlCanary}) {
    EXPECT_EQ(run.out.find(canary), std::string::npos) << run.out;
    EXPECT_EQ(run.err.find(canary), std::string::npos) << run.err;
    for (const fs::path& file : files_containing(out, canary)) {
      ADD_FAILURE() << canary << " leaked in " << file;
    }
  }
}

// A run whose every request fails may stop early (exit 6); either way it must not crash.
void expect_ended_normally(const ChildResult& run) {
  EXPECT_TRUE(run.exit_code == 0 || run.exit_code == 6) << run.exit_code << "\n" << run.err;
}

// The run, its reports rebuilt and the run file checked, at `level`: none shows a canary.
void run_everything(const fs::path& scratch, const fs::path& run_toml, const fs::path& out,
                    const Environment& env, const std::string& level) {
  SCOPED_TRACE("--log-level " + level);
  const ChildResult run = run_medsafe(
      {"run", run_toml.string(), "--out", out.string(), "--log-level", level}, env, scratch);
  expect_ended_normally(run);
  ASSERT_TRUE(fs::exists(out / "medsafe.db")) << run.err;
  if (level == "debug") {
    // The debug line naming the endpoint was written, with the URL's key taken out.
    EXPECT_NE(run.err.find("?key=[redacted]"), std::string::npos) << run.err;
  }
  expect_no_canary(out, run);
  const ChildResult report =
      run_medsafe({"report", out.string(), "--log-level", level}, env, scratch);
  EXPECT_EQ(report.exit_code, 0) << report.err;
  expect_no_canary(out, report);
  const ChildResult validate =
      run_medsafe({"validate", run_toml.string(), "--log-level", level}, env, scratch);
  EXPECT_EQ(validate.exit_code, 0) << validate.err;
  expect_no_canary(out, validate);
}

TEST_F(Reliability, SecretsFromTheEnvironmentInAHeaderAndTheUrlAppearNowhere) {
  // The sim server accepts only the header's value as the key: an unexpanded header is a 401.
  auto server = start_sim_server(kVariedFaults, std::string(kHeaderCanary));
  const fs::path run_toml = scratch() / "run.toml";
  write_file(run_toml, secret_run_file(data(), "http://127.0.0.1:${MEDSAFE_SIM_PORT}"));
  for (const std::string level : {"debug", "info", "warn", "error", "off"}) {
    run_everything(scratch(), run_toml, scratch() / ("out-" + level),
                   secret_environment(server->port()), level);
  }
  ASSERT_TRUE(wait_until_idle(*server));
  const std::vector<sim::LogEntry> log = server->log();
  ASSERT_FALSE(log.empty());
  for (const sim::LogEntry& entry : log) EXPECT_TRUE(entry.authorized) << entry.id;
  EXPECT_EQ(server->stats().unauthorized, 0U);
  EXPECT_GT(server->stats().errors, 0U);  // the failure paths did run
}

// Answers a chat request with what it received, three ways in turn: a 401 echoing the headers,
// a 404 echoing the URL, and a 200 whose answer quotes both.
test::Script echo(const test::ReceivedRequest& request, int turn) {
  const std::string* auth = request.header("authorization");
  const std::string seen = request.target + " / " + (auth != nullptr ? *auth : std::string("-"));
  switch (turn % 3) {
    case 0:
      return test::http_response(
          401, R"({"error":{"message":"invalid credentials: )" + seen + R"(","type":"auth"}})");
    case 1:
      return test::http_response(404, "no such route: " + request.method + " " + request.target,
                                 {{"Content-Type", "text/plain"}});
    default:
      return test::http_response(
          200, R"({"id":"e","object":"chat.completion","choices":[{"index":0,"message":)"
               R"({"role":"assistant","content":"you sent )" +
                   seen +
                   R"("},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,)"
                   R"("completion_tokens":4,"total_tokens":7}})");
  }
}

TEST_F(Reliability, SecretsStayHiddenWhenTheServerEchoesTheRequestBack) {
  test::ScriptedServer server;
  std::atomic<int> turn{0};
  server.set_handler(
      [&turn](const test::ReceivedRequest& request) { return echo(request, turn.fetch_add(1)); });
  const fs::path run_toml = scratch() / "run.toml";
  write_file(run_toml, secret_run_file(data(), "http://127.0.0.1:${MEDSAFE_SIM_PORT}"));
  const fs::path out = scratch() / "out";
  run_everything(scratch(), run_toml, out, secret_environment(server.port()), "debug");

  const std::vector<test::ReceivedRequest> requests = server.requests();
  ASSERT_FALSE(requests.empty());
  for (const test::ReceivedRequest& request : requests) {
    // The server got both secrets expanded, the path before the query.
    EXPECT_EQ(request.target, "/v1/chat/completions?key=" + std::string(kUrlCanary));
    const std::string* auth = request.header("authorization");
    ASSERT_NE(auth, nullptr);
    EXPECT_EQ(*auth, "Bearer " + std::string(kHeaderCanary));
  }
  // Each echo was stored, with the secrets taken out: errors and answers alike.
  const auto rows = query(out, "SELECT outcome, error, text FROM responses");
  std::size_t redacted_errors = 0;
  std::size_t redacted_answers = 0;
  for (const auto& row : rows) {
    if (row[0] != "ok" && row[1].find("[redacted]") != std::string::npos) ++redacted_errors;
    if (row[0] == "ok" && row[2].find("key=[redacted] / Bearer [redacted]") != std::string::npos) {
      ++redacted_answers;
    }
  }
  EXPECT_GT(redacted_errors, 0U);
  EXPECT_GT(redacted_answers, 0U);
}

// A port on 127.0.0.1 with nothing listening (bound, then closed).
std::uint16_t closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

TEST_F(Reliability, SecretsStayHiddenWhenTheConnectionIsRefused) {
  const fs::path run_toml = scratch() / "run.toml";
  write_file(run_toml, secret_run_file(data(), "http://127.0.0.1:${MEDSAFE_SIM_PORT}"));
  const fs::path out = scratch() / "out";
  run_everything(scratch(), run_toml, out, secret_environment(closed_port()), "debug");
  for (const StoredResponse& row : stored_responses(out)) {
    EXPECT_EQ(row.outcome, "transport_error") << row.request_id;
  }
}

TEST_F(Reliability, AnErrorThatEndsTheRunDoesNotPrintTheSecret) {
  // A base_url the backend refuses, quoting it in its message; the key is in the quoted URL.
  const fs::path run_toml = scratch() / "run.toml";
  write_file(run_toml, secret_run_file(data(), "ftp://127.0.0.1:${MEDSAFE_SIM_PORT}"));
  const fs::path out = scratch() / "out";
  for (const std::vector<std::string>& command :
       {std::vector<std::string>{"run", run_toml.string(), "--out", out.string()},
        std::vector<std::string>{"validate", run_toml.string()}}) {
    std::vector<std::string> args = command;
    args.insert(args.end(), {"--log-level", "debug"});
    const ChildResult run = run_medsafe(args, secret_environment(9), scratch());
    EXPECT_EQ(run.exit_code, 3) << run.err;
    EXPECT_NE(run.err.find("must start with http:// or https://, got \"ftp://127.0.0.1:9/v1?key="
                           "[redacted]\""),
              std::string::npos)
        << run.err;
    expect_no_canary(out, run);
  }
}

TEST_F(Reliability, TheModelTestedIsNamedInEveryReportAlsoWhenRebuiltFromTheStore) {
  auto server = start_sim_server("seed = 2");
  const fs::path run_toml = scratch() / "run.toml";
  write_file(run_toml, secret_run_file(data(), "http://127.0.0.1:${MEDSAFE_SIM_PORT}"));
  const fs::path out = scratch() / "out";
  const Environment env = secret_environment(server->port());
  const ChildResult run =
      run_medsafe({"run", run_toml.string(), "--out", out.string(), "-q"}, env, scratch());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  // Only the store is left: `medsafe report` must find the model tested there.
  for (const char* report : {"report.md", "report.html", "results.json"}) fs::remove(out / report);
  const ChildResult report = run_medsafe({"report", out.string()}, env, scratch());
  ASSERT_EQ(report.exit_code, 0) << report.err;

  const std::string host = "127.0.0.1:" + std::to_string(server->port());
  EXPECT_NE(read_file(out / "report.md")
                .find("- Models under test: target (openai: medsafe-sim at " + host + ")\n"),
            std::string::npos);
  EXPECT_NE(read_file(out / "report.html")
                .find("<li>model target: medsafe-sim at " + host + " (openai)</li>"),
            std::string::npos);
  const auto results = nlohmann::json::parse(read_file(out / "results.json"));
  EXPECT_EQ(results["models"][0]["model_id"], "medsafe-sim");
  EXPECT_EQ(results["models"][0]["host"], host);  // no path, no query, no key
  expect_no_canary(out, report);
}

}  // namespace
}  // namespace medsafe::reliability
