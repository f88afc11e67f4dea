// Throughput of a resumed run: each session's window counts, the downtime between sessions
// does not (and steady-clock stamps of two invocations are never subtracted from each other).
#include <gtest/gtest.h>

#include "report/metrics.hpp"
#include "report_test_data.hpp"

namespace medsafe {
namespace {

using namespace test_data;

// `n` answers of 100 ms each, one after the other, from `start_ms`, in `session`.
void add_answers(RunData& d, int n, std::int64_t start_ms, std::int64_t session) {
  for (int i = 0; i < n; ++i) {
    ResponseRow r = response("m", "med", "i" + std::to_string(d.responses.size()));
    r.session = session;
    r.sent_ns = ms(start_ms + 100 * i);
    r.token_event_ns = {ms(start_ms + 100 * i + 50), ms(start_ms + 100 * i + 100)};
    r.finished_ns = ms(start_ms + 100 * (i + 1));
    r.completion_tokens = 2;
    d.responses.push_back(r);
  }
}

TEST(LatencySessions, TheTimeBetweenSessionsIsNoPartOfTheWindow) {
  RunData one;
  one.info = basic_info();
  add_answers(one, 20, 1000, 1);
  RunData resumed;
  resumed.info = basic_info();
  add_answers(resumed, 10, 1000, 1);
  add_answers(resumed, 10, 600'000, 2);  // ten minutes later
  const LatencyStats a = compute_latency_table(one).at(0);
  const LatencyStats b = compute_latency_table(resumed).at(0);
  EXPECT_DOUBLE_EQ(*a.duration_s, 2.0);
  EXPECT_EQ(a.sessions, 1);
  EXPECT_DOUBLE_EQ(*b.duration_s, 2.0);
  EXPECT_EQ(b.sessions, 2);
  EXPECT_DOUBLE_EQ(*b.req_per_s, *a.req_per_s);
  EXPECT_DOUBLE_EQ(*b.out_tok_per_s, 20.0);
}

TEST(LatencySessions, AStoreFromAnotherBootNeverGivesANegativeOrHugeWindow) {
  RunData d;
  d.info = basic_info();
  add_answers(d, 5, 900'000, 1);
  add_answers(d, 5, 1000, 2);  // the machine rebooted: the steady clock started again
  const LatencyStats s = compute_latency_table(d).at(0);
  EXPECT_DOUBLE_EQ(*s.duration_s, 1.0);
  EXPECT_DOUBLE_EQ(*s.req_per_s, 10.0);
}

}  // namespace
}  // namespace medsafe
