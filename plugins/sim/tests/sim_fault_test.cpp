// Fault injection: the settings, the seeded draw, and the faults as the in-process backend shows
// them (the HTTP faults are in sim_server_fault_test.cpp).
#include <gtest/gtest.h>

#include <array>
#include <string>

#include "sim_backend.hpp"
#include "sim_faults.hpp"
#include "sim_test_support.hpp"

namespace {

using medsafe::Outcome;
using medsafe::Response;
using medsafe::sim::AttemptCounter;
using medsafe::sim::FaultKind;
using medsafe::sim::FaultSettings;
using medsafe::sim::kFaultKindCount;
using medsafe::sim::SimBackend;
using sim_test::Collector;
using sim_test::numbered;
using sim_test::request;
using sim_test::settings;

FaultKind kind(std::size_t index) { return static_cast<FaultKind>(index); }

TEST(SimFaults, AreOffByDefault) {
  const FaultSettings faults = settings("").faults;
  EXPECT_FALSE(faults.enabled());
  for (std::size_t i = 0; i < kFaultKindCount; ++i) EXPECT_EQ(faults.rates[i], 0.0);
  EXPECT_EQ(faults.retry_after_s, 1.0);
  EXPECT_EQ(faults.fault_after_events, 1);
  EXPECT_EQ(faults.stall_ms, 5000.0);
  EXPECT_EQ(faults.drip_ms, 1000.0);
  EXPECT_EQ(faults.draw(0, "any", 1), FaultKind::none);
}

TEST(SimFaults, ReadsEveryKeyOfTheManifest) {
  const FaultSettings faults = settings(R"(
fault_429_rate = 0.1
fault_500_rate = 0.05
fault_503_rate = 0.04
fault_reset_rate = 0.03
fault_reset_mid_stream_rate = 0.02
fault_stall_rate = 0.01
fault_malformed_rate = 0.06
fault_error_event_rate = 0.07
fault_slow_drip_rate = 0.08
retry_after_s = 0.25
fault_after_events = 3
stall_ms = 700
drip_ms = 90
)")
                                   .faults;
  const std::array<double, kFaultKindCount> expected = {0,    0.1,  0.05, 0.04, 0.03,
                                                        0.02, 0.01, 0.06, 0.07, 0.08};
  for (std::size_t i = 0; i < kFaultKindCount; ++i) {
    EXPECT_EQ(faults.rates[i], expected[i]) << to_string(kind(i));
  }
  EXPECT_TRUE(faults.enabled());
  EXPECT_EQ(faults.retry_after_s, 0.25);
  EXPECT_EQ(faults.fault_after_events, 3);
  EXPECT_EQ(faults.stall_ms, 700.0);
  EXPECT_EQ(faults.drip_ms, 90.0);
}

TEST(SimFaults, RejectsRatesOutOfRangeOrAddingUpToMoreThanOne) {
  try {
    (void)settings("fault_429_rate = 0.6\nfault_500_rate = 0.5");
    FAIL() << "a sum of 1.1 was accepted";
  } catch (const medsafe::Error& e) {
    EXPECT_NE(std::string(e.what()).find("more than 1"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(":1:"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)settings("fault_stall_rate = 1.5"), medsafe::Error);
  EXPECT_THROW((void)settings("fault_after_events = -1"), medsafe::Error);
  EXPECT_THROW((void)settings("stall_ms = -5"), medsafe::Error);
  // Decimal rates that add up to exactly 1 on paper are accepted.
  EXPECT_NO_THROW(
      (void)settings("fault_429_rate = 0.7\nfault_500_rate = 0.2\nfault_503_rate = 0.1"));
}

TEST(SimFaults, NamesEveryKind) {
  EXPECT_EQ(to_string(FaultKind::none), "none");
  EXPECT_EQ(to_string(FaultKind::status_429), "429");
  EXPECT_EQ(to_string(FaultKind::reset_mid_stream), "reset_mid_stream");
  EXPECT_EQ(to_string(FaultKind::slow_drip), "slow_drip");
  EXPECT_FALSE(applies_in_process(FaultKind::reset));
  EXPECT_FALSE(applies_in_process(FaultKind::reset_mid_stream));
  EXPECT_FALSE(applies_in_process(FaultKind::stall));
  EXPECT_TRUE(applies_in_process(FaultKind::status_429));
  EXPECT_TRUE(applies_in_process(FaultKind::error_event));
}

TEST(SimFaults, DrawsAreDeterministicAndFollowTheRates) {
  FaultSettings faults;
  faults.set_rate(FaultKind::status_429, 0.10);
  faults.set_rate(FaultKind::status_500, 0.05);
  faults.set_rate(FaultKind::reset_mid_stream, 0.02);
  faults.set_rate(FaultKind::stall, 0.01);
  std::array<int, kFaultKindCount> counts{};
  constexpr int kRequests = 20000;
  for (int i = 0; i < kRequests; ++i) {
    const std::string id = numbered("model/suite/item-", static_cast<std::size_t>(i)) + "#0";
    const FaultKind first = faults.draw(7, id, 1);
    EXPECT_EQ(faults.draw(7, id, 1), first);
    ++counts[static_cast<std::size_t>(first)];
  }
  for (std::size_t i = 1; i < kFaultKindCount; ++i) {
    const double share = static_cast<double>(counts[i]) / kRequests;
    // About five standard deviations of a binomial share at n = 20000.
    EXPECT_NEAR(share, faults.rates[i], 0.011) << to_string(kind(i));
  }
}

TEST(SimFaults, AttemptsOfOneRequestAreIndependentAndSeedsDiffer) {
  FaultSettings faults;
  faults.set_rate(FaultKind::status_429, 0.5);
  int faulted_first = 0;
  int recovered = 0;
  int seed_differs = 0;
  for (std::size_t i = 0; i < 1000; ++i) {
    const std::string id = numbered("r", i);
    if (faults.draw(1, id, 1) == FaultKind::none) continue;
    ++faulted_first;
    if (faults.draw(1, id, 2) == FaultKind::none) ++recovered;
    if (faults.draw(2, id, 1) == FaultKind::none) ++seed_differs;
  }
  EXPECT_NEAR(faulted_first, 500, 80);
  // Half of the retries of faulted requests succeed: the attempt number is part of the draw.
  EXPECT_NEAR(recovered, faulted_first / 2, 60);
  EXPECT_NEAR(seed_differs, faulted_first / 2, 60);
}

TEST(SimFaults, RetryAfterIsWholeSecondsOrADecimal) {
  FaultSettings faults;
  EXPECT_EQ(faults.retry_after_text(), "1");
  faults.retry_after_s = 0.25;
  EXPECT_EQ(faults.retry_after_text(), "0.25");
  faults.retry_after_s = 1.5;
  EXPECT_EQ(faults.retry_after_text(), "1.5");
  faults.retry_after_s = 0;
  EXPECT_EQ(faults.retry_after_text(), "0");
}

TEST(SimFaults, DripRespacesEventsAfterTheFirst) {
  medsafe::sim::Model model(
      settings("refusal_rate = 0\noutput_tokens = 4\nttft_ms = 10\nitl_ms = 1"));
  const auto messages = sim_test::ask("q");
  medsafe::sim::Answer answer = model.answer({messages, {}, {}, {}, false});
  apply_drip(answer, 50'000'000);
  ASSERT_EQ(answer.event_offsets_ns.size(), 4U);
  EXPECT_EQ(answer.event_offsets_ns[0], 10'000'000);
  EXPECT_EQ(answer.event_offsets_ns[3], 160'000'000);
  EXPECT_EQ(answer.done_offset_ns, 160'000'000);
}

TEST(SimFaults, AttemptCounterCountsPerId) {
  AttemptCounter counter;
  EXPECT_EQ(counter.next("a"), 1);
  EXPECT_EQ(counter.next("a"), 2);
  EXPECT_EQ(counter.next("b"), 1);
  EXPECT_EQ(counter.next("a"), 3);
  counter.clear();
  EXPECT_EQ(counter.next("a"), 1);
}

// ---- the in-process backend ----

TEST(SimBackendFaults, StatusFaultsAnswerAtOnceWithTheirStatus) {
  SimBackend backend(settings(
      "refusal_rate = 0\nttft_ms = 60000\ncapacity = 1\nfault_429_rate = 1\nretry_after_s = 0.5"));
  Collector collector(2);
  // Neither waits for the minute-long generation a normal answer would take: a 429 is decided
  // before generation and takes no capacity slot.
  backend.submit(request("one"), collector.slot(0));
  backend.submit(request("two"), collector.slot(1));
  ASSERT_TRUE(collector.wait());
  for (std::size_t i = 0; i < 2; ++i) {
    const Response& r = collector[i];
    EXPECT_EQ(r.outcome, Outcome::http_error);
    EXPECT_EQ(r.http_status, 429);
    ASSERT_TRUE(r.retry_after_s.has_value());
    EXPECT_EQ(*r.retry_after_s, 0.5);
    EXPECT_TRUE(r.text.empty());
    EXPECT_NE(r.error.find("429"), std::string::npos);
  }
}

TEST(SimBackendFaults, InBandFaultsEndTheAnswerAfterTheirEvents) {
  for (const char* key : {"fault_malformed_rate", "fault_error_event_rate"}) {
    SimBackend backend(settings(std::string("refusal_rate = 0\noutput_tokens = 10\n") + key +
                                " = 1\nfault_after_events = 3"));
    Collector collector(1);
    backend.submit(request("q"), collector.slot(0));
    ASSERT_TRUE(collector.wait());
    const Response& r = collector[0];
    EXPECT_EQ(r.outcome, std::string_view(key) == "fault_malformed_rate" ? Outcome::malformed
                                                                         : Outcome::stream_error)
        << key;
    EXPECT_EQ(r.timing.token_events.size(), 3U) << key;
    EXPECT_EQ(r.text, "[simulated answer] Sure,") << key;
    EXPECT_FALSE(r.error.empty());
  }
}

TEST(SimBackendFaults, ARetryOfTheSameRequestMeetsItsOwnDraw) {
  const auto s = settings("refusal_rate = 0\nseed = 3\nfault_500_rate = 0.5");
  SimBackend backend(s);
  constexpr std::size_t kAttempts = 40;
  Collector collector(kAttempts);
  for (std::size_t i = 0; i < kAttempts; ++i) backend.submit(request("same"), collector.slot(i));
  ASSERT_TRUE(collector.wait());
  int failures = 0;
  for (std::size_t i = 0; i < kAttempts; ++i) {
    const bool faulted = s.faults.draw(3, "m/s/same", static_cast<int>(i) + 1) != FaultKind::none;
    EXPECT_EQ(collector[i].outcome, faulted ? Outcome::http_error : Outcome::ok) << i;
    failures += faulted ? 1 : 0;
  }
  EXPECT_GT(failures, 5);
  EXPECT_LT(failures, 35);
}

TEST(SimBackendFaults, ConnectionFaultsAreIgnoredInProcess) {
  for (const char* key : {"fault_reset_rate", "fault_reset_mid_stream_rate", "fault_stall_rate"}) {
    SimBackend backend(settings(std::string("refusal_rate = 0\n") + key + " = 1"));
    Collector collector(1);
    backend.submit(request("q"), collector.slot(0));
    ASSERT_TRUE(collector.wait());
    EXPECT_EQ(collector[0].outcome, Outcome::ok) << key;
  }
}

TEST(SimBackendFaults, SlowDripSpacesTheEvents) {
  SimBackend backend(settings(
      "refusal_rate = 0\noutput_tokens = 3\nitl_ms = 0\nfault_slow_drip_rate = 1\ndrip_ms = 40"));
  Collector collector(1);
  backend.submit(request("q"), collector.slot(0));
  ASSERT_TRUE(collector.wait());
  const Response& r = collector[0];
  EXPECT_EQ(r.outcome, Outcome::ok);
  ASSERT_EQ(r.timing.token_events.size(), 3U);
  // Simulated stamps: exact, whatever the machine's load.
  EXPECT_EQ(r.timing.token_events[2] - r.timing.token_events[0], std::chrono::milliseconds(80));
}

}  // namespace
