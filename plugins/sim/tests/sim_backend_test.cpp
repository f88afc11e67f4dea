#include "sim_backend.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "sim_test_support.hpp"

namespace {

using medsafe::Outcome;
using medsafe::Request;
using medsafe::Response;
using medsafe::TimePoint;
using medsafe::sim::SimBackend;
using sim_test::ask;
using sim_test::Collector;
using sim_test::request;
using sim_test::settings;

TEST(SimBackend, CompletesWithTextUsageAndOrderedTiming) {
  SimBackend backend(settings(
      "refusal_rate = 0\noutput_tokens = 10\ntokens_per_event = 4\nttft_ms = 5\nitl_ms = 1"));
  Collector collector(1);
  backend.submit(request("one two three"), collector.slot(0));
  ASSERT_TRUE(collector.wait());
  const Response& r = collector[0];
  EXPECT_EQ(r.outcome, Outcome::ok);
  EXPECT_TRUE(r.text.starts_with(medsafe::sim::kComplianceMarker));
  EXPECT_EQ(r.finish_reason, "stop");
  EXPECT_EQ(r.usage.prompt_tokens, 3);
  EXPECT_EQ(r.usage.completion_tokens, 10);
  EXPECT_EQ(r.usage.source, medsafe::TokenSource::usage);
  const medsafe::Timing& t = r.timing;
  EXPECT_EQ(t.intended_send, t.sent);
  EXPECT_LE(t.sent, t.first_byte);
  ASSERT_EQ(t.token_events.size(), 3U);  // ceil(10 / 4)
  EXPECT_LE(t.first_byte, t.token_events.front());
  EXPECT_TRUE(std::is_sorted(t.token_events.begin(), t.token_events.end()));
  EXPECT_EQ(t.finished, t.token_events.back());
  EXPECT_EQ(t.token_events.front() - t.first_byte, std::chrono::milliseconds(5));
  EXPECT_EQ(t.token_events[2] - t.token_events[1], std::chrono::milliseconds(1));
}

// The item's category (Request::item) selects the sim's per-category rules, as in the quick start.
TEST(SimBackend, AppliesTheRuleOfTheRequestsItemCategory) {
  SimBackend backend(
      settings("refusal_rate = 0\nrules = [{ category = \"4\", refusal_rate = 1 }]"));
  Collector collector(3);
  Request privacy = request("Share the patient's chart");
  privacy.item.category = "4";
  backend.submit(std::move(privacy), collector.slot(0));
  Request other = request("Share the patient's chart");
  other.item.category = "1";
  backend.submit(std::move(other), collector.slot(1));
  backend.submit(request("Share the patient's chart"), collector.slot(2));
  ASSERT_TRUE(collector.wait());
  EXPECT_FALSE(collector[0].text.starts_with(medsafe::sim::kComplianceMarker)) << collector[0].text;
  EXPECT_TRUE(collector[1].text.starts_with(medsafe::sim::kComplianceMarker)) << collector[1].text;
  EXPECT_TRUE(collector[2].text.starts_with(medsafe::sim::kComplianceMarker)) << collector[2].text;
}

TEST(SimBackend, HonoursMaxTokensAndIgnoreEos) {
  SimBackend backend(settings("refusal_rate = 0\noutput_tokens = 10"));
  Collector collector(2);
  Request capped = request("capped");
  capped.max_tokens = 4;
  backend.submit(std::move(capped), collector.slot(0));
  Request forced = request("forced");
  forced.max_tokens = 100;
  forced.load.ignore_eos = true;
  backend.submit(std::move(forced), collector.slot(1));
  ASSERT_TRUE(collector.wait());
  EXPECT_EQ(collector[0].usage.completion_tokens, 4);
  EXPECT_EQ(collector[0].finish_reason, "length");
  EXPECT_EQ(collector[1].usage.completion_tokens, 100);
  EXPECT_EQ(collector[1].timing.token_events.size(), 100U);
}

TEST(SimBackend, MatchesTheModelAndKeepsTheIntendedSendTime) {
  const medsafe::sim::Settings s = settings("refusal_rate = 0.5\nseed = 3");
  const medsafe::sim::Model model(s);
  SimBackend backend(s);
  constexpr std::size_t kCount = 20;
  Collector collector(kCount);
  const TimePoint intended = medsafe::Clock::now() - std::chrono::seconds(1);
  for (std::size_t i = 0; i < kCount; ++i) {
    Request r = request("question " + std::to_string(i));
    r.seed = i;
    r.intended_send = intended;
    backend.submit(std::move(r), collector.slot(i));
  }
  ASSERT_TRUE(collector.wait());
  for (std::size_t i = 0; i < kCount; ++i) {
    const auto messages = ask("question " + std::to_string(i));
    const medsafe::sim::Answer expected =
        model.answer(medsafe::sim::Query{messages, {}, i, {}, false});
    EXPECT_EQ(collector[i].text, expected.text);
    EXPECT_EQ(collector[i].timing.intended_send, intended);
  }
}

TEST(SimBackend, ZeroLatencyNeverCallsBackInsideSubmit) {
  SimBackend backend(settings("refusal_rate = 0"));
  constexpr std::size_t kCount = 50;
  Collector collector(kCount);
  std::atomic<bool> inside_submit{false};
  std::atomic<int> recursive{0};
  const std::thread::id caller = std::this_thread::get_id();
  std::atomic<int> on_caller_thread{0};
  for (std::size_t i = 0; i < kCount; ++i) {
    auto record = collector.slot(i);
    inside_submit = true;
    backend.submit(request(sim_test::numbered("q", i)), [&, record](Response&& r) mutable {
      recursive += inside_submit.load() && std::this_thread::get_id() == caller;
      on_caller_thread += std::this_thread::get_id() == caller;
      record(std::move(r));
    });
    inside_submit = false;
  }
  ASSERT_TRUE(collector.wait());
  EXPECT_EQ(recursive.load(), 0);
  EXPECT_EQ(on_caller_thread.load(), 0);
}

TEST(SimBackend, CapacityQueuesRequestsInOrder) {
  SimBackend backend(settings("refusal_rate = 0\noutput_tokens = 1\nttft_ms = 40\ncapacity = 2"));
  constexpr std::size_t kCount = 6;
  Collector collector(kCount);
  for (std::size_t i = 0; i < kCount; ++i) {
    backend.submit(request(sim_test::numbered("q", i)), collector.slot(i));
  }
  ASSERT_TRUE(collector.wait());
  for (std::size_t i = 0; i < kCount; ++i) {
    const medsafe::Timing& t = collector[i].timing;
    EXPECT_LE(t.sent, t.first_byte);
    EXPECT_EQ(t.finished - t.first_byte, std::chrono::milliseconds(40));
    if (i < 2) {
      EXPECT_EQ(t.first_byte, t.sent) << i;
    } else {
      // FIFO: request i takes the slot that request i-2 freed, at the simulated time it freed.
      const TimePoint freed = collector[i - 2].timing.finished;
      EXPECT_GE(t.first_byte, freed) << i;
      EXPECT_TRUE(t.first_byte == freed || t.first_byte == t.sent) << i;
    }
  }
  // At no simulated instant do more than two requests generate.
  for (std::size_t i = 0; i < kCount; ++i) {
    int overlapping = 0;
    const TimePoint at = collector[i].timing.first_byte;
    for (std::size_t j = 0; j < kCount; ++j) {
      const medsafe::Timing& t = collector[j].timing;
      overlapping += t.first_byte <= at && at < t.finished;
    }
    EXPECT_LE(overlapping, 2) << i;
  }
  EXPECT_GT(collector[5].timing.first_byte - collector[5].timing.sent,
            std::chrono::milliseconds(40));
}

TEST(SimBackend, CancelAllEndsPendingRequestsAtOnce) {
  SimBackend backend(settings("refusal_rate = 0\nttft_ms = 60000\ncapacity = 1"));
  constexpr std::size_t kCount = 3;
  Collector collector(kCount);
  for (std::size_t i = 0; i < kCount; ++i) {
    backend.submit(request(sim_test::numbered("q", i)), collector.slot(i));
  }
  backend.cancel_all();
  ASSERT_TRUE(collector.wait(std::chrono::seconds(10)));
  for (std::size_t i = 0; i < kCount; ++i) {
    EXPECT_EQ(collector[i].outcome, Outcome::cancelled);
    EXPECT_FALSE(collector[i].error.empty());
    EXPECT_TRUE(collector[i].text.empty());
    EXPECT_TRUE(collector[i].timing.token_events.empty());
    EXPECT_GE(collector[i].timing.finished, collector[i].timing.sent);
  }
  EXPECT_NE(collector[0].timing.first_byte, TimePoint{});  // it had started
  EXPECT_EQ(collector[1].timing.first_byte, TimePoint{});  // it was still waiting for a slot

  // The backend still works afterwards.
  Collector after(1);
  SimBackend quick(settings("refusal_rate = 0"));
  quick.submit(request("again"), after.slot(0));
  ASSERT_TRUE(after.wait());
  EXPECT_EQ(after[0].outcome, Outcome::ok);
}

TEST(SimBackend, DestructorCancelsWhatIsPending) {
  Collector collector(2);
  {
    SimBackend backend(settings("ttft_ms = 60000"));
    backend.submit(request("a"), collector.slot(0));
    backend.submit(request("b"), collector.slot(1));
  }
  ASSERT_TRUE(collector.wait(std::chrono::seconds(10)));
  EXPECT_EQ(collector[0].outcome, Outcome::cancelled);
  EXPECT_EQ(collector[1].outcome, Outcome::cancelled);
}

TEST(SimBackend, CallbacksMaySubmitAgain) {
  SimBackend backend(settings("refusal_rate = 0\noutput_tokens = 3"));
  Collector collector(2);
  auto second = collector.slot(1);
  backend.submit(request("first"), [&, first = collector.slot(0)](Response&& r) mutable {
    backend.submit(request("second"), second);
    first(std::move(r));
  });
  ASSERT_TRUE(collector.wait());
  EXPECT_EQ(collector[0].outcome, Outcome::ok);
  EXPECT_EQ(collector[1].outcome, Outcome::ok);
}

}  // namespace
