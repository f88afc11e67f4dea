#include "report/endpoint_stats.hpp"

#include <gtest/gtest.h>

#include <string>

#include "report/report_csv.hpp"

namespace medsafe {
namespace {

// An answer of model m whose sends went to `trail` (replica, outcome), the last one answering.
ResponseRow answer(const std::string& id, std::vector<EndpointAttempt> trail, std::int64_t e2e_ms) {
  ResponseRow r;
  r.model = "m";
  r.suite = "s";
  r.item_id = id;
  r.phase = "safety";
  r.outcome = trail.back().outcome;
  r.attempts = static_cast<int>(trail.size());
  r.sent_ns = 1'000'000'000;
  r.finished_ns = r.sent_ns + e2e_ms * 1'000'000;
  r.completion_tokens = 5;
  r.endpoints = std::move(trail);
  return r;
}

TEST(EndpointStats, EachReplicaCountsItsSendsItsFailuresAndTheAnswersItServed) {
  RunData data;
  data.info.models = {{"m", "openai", true}, {"single", "openai", true}};
  data.responses.push_back(answer("a", {{"http://a", Outcome::ok, 200}}, 10));
  data.responses.push_back(
      answer("b", {{"http://a", Outcome::transport_error, 0}, {"http://b", Outcome::ok, 200}}, 30));
  data.responses.push_back(
      answer("c", {{"http://a", Outcome::http_error, 503}, {"http://b", Outcome::ok, 200}}, 50));
  ResponseRow plain = answer("d", {{"", Outcome::ok, 200}}, 5);
  plain.model = "single";
  plain.endpoints.clear();  // a model with one endpoint records none
  data.responses.push_back(plain);

  const std::vector<LatencyStats> table = compute_endpoint_table(data);
  ASSERT_EQ(table.size(), 2U);
  EXPECT_EQ(table[0].endpoint, "http://a");
  EXPECT_EQ(table[0].mode, "endpoint");
  EXPECT_EQ(table[0].phase, "safety");
  EXPECT_EQ(table[0].requests, 3);  // one answered there, two failed there and went on
  EXPECT_EQ(table[0].failed, 2);
  EXPECT_EQ(table[0].e2e_ms.n, 1);
  EXPECT_EQ(table[1].endpoint, "http://b");
  EXPECT_EQ(table[1].requests, 2);
  EXPECT_EQ(table[1].failed, 0);
  ASSERT_TRUE(table[1].e2e_ms.p50);
  EXPECT_DOUBLE_EQ(*table[1].e2e_ms.p50, 40.0);
  // latency.csv gives them after the model rows, the replica in its last column.
  const std::string csv = latency_csv(table);
  EXPECT_NE(csv.find("m,endpoint,,3,2,"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",safety,,http://b\n"), std::string::npos) << csv;
}

}  // namespace
}  // namespace medsafe
