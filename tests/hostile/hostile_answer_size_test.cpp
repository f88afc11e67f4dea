// A server that answers 50 MB: the answers are stored cut at max_response_bytes (4 MiB by
// default) and flagged truncated in the store, responses.jsonl, results.json and both reports;
// the judge gets the cut text; and medsafe's peak memory stays far below what whole answers
// took (550 MB for three of them before).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hostile_support.hpp"
#include "medsafe/error.hpp"
#include "support/scripted_server.hpp"

namespace medsafe::hostile {
namespace {

using nlohmann::json;

constexpr std::size_t kAnswerBytes = std::size_t{50} << 20;
constexpr std::size_t kBound = std::size_t{4} << 20;  // max_response_bytes' default
constexpr long kPeakRssLimitKib = 200 * 1024;

// Under AddressSanitizer (the asan preset builds medsafe and this test alike) shadow memory and
// the allocation quarantine take several times the program's own: the bound is the product's,
// so it is checked on builds without it.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kCheckPeakRss = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kCheckPeakRss = false;
#else
constexpr bool kCheckPeakRss = true;
#endif
#else
constexpr bool kCheckPeakRss = true;
#endif
constexpr int kItems = 3;

std::string completion(const std::string& content) {
  return json{{"choices",
               {{{"index", 0},
                 {"message", {{"role", "assistant"}, {"content", content}}},
                 {"finish_reason", "stop"}}}}}
      .dump();
}

// Compliant answers of about 50 MB of filler (words of about six bytes), in 64 KiB events when
// streamed: the simulated server, in a process of its own.
constexpr std::string_view kSimSettings =
    "refusal_rate = 0\noutput_tokens = 8800000\ntokens_per_event = 10000\n";

class AnswerSize : public ::testing::TestWithParam<bool> {
 protected:
  [[nodiscard]] const fs::path& scratch() const { return scratch_.path(); }

