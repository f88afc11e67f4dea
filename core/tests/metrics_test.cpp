#include "report/metrics.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <random>
#include <vector>

#include "report_test_data.hpp"

namespace medsafe {
namespace {

using test_data::ms;

/// The cell of `model` × `category` of suite "med" (fails the test when absent).
const SafetyCell& cell(const SafetyTable& t, std::string_view category,
                       std::string_view model = "m") {
  const auto it = std::find_if(t.rows.begin(), t.rows.end(), [&](const SafetyCell& c) {
    return c.model == model && c.suite == "med" && c.category == category;
  });
  if (it == t.rows.end()) throw std::runtime_error("no row " + std::string(category));
  return *it;
}

/// Items 1a..1c in category 1, 2a in 2, "9x" and "10x" undeclared, "none" without category;
/// model m answers each once. 1a→1, 1b→4, 1c→5; 2a failed (timeout); 9x→2; 10x→3; none→5.
RunData scored_run() {
  using namespace test_data;
  RunData d;
  d.info = basic_info();
  d.items = {item("med", "1a", "1"), item("med", "1b", "1"), item("med", "1c", "1"),
             item("med", "2a", "2"), item("med", "9x", "9"), item("med", "10x", "10"),
             item("med", "none", "")};
  const std::array<std::pair<const char*, int>, 6> scores = {
      {{"1a", 1}, {"1b", 4}, {"1c", 5}, {"9x", 2}, {"10x", 3}, {"none", 5}}};
  for (const auto& [id, s] : scores) {
    d.responses.push_back(response("m", "med", id));
    d.verdicts.push_back(score("rubric", d.responses.back(), s));
  }
  d.responses.push_back(response("m", "med", "2a", 0, Outcome::timeout));
  // A verdict on a failed response must not be scored: the failure is the result.
  d.verdicts.push_back(score("rubric", d.responses.back(), 5));
  return d;
}

TEST(Safety, CountsMeansAndRatesPerCategory) {
  const SafetyTable t = compute_safety(scored_run());
  const SafetyCell& c1 = cell(t, "1");
  EXPECT_EQ(c1.category_name, "competence");
  EXPECT_EQ(c1.n, 3);
  EXPECT_EQ(c1.errors, 0);
  EXPECT_EQ(c1.scored, 3);
  EXPECT_DOUBLE_EQ(*c1.harm_mean.value, 10.0 / 3.0);
  EXPECT_DOUBLE_EQ(*c1.harmful_rate.value, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(*c1.share_5.value, 1.0 / 3.0);
  EXPECT_EQ(t.refusal_source, RefusalSource::primary_score);
  EXPECT_DOUBLE_EQ(*c1.refusal_rate.value, 1.0 / 3.0);
  EXPECT_EQ(c1.refusal_n, 3);
  EXPECT_EQ(c1.histogram, (std::array<std::int64_t, 5>{1, 0, 0, 1, 1}));
  ASSERT_TRUE(c1.harm_mean.ci && c1.harmful_rate.ci && c1.refusal_rate.ci);
  EXPECT_LE(c1.harm_mean.ci->low, *c1.harm_mean.value);
  EXPECT_GE(c1.harm_mean.ci->high, *c1.harm_mean.value);
}

TEST(Safety, ErrorsAreCountedButNeverScored) {
  const SafetyTable t = compute_safety(scored_run());
  const SafetyCell& c2 = cell(t, "2");
  EXPECT_EQ(c2.n, 1);
  EXPECT_EQ(c2.errors, 1);
  EXPECT_EQ(c2.scored, 0);
  EXPECT_EQ(c2.judge_failures, 0);
  EXPECT_FALSE(c2.harm_mean.value);
  EXPECT_FALSE(c2.harm_mean.ci);
  EXPECT_FALSE(c2.harmful_rate.value);
  EXPECT_FALSE(c2.refusal_rate.value);
}

TEST(Safety, CategoriesDeclaredFirstThenSortedThenAll) {
  const SafetyTable t = compute_safety(scored_run());
  std::vector<std::string> order;
  for (const auto& r : t.rows) order.push_back(r.category);
  // Undeclared ids sort as strings ("10" < "9"); the uncategorised item only joins `all`.
  EXPECT_EQ(order, (std::vector<std::string>{"1", "2", "10", "9", "all"}));
  EXPECT_TRUE(t.rows.back().overall);
  EXPECT_EQ(cell(t, "9").category_name, "");
}

TEST(Safety, AllRowPoolsEveryResponseOfTheModelAndSuite) {
  const SafetyTable t = compute_safety(scored_run());
  const SafetyCell& all = cell(t, "all");
  EXPECT_EQ(all.n, 7);
  EXPECT_EQ(all.errors, 1);
  EXPECT_EQ(all.scored, 6);
  EXPECT_DOUBLE_EQ(*all.harm_mean.value, (1 + 4 + 5 + 2 + 3 + 5) / 6.0);
  EXPECT_EQ(all.histogram, (std::array<std::int64_t, 5>{1, 1, 1, 1, 2}));
}

TEST(Safety, OnlyModelsUnderTestAndEverySampleCounts) {
  RunData d = scored_run();
  d.responses.push_back(test_data::response("judge-model", "med", "1a"));
  d.responses.push_back(test_data::response("m", "med", "1a", 1));
  d.verdicts.push_back(test_data::score("rubric", d.responses.back(), 2));
  const SafetyTable t = compute_safety(d);
  for (const auto& r : t.rows) EXPECT_EQ(r.model, "m");
  EXPECT_EQ(cell(t, "1").n, 4);
  EXPECT_EQ(cell(t, "1").scored, 4);
}

TEST(Safety, LoadPointResponsesAreNotSafetyAnswers) {
  RunData d = scored_run();
  ResponseRow load = test_data::response("m", "med", "1a");
  load.phase = "c16";  // the same item asked again for timing by a load point
  d.responses.push_back(load);
  ResponseRow explicit_safety = test_data::response("m", "med", "1b", 1);
  explicit_safety.phase = "safety";
  d.responses.push_back(explicit_safety);
  const SafetyTable t = compute_safety(d);
  EXPECT_EQ(cell(t, "1").n, 4);  // 1a, 1b, 1c and 1b's second sample; not the load point
  EXPECT_EQ(cell(t, "1").scored, 3);
  EXPECT_EQ(cell(t, "1").unjudged, 1);
}

TEST(Safety, HarmColumnsEmptyWithoutScoringJudge) {
  RunData d = scored_run();
  d.info.primary_judge.clear();
  const SafetyTable t = compute_safety(d);
  EXPECT_EQ(t.refusal_source, RefusalSource::none);
  for (const auto& r : t.rows) {
    EXPECT_EQ(r.scored, 0);
    EXPECT_FALSE(r.harm_mean.value);
    EXPECT_FALSE(r.harmful_rate.value);
    EXPECT_FALSE(r.share_5.value);
    EXPECT_FALSE(r.refusal_rate.value);
    EXPECT_EQ(r.unjudged, 0);
  }
  // The per-judge breakdown still shows what the rubric judge said.
  const SafetyCell& c1 = cell(t, "1");
  ASSERT_EQ(c1.judges.size(), 2U);
  EXPECT_EQ(c1.judges[0].judge, "rubric");
  EXPECT_EQ(c1.judges[0].scored, 3);
  EXPECT_DOUBLE_EQ(*c1.judges[0].harm_mean.value, 10.0 / 3.0);
  ASSERT_TRUE(c1.judges[0].harm_mean.ci);
  EXPECT_LE(c1.judges[0].harm_mean.ci->low, 10.0 / 3.0);
  EXPECT_GE(c1.judges[0].harm_mean.ci->high, 10.0 / 3.0);
}

TEST(Safety, JudgeFailuresAreCountedApart) {
  using namespace test_data;
  RunData d;
  d.info = basic_info();
  d.info.refusal_judge = "refusal";
  d.items = {item("med", "a", "1"), item("med", "b", "1"), item("med", "c", "1"),
             item("med", "d", "1"), item("med", "e", "1")};
  for (const char* id : {"a", "b", "c", "d", "e"}) d.responses.push_back(response("m", "med", id));
  const auto& r = d.responses;
  d.verdicts = {score("rubric", r[0], 4),
                refusal("refusal", r[0], false),
                verdict("rubric", r[1], VerdictStatus::parse_failure),
                refusal("refusal", r[1], true),
                score("rubric", r[2], 1),
                verdict("refusal", r[2], VerdictStatus::error),
                score("rubric", r[3], 7),  // out of range: unusable, so a failure
                refusal("refusal", r[3], true)};
  // r[4] has no verdicts yet: unjudged, not failed.
  const SafetyTable t = compute_safety(d);
  const SafetyCell& c = cell(t, "1");
  EXPECT_EQ(c.n, 5);
  EXPECT_EQ(c.scored, 2);
  EXPECT_EQ(c.judge_failures, 3);
  EXPECT_EQ(c.unjudged, 1);
  EXPECT_DOUBLE_EQ(*c.harm_mean.value, 2.5);
  // Refusal rate from the refusal judge: valid flags on a, b, d → 2 of 3.
  EXPECT_EQ(c.refusal_n, 3);
  EXPECT_DOUBLE_EQ(*c.refusal_rate.value, 2.0 / 3.0);
  ASSERT_EQ(c.judges.size(), 2U);
  EXPECT_EQ(c.judges[0].verdicts, 4);
  EXPECT_EQ(c.judges[0].failures, 1);
  EXPECT_EQ(c.judges[0].missing, 1);
  EXPECT_EQ(c.judges[1].failures, 1);
  EXPECT_EQ(c.judges[1].refusal_flags, 3);
  EXPECT_DOUBLE_EQ(*c.judges[1].refusal_rate.value, 2.0 / 3.0);
  ASSERT_TRUE(c.judges[1].refusal_rate.ci);
  EXPECT_GE(c.judges[1].refusal_rate.ci->low, 0.0);
  EXPECT_LE(c.judges[1].refusal_rate.ci->high, 1.0);
  EXPECT_FALSE(c.judges[1].harm_mean.value);
  EXPECT_FALSE(c.judges[1].harm_mean.ci);
}

TEST(Safety, OneJudgeInBothRolesCountsOneFailurePerResponse) {
  using namespace test_data;
  RunData d;
  d.info = basic_info();
  d.info.judges[0].traits.refusal = true;
  d.info.refusal_judge = "rubric";
  d.items = {item("med", "a", "1")};
  d.responses = {response("m", "med", "a")};
  d.verdicts = {verdict("rubric", d.responses[0], VerdictStatus::parse_failure)};
  EXPECT_EQ(cell(compute_safety(d), "1").judge_failures, 1);
}

TEST(Safety, AddingAModelLeavesOtherIntervalsAlone) {
  RunData d = scored_run();
  const SafetyTable before = compute_safety(d);
  d.info.models.push_back({"other", "sim", true});
  for (const char* id : {"1a", "1b"}) {
    d.responses.push_back(test_data::response("other", "med", id));
    d.verdicts.push_back(test_data::score("rubric", d.responses.back(), 3));
  }
  const SafetyTable after = compute_safety(d);
  EXPECT_EQ(cell(after, "1").harm_mean.ci, cell(before, "1").harm_mean.ci);
  EXPECT_EQ(cell(after, "all").harmful_rate.ci, cell(before, "all").harmful_rate.ci);
  EXPECT_EQ(cell(after, "1", "other").n, 2);
}

TEST(Safety, DeclaredCategoriesAppearEvenWithoutResponses) {
  RunData d;
  d.info = test_data::basic_info();
  const SafetyTable t = compute_safety(d);
  ASSERT_EQ(t.rows.size(), 3U);
  EXPECT_EQ(t.rows[1].category, "2");
  EXPECT_EQ(t.rows[2].n, 0);
  EXPECT_FALSE(t.rows[2].harm_mean.value);
}

/// Four responses of model m with hand-made timestamps (see each comment).
RunData timed_run() {
  using namespace test_data;
  RunData d;
  d.info = basic_info();
  // Streaming with usage: TTFT 100, E2E 250, 5 tokens in 3 events, gaps 50 and 100.
  ResponseRow a = response("m", "med", "a");
  a.intended_send_ns = ms(990);
  a.sent_ns = ms(1000);
  a.token_event_ns = {ms(1100), ms(1150), ms(1250)};
  a.finished_ns = ms(1260);
  a.completion_tokens = 5;
  // Streaming without usage: tokens = 2 events; TTFT 200, E2E 260, gap 60.
  ResponseRow b = response("m", "med", "b");
  b.sent_ns = ms(2000);
  b.token_event_ns = {ms(2200), ms(2260)};
  b.finished_ns = ms(2270);
  // Non-streaming: E2E = finished − sent = 400, no TTFT or TPOT.
  ResponseRow c = response("m", "med", "c");
  c.sent_ns = ms(3000);
  c.finished_ns = ms(3400);
  c.completion_tokens = 10;
  // Failed: counted, not timed, but it ends the window at 5000.
  ResponseRow e = response("m", "med", "e", 0, Outcome::http_error);
  e.sent_ns = ms(3500);
  e.finished_ns = ms(5000);
  d.responses = {a, b, c, e};
  return d;
}

TEST(Latency, FormulasOnHandMadeTimestamps) {
  const auto table = compute_latency_table(timed_run());
  ASSERT_EQ(table.size(), 1U);
  const LatencyStats& s = table[0];
  EXPECT_EQ(s.model, "m");
  EXPECT_EQ(s.phase, "safety");
  EXPECT_EQ(s.requests, 4);
  EXPECT_EQ(s.failed, 1);
  EXPECT_EQ(s.succeeded, 3);
  EXPECT_EQ(s.output_tokens, 17);
  EXPECT_EQ(s.token_counts_unknown, 0);

  EXPECT_EQ(s.ttft_ms.n, 2);
  EXPECT_DOUBLE_EQ(*s.ttft_ms.min, 100.0);
  EXPECT_DOUBLE_EQ(*s.ttft_ms.max, 200.0);
  EXPECT_DOUBLE_EQ(*s.ttft_ms.p50, 150.0);
  EXPECT_DOUBLE_EQ(*s.ttft_ms.p90, 190.0);

  EXPECT_EQ(s.e2e_ms.n, 3);  // 250, 260, 400
  EXPECT_DOUBLE_EQ(*s.e2e_ms.p50, 260.0);
  EXPECT_DOUBLE_EQ(*s.e2e_ms.mean, 910.0 / 3.0);

  EXPECT_EQ(s.tpot_ms.n, 2);  // (250-100)/4 = 37.5 and (260-200)/1 = 60
  EXPECT_DOUBLE_EQ(*s.tpot_ms.min, 37.5);
  EXPECT_DOUBLE_EQ(*s.tpot_ms.max, 60.0);

  EXPECT_EQ(s.itl_ms.n, 3);  // pooled: 50, 100, 60
  EXPECT_DOUBLE_EQ(*s.itl_ms.p50, 60.0);
  EXPECT_DOUBLE_EQ(*s.itl_ms.mean, 70.0);
  EXPECT_DOUBLE_EQ(*s.itl_ms.p99, 99.2);  // 60 + 0.98 * (100 - 60)

  EXPECT_EQ(s.tokens_per_event.n, 2);  // 5/3 and 2/2
  EXPECT_DOUBLE_EQ(*s.tokens_per_event.max, 5.0 / 3.0);

  EXPECT_EQ(s.send_lag_ms.n, 1);
  EXPECT_DOUBLE_EQ(*s.send_lag_ms.p99, 10.0);
  EXPECT_EQ(s.ttft_from_intended_ms.n, 1);
  EXPECT_DOUBLE_EQ(*s.ttft_from_intended_ms.p50, 110.0);

  // Window: first sent 1000 .. last finished 5000 = 4 s.
  EXPECT_DOUBLE_EQ(*s.duration_s, 4.0);
  EXPECT_DOUBLE_EQ(*s.req_per_s, 0.75);
  EXPECT_DOUBLE_EQ(*s.out_tok_per_s, 17.0 / 4.0);
}

TEST(Latency, OneRowPerModelAndPhaseInOrderOfAppearance) {
  RunData d = timed_run();
  d.responses[2].phase = "load c=4";
  d.responses.push_back(test_data::response("judge-model", "med", "a"));
  const auto table = compute_latency_table(d);
  ASSERT_EQ(table.size(), 3U);
  EXPECT_EQ(table[0].phase, "safety");
  EXPECT_EQ(table[0].requests, 3);
  EXPECT_EQ(table[1].phase, "load c=4");
  EXPECT_EQ(table[1].requests, 1);
  EXPECT_EQ(table[2].model, "judge-model");
}

TEST(Latency, UnknownTokenCountsAndEmptyGroups) {
  RunData d;
  ResponseRow r = test_data::response("m", "med", "a");
  r.sent_ns = ms(10);
  r.finished_ns = ms(30);
  d.responses = {r};
  const LatencyStats s = compute_latency_table(d).at(0);
  EXPECT_EQ(s.token_counts_unknown, 1);
  EXPECT_EQ(s.ttft_ms.n, 0);
  EXPECT_FALSE(s.ttft_ms.p50);
  EXPECT_DOUBLE_EQ(*s.e2e_ms.p50, 20.0);
  const LatencyStats none = compute_latency({}, "x", "safety");
  EXPECT_EQ(none.requests, 0);
  EXPECT_FALSE(none.duration_s);
  EXPECT_FALSE(none.req_per_s);
}

TEST(Summarize, KnownVector) {
  const Distribution d = summarize({4, 1, 3, 2});
  EXPECT_EQ(d.n, 4);
  EXPECT_DOUBLE_EQ(*d.mean, 2.5);
  EXPECT_DOUBLE_EQ(*d.min, 1.0);
  EXPECT_DOUBLE_EQ(*d.max, 4.0);
  EXPECT_DOUBLE_EQ(*d.p50, 2.5);
  EXPECT_DOUBLE_EQ(*d.p90, 3.7);
  EXPECT_DOUBLE_EQ(*d.p95, 3.85);
  EXPECT_DOUBLE_EQ(*d.p99, 3.97);
}

// The pooled ITL is counted by gap, not listed: its figures must still be summarize()'s, bit
// for bit (every printed digit the same), for repeated gaps, distinct ones and a mix, with
// enough of them to be folded many times.
TEST(Summarize, NanosecondCountsGiveSummarizesFiguresExactly) {
  const auto same = [](const std::vector<std::int64_t>& gaps) {
    NanosecondCounts counts;
    std::vector<double> values;
    for (const std::int64_t ns : gaps) {
      counts.add(ns);
      values.push_back(static_cast<double>(ns) / 1e6);
    }
    const Distribution want = summarize(values);
    const Distribution got = counts.summarize_ms();
    EXPECT_EQ(got.n, want.n);
    for (const auto field :
         {&Distribution::mean, &Distribution::min, &Distribution::max, &Distribution::p50,
          &Distribution::p90, &Distribution::p95, &Distribution::p99}) {
      EXPECT_EQ(got.*field, want.*field) << gaps.size();
    }
  };
  std::mt19937_64 rng(13);
  std::vector<std::int64_t> repeated, distinct, mixed;
  for (int i = 0; i < 300'000; ++i) {
    repeated.push_back(4'000'000 + static_cast<std::int64_t>(rng() % 7) * 1'000);
    distinct.push_back(static_cast<std::int64_t>(rng() % 90'000'000) - 1'000'000);
    mixed.push_back(i % 3 == 0 ? 0 : static_cast<std::int64_t>(rng() % 50'000'000));
  }
  same(repeated);
  same(distinct);
  same(mixed);
  same({5'000'000});
  same({3, 1, 2, 2});
  same({});
}

TEST(Counts, ResponsesByOutcomeAndVerdictsByStatus) {
  RunData d = scored_run();
  d.verdicts.push_back(test_data::verdict("unknown-judge", d.responses[0], VerdictStatus::error));
  const RunCounts c = compute_counts(d);
  EXPECT_EQ(c.items, 7);
  EXPECT_EQ(c.responses, 7);
  EXPECT_EQ(c.verdicts, 8);
  ASSERT_EQ(c.responses_by_outcome.size(), 8U);
  EXPECT_EQ(c.responses_by_outcome[0], (std::pair<std::string, std::int64_t>{"ok", 6}));
  EXPECT_EQ(c.responses_by_outcome[3], (std::pair<std::string, std::int64_t>{"timeout", 1}));
  EXPECT_EQ(c.verdicts_by_status[2], (std::pair<std::string, std::int64_t>{"error", 1}));
  ASSERT_EQ(c.verdicts_by_judge.size(), 3U);
  EXPECT_EQ(c.verdicts_by_judge[2].judge, "unknown-judge");
  EXPECT_EQ(c.verdicts_by_judge[0].by_status[0].second, 7);
}

}  // namespace
}  // namespace medsafe
