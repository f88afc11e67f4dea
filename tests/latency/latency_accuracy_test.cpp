// The acceptance test for timing: against a simulated server with TTFT 200 ms and 20 ms
// between events, at concurrency 1, 16 and 128, the TTFT and ITL medians medsafe measures are
// within 5 ms of the server's own record, once a warm-up round has opened the connections.
// Request counts are bounded (about 6 s in all).
#include <gtest/gtest.h>

#include <iostream>

#include "latency_accuracy.hpp"

namespace medsafe::latency_test {
namespace {

constexpr double kBoundMs = 5.0;

class LatencyAccuracy : public ::testing::TestWithParam<int> {};

TEST_P(LatencyAccuracy, MediansMatchTheServersRecord) {
  AccuracySetup setup;
  setup.concurrency = GetParam();
  setup.requests = setup.concurrency == 1 ? 10 : 2 * setup.concurrency;
  setup.warmup = setup.concurrency;  // opens the connections, as a load point's warm-up does
  const AccuracyFigures f = measure_accuracy(setup);
  std::cout << f.describe() << "\n";
  RecordProperty("ttft_median_error_ms", std::to_string(f.ttft_median_error_ms()));
  RecordProperty("itl_median_error_ms", std::to_string(f.itl_median_error_ms()));

  EXPECT_EQ(f.failed, 0);
  EXPECT_EQ(f.succeeded, setup.requests);
  EXPECT_EQ(f.unmatched, 0) << "every answer has its server log line with as many events";
  ASSERT_TRUE(f.server_ttft_ms.p50 && f.client_ttft_ms.p50 && f.server_itl_ms.p50 &&
              f.client_itl_ms.p50);
  // The server keeps its own schedule (a sanity check of the set-up, generously bounded).
  EXPECT_NEAR(*f.server_ttft_ms.p50, setup.ttft_ms, 50);
  EXPECT_NEAR(*f.server_itl_ms.p50, setup.itl_ms, 10);
  EXPECT_LT(std::abs(f.ttft_median_error_ms()), kBoundMs) << f.describe();
  EXPECT_LT(std::abs(f.itl_median_error_ms()), kBoundMs) << f.describe();
  // A client stamp can never precede the server's write of the same event.
  ASSERT_TRUE(f.event_delay_ms.min);
  EXPECT_GE(*f.event_delay_ms.min, 0.0) << f.describe();
  // Nor can the server's arrival stamp precede the client's send: its kernel stamp, moved to
  // the steady clock, must not flatter the TTFT error by starting the server's record early.
  ASSERT_TRUE(f.arrival_delay_ms.min);
  EXPECT_GE(*f.arrival_delay_ms.min, 0.0) << f.describe();
}

INSTANTIATE_TEST_SUITE_P(Concurrency, LatencyAccuracy, ::testing::Values(1, 16, 128),
                         [](const auto& param_info) {
                           return "c" + std::to_string(param_info.param);
                         });

}  // namespace
}  // namespace medsafe::latency_test