 private:
  ScratchDir scratch_;
};

TEST_P(AnswerSize, FiftyMegabyteAnswersAreStoredCutAndFlaggedInBoundedMemory) {
  const bool stream = GetParam();
  SimServerProcess target(kSimSettings, scratch());
  test::ScriptedServer judge;
  judge.set_handler([](const test::ReceivedRequest&) {
    return test::http_response(200, completion("#reason: it refuses\n#score: 1"));
  });
  const std::string judge_model = "[models.judge]\n" +
                                  openai_model(judge.base_url() + "/v1", "stream = false\n") +
                                  "under_test = false\n\n[judges.harm]\nplugin = \"rubric\"\n"
                                  "model = \"judge\"\n";
  // max_tokens = 0 leaves the field out: the simulated model says all it has.
  const fs::path run = write_run(
      scratch(),
      openai_model(target.base_url(), std::string("stream = ") + (stream ? "true" : "false") +
                                          "\nmax_tokens = 0\nconcurrency = 3\n"),
      kItems, judge_model);
  const fs::path out = scratch() / "out";
  // A spawned child's ru_maxrss includes its parent's peak: ours must be below the limit for the
  // figure to be medsafe's own (or an upper bound of it).
  const long parent_peak = own_peak_rss_kib();
  if (kCheckPeakRss) {
    ASSERT_LT(parent_peak, kPeakRssLimitKib);
  }
  const ChildResult result = run_to(run, out, scratch());
  ASSERT_FALSE(result.timed_out);
  ASSERT_EQ(result.exit_code, 0) << result.err;

  // Memory: measured by the kernel for the medsafe process (wait4's ru_maxrss).
  ASSERT_GT(result.peak_rss_kib, 0);
  if (kCheckPeakRss) {
    EXPECT_LT(result.peak_rss_kib, kPeakRssLimitKib)
        << "peak RSS " << result.peak_rss_kib / 1024 << " MiB";
  }
  std::printf(
      "[ figures  ] %s: peak RSS of medsafe %ld MiB (this process's %ld MiB); report.html %ju "
      "bytes, responses.jsonl %ju bytes\n",
      stream ? "streamed" : "not streamed", result.peak_rss_kib / 1024, parent_peak / 1024,
      static_cast<std::uintmax_t>(fs::file_size(out / "report.html")),
      static_cast<std::uintmax_t>(fs::file_size(out / "responses.jsonl")));

  // The store: every answer cut at the bound, flagged, and still an answer.
  const RunData data = stored(out);
  ASSERT_EQ(data.responses.size(), static_cast<std::size_t>(kItems));
  for (const ResponseRow& row : data.responses) {
    EXPECT_EQ(row.outcome, Outcome::ok) << row.error;
    EXPECT_TRUE(row.truncated) << row.item_id;
    EXPECT_EQ(row.text.size(), kBound) << row.item_id;  // ASCII filler: cut exactly there
    EXPECT_EQ(row.text.rfind("[simulated answer]", 0), 0u) << row.text.substr(0, 80);
  }

  // The judge got the cut text: the stored 4 MiB, not 50 MB.
  const std::vector<test::ReceivedRequest> asked = judge.requests();
  ASSERT_EQ(asked.size(), static_cast<std::size_t>(kItems));
  for (const test::ReceivedRequest& request : asked) {
    const std::string prompt = json::parse(request.body)["messages"][0]["content"];
    EXPECT_NE(prompt.find(data.responses[0].text), std::string::npos);
    EXPECT_LT(prompt.size(), kBound + (std::size_t{64} << 10));
  }
  ASSERT_EQ(data.verdicts.size(), static_cast<std::size_t>(kItems));
  for (const VerdictRow& v : data.verdicts) EXPECT_EQ(v.score, 1) << v.reason;

  // Every output says so.
  const json results = json::parse(read_file(out / "results.json"));
  EXPECT_EQ(results["counts"]["truncated"], kItems);
  EXPECT_EQ(results["counts"]["truncated_by_model"]["target"], kItems);
  const std::string lines = read_file(out / "responses.jsonl");
  EXPECT_EQ(std::count(lines.begin(), lines.end(), '\n'), kItems);
  std::size_t flagged = 0;
  for (std::size_t at = 0; (at = lines.find("\"truncated\":true", at)) != std::string::npos; ++at) {
    ++flagged;
  }
  EXPECT_EQ(flagged, static_cast<std::size_t>(kItems));
  EXPECT_NE(read_file(out / "report.md").find("**Truncated answers: 3** (target 3)"),
            std::string::npos);
  const std::string html = read_file(out / "report.html");
  EXPECT_NE(html.find("id=\"truncated\"><b>Truncated answers: 3</b> (target 3)"),
            std::string::npos);
  std::size_t marked = 0;
  for (std::size_t at = 0;
       (at = html.find("(truncated: longer than max_response_bytes", at)) != std::string::npos;
       ++at) {
    ++marked;
  }
  EXPECT_EQ(marked, static_cast<std::size_t>(kItems));
}

INSTANTIATE_TEST_SUITE_P(StreamedAndNot, AnswerSize, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& param) {
                           return param.param ? "Streamed" : "NotStreamed";
                         });

TEST(AnswerSizeCore, ABackendThatIgnoresTheBoundIsCutByTheCore) {
  // The in-process sim backend does not read Request::max_response_bytes: the core cuts.
  const ScratchDir scratch;
  const fs::path run = write_run(scratch.path(),
                                 "plugin = \"sim\"\nrefusal_rate = 0\noutput_tokens = 2000\n"
                                 "max_response_bytes = 100\n",
                                 2);
  const EngineRun result = run_in_process(run, scratch.path() / "out", std::chrono::seconds(10));
  ASSERT_EQ(result.data.responses.size(), 2u);
  for (const ResponseRow& row : result.data.responses) {
    EXPECT_EQ(row.outcome, Outcome::ok) << row.error;
    EXPECT_TRUE(row.truncated);
    EXPECT_EQ(row.text.size(), 100u);
  }
}

TEST(AnswerSizeCore, ABadBoundIsAConfigErrorNamingTheKey) {
  const ScratchDir scratch;
  const fs::path run = write_run(scratch.path(), "plugin = \"sim\"\nmax_response_bytes = -1\n", 1);
  try {
    (void)run_in_process(run, scratch.path() / "out", std::chrono::seconds(10));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("max_response_bytes"), std::string::npos) << e.what();
    EXPECT_EQ(e.kind(), ErrorKind::config);
  }
}

}  // namespace
}  // namespace medsafe::hostile
