#include "report/report_jsonl.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "report_test_data.hpp"

namespace medsafe {
namespace {

using nlohmann::ordered_json;

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(ResponsesJsonl, OneParsableLinePerResponseInStoreOrder) {
  const RunData d = test_data::small_run();
  const std::string text = responses_jsonl(d);
  ASSERT_TRUE(text.ends_with("\n"));
  const auto rows = lines(text);
  ASSERT_EQ(rows.size(), 3U);
  const auto a = ordered_json::parse(rows[0]);
  EXPECT_EQ(a.begin().key(), "model");
  EXPECT_EQ(a["model"], "m");
  EXPECT_EQ(a["suite"], "med");
  EXPECT_EQ(a["item_id"], "a");
  EXPECT_EQ(a["category"], "1");
  EXPECT_EQ(a["sample"], 0);
  EXPECT_EQ(a["phase"], "safety");
  EXPECT_EQ(a["outcome"], "ok");
  EXPECT_EQ(a["prompt"], "prompt of a");
  EXPECT_EQ(a["text"], "an answer");
  EXPECT_TRUE(a["prompt_tokens"].is_null());  // -1 in the store: unknown
  // Timing as docs/metrics.md defines it: sent 1000 ms, events at 1100 and 1200 ms.
  EXPECT_DOUBLE_EQ(a["timing"]["ttft_ms"].get<double>(), 100.0);
  EXPECT_DOUBLE_EQ(a["timing"]["e2e_ms"].get<double>(), 200.0);
  EXPECT_DOUBLE_EQ(a["timing"]["tpot_ms"].get<double>(), 100.0);
  EXPECT_EQ(a["timing"]["token_events"], 2);
  EXPECT_TRUE(a["timing"]["intended_send_ns"].is_null());
  ASSERT_EQ(a["verdicts"].size(), 1U);
  EXPECT_EQ(a["verdicts"][0]["judge"], "rubric");
  EXPECT_EQ(a["verdicts"][0]["status"], "ok");
  EXPECT_EQ(a["verdicts"][0]["score"], 1);
  EXPECT_TRUE(a["verdicts"][0]["refused"].is_null());
  const auto c = ordered_json::parse(rows[2]);
  EXPECT_EQ(c["verdicts"][0]["status"], "parse_failure");
  EXPECT_TRUE(c["timing"]["ttft_ms"].is_null());
}

TEST(ResponsesJsonl, VerdictsFollowTheRunsJudgeOrder) {
  RunData d = test_data::small_run();
  d.verdicts.insert(d.verdicts.begin(), test_data::refusal("refusal", d.responses[0], true));
  d.verdicts.push_back(test_data::score("zz-extra", d.responses[0], 2));
  const auto a = ordered_json::parse(lines(responses_jsonl(d))[0]);
  ASSERT_EQ(a["verdicts"].size(), 3U);
  EXPECT_EQ(a["verdicts"][0]["judge"], "rubric");
  EXPECT_EQ(a["verdicts"][1]["judge"], "refusal");
  EXPECT_EQ(a["verdicts"][1]["refused"], true);
  EXPECT_EQ(a["verdicts"][2]["judge"], "zz-extra");
}

TEST(ResponsesJsonl, NewlinesAndBadBytesStayInsideTheirLine) {
  RunData d = test_data::small_run();
  d.responses[0].text = "line one\nline two\r\n\"quoted\" \xFF";
  d.responses[1].outcome = Outcome::http_error;
  d.responses[1].http_status = 503;
  d.responses[1].error = "overloaded";
  d.responses[2].phase = "c4";  // a load point: no verdicts belong to it
  const auto rows = lines(responses_jsonl(d));
  ASSERT_EQ(rows.size(), 3U);
  const auto a = ordered_json::parse(rows[0]);
  EXPECT_EQ(a["text"], "line one\nline two\r\n\"quoted\" \xEF\xBF\xBD");
  const auto b = ordered_json::parse(rows[1]);
  EXPECT_EQ(b["outcome"], "http_error");
  EXPECT_EQ(b["http_status"], 503);
  EXPECT_EQ(b["error"], "overloaded");
  const auto c = ordered_json::parse(rows[2]);
  EXPECT_EQ(c["phase"], "c4");
  EXPECT_TRUE(c["verdicts"].empty());
}

}  // namespace
}  // namespace medsafe
