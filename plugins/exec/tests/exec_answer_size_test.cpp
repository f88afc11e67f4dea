// A program that writes a huge line: its answer is read only as far as the request's
// max_response_bytes needs, cut and flagged truncated, and the session goes on with the
// program; a huge line whose id cannot be read fails what was in flight, as malformed.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "exec_components.hpp"
#include "exec_test_support.hpp"

namespace medsafe::exec {
namespace {

using testing::KeptLog;

constexpr std::size_t kLimit = 1000;

Response ask(Backend& backend, const std::string& text) {
  testing::Collector<Response> responses;
  Request request = testing::user_request(text);
  request.max_response_bytes = kLimit;
  backend.submit(std::move(request), responses.callback(0));
  EXPECT_TRUE(responses.wait(1)) << "no answer";
  return std::move(responses[0]);
}

std::unique_ptr<ExecBackend> backend(const std::string& mode, std::size_t bytes, KeptLog& log) {
  return std::make_unique<ExecBackend>(
      testing::exec_config("command = " + testing::fake_command(mode, std::to_string(bytes)) +
                           "\n"),
      "fake", log);
}

TEST(ExecAnswerSize, AHugeAnswerLineIsCutAndTheProgramGoesOn) {
  EXEC_REQUIRE_PYTHON();
  KeptLog log;
  // Far past the line bound: the line is never held whole.
  auto b = backend("huge-answer", wire_bytes_for(kLimit) * 40, log);
  for (const char* question : {"first", "second"}) {
    const Response r = ask(*b, question);
    EXPECT_EQ(r.outcome, Outcome::ok) << r.error;
    EXPECT_TRUE(r.truncated);
    EXPECT_EQ(r.text, std::string(kLimit, 'a'));
  }
}

TEST(ExecAnswerSize, AnAnswerLineWithinTheLineBoundIsCutToTheAnswerBound) {
  EXEC_REQUIRE_PYTHON();
  KeptLog log;
  auto b = backend("huge-answer", 3 * kLimit, log);
  const Response r = ask(*b, "q");
  EXPECT_EQ(r.outcome, Outcome::ok) << r.error;
  EXPECT_TRUE(r.truncated);
  EXPECT_EQ(r.text, std::string(kLimit, 'a'));
  EXPECT_EQ(r.finish_reason, "stop") << "a line read whole keeps its other fields";
}

TEST(ExecAnswerSize, AHugeDeltaEndsTheAnswerWithTheTextSoFar) {
  EXEC_REQUIRE_PYTHON();
  KeptLog log;
  auto b = backend("huge-delta", wire_bytes_for(kLimit) * 10, log);
  const Response r = ask(*b, "q");
  EXPECT_EQ(r.outcome, Outcome::ok) << r.error;
  EXPECT_TRUE(r.truncated);
  EXPECT_EQ(r.text, "Start. " + std::string(kLimit - 7, 'd'));
  EXPECT_EQ(r.timing.token_events.size(), 2u);
  // The program's later lines for that id are ignored; the next request is answered.
  const Response next = ask(*b, "again");
  EXPECT_EQ(next.outcome, Outcome::ok) << next.error;
  EXPECT_TRUE(next.truncated);
}

TEST(ExecAnswerSize, AHugeLineWhoseIdComesLastFailsAsMalformed) {
  EXEC_REQUIRE_PYTHON();
  KeptLog log;
  auto b = backend("huge-late-id", wire_bytes_for(kLimit) * 4, log);
  const Response r = ask(*b, "q");
  EXPECT_EQ(r.outcome, Outcome::malformed);
  EXPECT_NE(r.error.find("the program wrote a line longer than " +
                         std::to_string(wire_bytes_for(kLimit)) +
                         " bytes whose id could not be read from its beginning"),
            std::string::npos)
      << r.error;
}

}  // namespace
}  // namespace medsafe::exec
