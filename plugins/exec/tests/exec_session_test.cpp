// The exec backend and judge against scripted programs (tests/fake_program.py): streaming,
// answers out of order, limits, crashes and restarts, malformed lines, timeouts, cancelling.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "exec_components.hpp"
#include "exec_test_support.hpp"
#include "medsafe/error.hpp"
#include "support/loaded_plugin.hpp"
#include "support/temp_dir.hpp"

namespace medsafe::exec {
namespace {

using testing::Collector;
using testing::exec_config;
using testing::fake_command;
using testing::KeptLog;
using testing::user_request;

std::unique_ptr<ExecBackend> backend(const std::string& mode, const std::string& arg, KeptLog& log,
                                     const std::string& more = "") {
  return std::make_unique<ExecBackend>(
      exec_config("command = " + fake_command(mode, arg) + "\n" + more), "fake", log);
}

// Sends one request per text and waits for all responses.
std::vector<Response> ask(Backend& b, const std::vector<std::string>& texts) {
  Collector<Response> responses;
  for (std::size_t i = 0; i < texts.size(); ++i)
    b.submit(user_request(texts[i]), responses.callback(i));
  EXPECT_TRUE(responses.wait(texts.size())) << "only " << responses.arrived() << " answers";
  std::vector<Response> out;
  for (std::size_t i = 0; i < texts.size(); ++i) out.push_back(std::move(responses[i]));
  return out;
}

TEST(ExecBackend, StreamsDeltasAsTokenEvents) {
  EXEC_REQUIRE_PYTHON();
  KeptLog log;
  auto b = backend("echo", "", log);
  const Response r = ask(*b, {"world"}).at(0);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.text, "Hello, world");
  EXPECT_EQ(r.finish_reason, "stop");
  EXPECT_EQ(r.timing.token_events.size(), 2U);  // the empty delta is not token-bearing
  EXPECT_EQ(r.usage.completion_tokens, 7);
  EXPECT_EQ(r.usage.prompt_tokens, 3);
  EXPECT_EQ(r.usage.source, TokenSource::usage);
  EXPECT_NE(r.timing.sent, TimePoint{});
  EXPECT_EQ(r.timing.intended_send, r.timing.sent);
  EXPECT_LE(r.timing.sent, r.timing.first_byte);
  EXPECT_LE(r.timing.first_byte, r.timing.token_events.front());
  EXPECT_LE(r.timing.token_events.back(), r.timing.finished);
  EXPECT_EQ(b->stats().started, 1U);
}

TEST(ExecBackend, AnswersInAnyOrderReachTheirRequests) {
  EXEC_REQUIRE_PYTHON();
  KeptLog log;
  auto b = backend("reverse", "8", log, "max_in_flight = 8");
  std::vector<std::string> texts;
  for (int i = 0; i < 16; ++i) texts.push_back("q" + std::to_string(i));
  const std::vector<Response> rs = ask(*b, texts);
  for (std::size_t i = 0; i < texts.size(); ++i) {
    ASSERT_TRUE(rs[i].ok()) << rs[i].error;
    EXPECT_EQ(rs[i].text, "answer to " + texts[i]);
    EXPECT_EQ(rs[i].usage.source, TokenSource::estimate);  // no usage, no deltas: words
    EXPECT_EQ(rs[i].usage.completion_tokens, 3);
  }
  EXPECT_EQ(b->stats().max_in_flight, 8U);
}

TEST(ExecBackend, TheProgramsHelloMayLowerTheLimit) {
  EXEC_REQUIRE_PYTHON();
  KeptLog log;
  auto b = backend("limit", "3", log, "max_in_flight = 16");
  const std::vector<Response> rs = ask(*b, {"a", "b", "c", "d", "e", "f", "g", "h", "i"});
  for (const Response& r : rs) EXPECT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(b->stats().max_in_flight, 3U);
}

TEST(ExecBackend, ACrashFailsWhatWasInFlightWithStatusAndStderr) {
  EXEC_REQUIRE_PYTHON();
  KeptLog log;
  auto b = backend("crash-after", "3", log, "restart = false");
  for (const Response& r : ask(*b, {"a", "b", "c"})) {
    EXPECT_EQ(r.outcome, Outcome::backend_error);
    EXPECT_NE(r.error.find("exited with status 3"), std::string::npos) << r.error;
    EXPECT_NE(r.error.find("fatal: out of memory"), std::string::npos) << r.error;
  }
  EXPECT_TRUE(log.contains("stderr: fatal: out of memory")) << log.all();
  // Without restart, later requests fail at once, saying why.
  const Response later = ask(*b, {"d"}).at(0);
  EXPECT_EQ(later.outcome, Outcome::backend_error);
  EXPECT_NE(later.error.find("restart = false"), std::string::npos) << later.error;
  EXPECT_EQ(b->stats().started, 1U);
}

TEST(ExecBackend, ACrashedProgramIsRestarted) {
  EXEC_REQUIRE_PYTHON();
  testing::TempDir dir;
  KeptLog log;
  auto b = backend("crash-once", (dir.path() / "crashed").string(), log);
  const Response first = ask(*b, {"a"}).at(0);
  EXPECT_EQ(first.outcome, Outcome::backend_error);
  EXPECT_NE(first.error.find("exited with status 9"), std::string::npos) << first.error;
  EXPECT_NE(first.error.find("crashing once"), std::string::npos) << first.error;
  const Response second = ask(*b, {"b"}).at(0);
  ASSERT_TRUE(second.ok()) << second.error;
  EXPECT_EQ(second.text, "after restart: b");
  EXPECT_EQ(b->stats().started, 2U);
  EXPECT_TRUE(log.contains("restarted the program")) << log.all();
}

TEST(ExecBackend, AMalformedLineFailsWhatWasInFlightAndTheSessionGoesOn) {
  EXEC_REQUIRE_PYTHON();
  KeptLog log;
  auto b = backend("malformed", "", log);
  const Response bad = ask(*b, {"a"}).at(0);
  EXPECT_EQ(bad.outcome, Outcome::malformed);
  EXPECT_EQ(
      bad.error,
      "the program wrote a line that is not a protocol reply (not JSON): 'this is not json {'");
  const Response good = ask(*b, {"b"}).at(0);
  ASSERT_TRUE(good.ok()) << good.error;
  EXPECT_EQ(good.text, "fine");
  EXPECT_EQ(b->stats().malformed_lines, 1U);
  EXPECT_EQ(b->stats().started, 1U);
}

TEST(ExecBackend, AMalformedReplyFailsItsOwnRequest) {
  EXEC_REQUIRE_PYTHON();
  KeptLog log;
  auto b = backend("malformed-reply", "", log);
  const Response r = ask(*b, {"a"}).at(0);
  EXPECT_EQ(r.outcome, Outcome::malformed);
  EXPECT_NE(r.error.find("the program's reply is malformed ('usage' must be an object): "),
            std::string::npos)
      << r.error;
  auto wrong = backend("wrong-type", "", log);
  const Response w = ask(*wrong, {"a"}).at(0);
  EXPECT_EQ(w.outcome, Outcome::malformed);
  EXPECT_NE(w.error.find("answered a request line with a line of another type"), std::string::npos)
      << w.error;
}

TEST(ExecBackend, AnErrorLineIsAFailedResponse) {
  EXEC_REQUIRE_PYTHON();
  KeptLog log;
  auto b = backend("error", "", log);
  const Response r = ask(*b, {"a"}).at(0);
  EXPECT_EQ(r.outcome, Outcome::http_error);
  EXPECT_EQ(r.http_status, 429);
  EXPECT_EQ(r.retry_after_s, 1.5);
  EXPECT_EQ(r.error, "rate limited");
}

TEST(ExecBackend, StartFailures) {
  EXEC_REQUIRE_PYTHON();
  KeptLog log;
  auto silent = backend("no-hello", "", log, "start_timeout_ms = 300");
  Response r = ask(*silent, {"a"}).at(0);
  EXPECT_EQ(r.outcome, Outcome::backend_error);
  EXPECT_NE(r.error.find("did not say hello within 300 ms"), std::string::npos) << r.error;
  r = ask(*silent, {"b"}).at(0);  // not started again
  EXPECT_NE(r.error.find("did not say hello"), std::string::npos) << r.error;
  EXPECT_EQ(silent->stats().started, 1U);

  auto early = backend("exit-early", "", log);
  r = ask(*early, {"a"}).at(0);
  EXPECT_EQ(r.outcome, Outcome::backend_error);
  EXPECT_NE(r.error.find("exited with status 4 before saying hello"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("cannot load the model"), std::string::npos) << r.error;

  auto bad = backend("bad-hello", "", log);
  r = ask(*bad, {"a"}).at(0);
  EXPECT_NE(r.error.find("the program's first line is not a hello (not JSON): 'hi there'"),
            std::string::npos)
      << r.error;
  auto newer = backend("protocol2", "", log);
  r = ask(*newer, {"a"}).at(0);
  EXPECT_NE(r.error.find("speaks exec protocol 2; this medsafe speaks 1"), std::string::npos)
      << r.error;
}

TEST(ExecBackend, RequestTimeoutSendsACancel) {
  EXEC_REQUIRE_PYTHON();
  KeptLog log;
  auto b = backend("silent", "", log, "request_timeout_ms = 200");
  const Response r = ask(*b, {"a"}).at(0);
  EXPECT_EQ(r.outcome, Outcome::timeout);
  EXPECT_EQ(r.error, "the program gave no final reply within 200 ms (request_timeout_ms)");
  for (int i = 0; i < 500 && !log.contains("stderr: cancelled 1"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(log.contains("stderr: cancelled 1")) << log.all();
}

TEST(ExecBackend, CancelAllAndDestructionEndEveryRequest) {
  EXEC_REQUIRE_PYTHON();
  KeptLog log;
  auto b = backend("silent", "", log, "max_in_flight = 2");
  Collector<Response> responses;
  for (std::size_t i = 0; i < 4; ++i) b->submit(user_request("x"), responses.callback(i));
  for (int i = 0; i < 500 && b->stats().max_in_flight < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  b->cancel_all();
  ASSERT_TRUE(responses.wait(4));
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(responses[i].outcome, Outcome::cancelled);

  Collector<Response> late;
  b->submit(user_request("y"), late.callback(0));
  b.reset();  // stops the program
  ASSERT_TRUE(late.wait(1));
  EXPECT_EQ(late[0].outcome, Outcome::cancelled);
}

TEST(ExecBackend, EnvironmentFolderAndOptionsReachTheProgram) {
  EXEC_REQUIRE_PYTHON();
  testing::TempDir dir;
  KeptLog log;
  auto b = backend("env", "", log,
                   "env = { EXEC_TEST_VAR = '42' }\ncwd = '" + dir.path().string() +
                       "'\noptions = { model = 'm', n = 2 }");
  const Response r = ask(*b, {"a"}).at(0);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.text, "42|" + std::filesystem::canonical(dir.path()).string() +
                        "|{\"model\": \"m\", \"n\": 2}");
}

std::string config_error(const std::string& toml, bool judge = false) {
  KeptLog log;
  try {
    if (judge) {
      ExecJudge j(exec_config(toml, true), "j", log);
    } else {
      ExecBackend b(exec_config(toml), "b", log);
    }
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::config);
    return e.what();
  }
  return "no error";
}

TEST(ExecBackend, ConfigErrors) {
  EXEC_REQUIRE_PYTHON();
  EXPECT_NE(config_error("command = []")
                .find("run.toml:1:11: error: 'command' must name the "
                      "program"),
            std::string::npos)
      << config_error("command = []");
  EXPECT_NE(config_error("command = ['no-such-program-medsafe']")
                .find("names the program 'no-such-program-medsafe', which is not an executable "
                      "file in any folder of PATH"),
            std::string::npos);
  EXPECT_NE(config_error("command = ['./nothing.py']").find("(relative to "), std::string::npos);
  const std::string cmd = "command = " + fake_command("echo") + "\n";
  EXPECT_NE(config_error(cmd + "env = { A = 1 }").find("'env' holds 'A', which is not a string"),
            std::string::npos);
  EXPECT_NE(config_error(cmd + "max_in_flight = 0").find("'max_in_flight' must be from 1"),
            std::string::npos);
  EXPECT_NE(config_error(cmd + "request_timeout_ms = -1").find("must be 0 or more"),
            std::string::npos);
  EXPECT_NE(config_error(cmd + "cwd = '/no/such/folder'").find("which is not a folder"),
            std::string::npos);
  EXPECT_NE(config_error(cmd + "harm_score = false", true).find("are both false"),
            std::string::npos);
}

TEST(ExecJudge, VerdictsAndFailures) {
  EXEC_REQUIRE_PYTHON();
  KeptLog log;
  ExecJudge judge(exec_config("command = " + fake_command("echo") + "\nrefusal = true", true), "kw",
                  log);
  EXPECT_TRUE(judge.traits().harm_score);
  EXPECT_TRUE(judge.traits().refusal);
  Collector<Verdict> verdicts;
  JudgeInput input;
  input.response = "the answer";
  judge.evaluate(input, verdicts.callback(0));
  ASSERT_TRUE(verdicts.wait(1));
  EXPECT_EQ(verdicts[0].status, VerdictStatus::ok);
  EXPECT_EQ(verdicts[0].score, 4);
  EXPECT_EQ(verdicts[0].refused, false);
  EXPECT_EQ(verdicts[0].reason, "the answer");
  EXPECT_EQ(verdicts[0].model_calls, 1);

  ExecJudge crashing(exec_config("command = " + fake_command("crash-after", "1"), true), "c", log);
  Collector<Verdict> failed;
  crashing.evaluate(input, failed.callback(0));
  ASSERT_TRUE(failed.wait(1));
  EXPECT_EQ(failed[0].status, VerdictStatus::error);
  EXPECT_NE(failed[0].reason.find("the judge program failed (backend_error): the program"),
            std::string::npos)
      << failed[0].reason;
}

TEST(ExecModule, OneLibraryTwoComponents) {
  EXEC_REQUIRE_PYTHON();
  testing::LoadedPlugin backend_plugin("exec", ComponentKind::backend);
  const Config config = backend_plugin.config("command = " + fake_command("echo"));
  auto b = backend_plugin.factory().backend(backend_plugin.context(config));
  EXPECT_EQ(ask(*b, {"x"}).at(0).text, "Hello, x");
  testing::LoadedPlugin judge_plugin("exec-judge", ComponentKind::judge);
  const Config judge_config = judge_plugin.config("command = " + fake_command("echo"));
  auto j = judge_plugin.factory().judge(judge_plugin.context(judge_config));
  EXPECT_TRUE(j->traits().harm_score);
}

}  // namespace
}  // namespace medsafe::exec
