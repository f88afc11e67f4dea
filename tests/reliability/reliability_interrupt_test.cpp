// Interruptions of a 900-prompt run: SIGKILL at ten seeded moments with a resume after each
// (nothing answered is asked again, nothing is lost or duplicated), and SIGINT (exit 130
// within the grace period, a consistent store that a rerun completes).
#include <signal.h>

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "medsafe/clock.hpp"
#include "reliability_support.hpp"

namespace medsafe::reliability {
namespace {

using sim::FaultKind;
using sim::LogEntry;
using ReliabilitySlow = ReliabilityFixture;

constexpr std::size_t kItems = 900;

std::int64_t now_ns() { return to_ns(Clock::now()); }

// Waits until the server has received more than `before` requests (the run is under way).
bool wait_for_requests(const sim::SimServer& server, std::uint64_t before, Child& child) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (server.stats().requests_total <= before) {
    if (!child.running() || std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

std::set<std::string> answered_ids(const fs::path& run_dir) {
  std::set<std::string> ids;
  for (const StoredResponse& row : stored_responses(run_dir)) {
    if (row.outcome == "ok") ids.insert(row.request_id);
  }
  return ids;
}

TEST_F(ReliabilitySlow, SigkillAtTenMomentsThenResumeAsksNothingTwice) {
  // About 100 ms an answer and 8 at once: the whole run takes ~11 s of answering, more than the
  // ten short lives below can do, so every kill lands mid-run.
  auto server = start_sim_server("seed = 2\nttft_ms = 30\nitl_ms = 3\noutput_tokens = 24");
  RunFileSpec spec(data());
  spec.model_keys = "concurrency = 8";
  write_file(scratch() / "run.toml", run_file(spec));
  const fs::path out = scratch() / "out";
  const std::vector<std::string> args = {"run", (scratch() / "run.toml").string(), "--out",
                                         out.string()};
  const Environment env = run_environment(server->port());

  struct Kill {
    std::int64_t at_ns = 0;          ///< after the killed process was reaped
    std::set<std::string> answered;  ///< what its store held then
  };
  std::vector<Kill> kills;
  std::mt19937_64 random(20261128);
  std::uniform_int_distribution<int> delay_ms(0, 600);
  for (int k = 0; k < 10; ++k) {
    SCOPED_TRACE("kill " + std::to_string(k + 1));
    const std::uint64_t before = server->stats().requests_total;
    Child child(medsafe_argv(args), env, scratch());
    ASSERT_TRUE(wait_for_requests(*server, before, child)) << "the run sent nothing";
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(random)));
    child.signal(SIGKILL);
    const ChildResult killed = child.wait(std::chrono::seconds(30));
    ASSERT_EQ(killed.signal, SIGKILL) << "it ended before the kill: " << killed.err;
    Kill kill;
    kill.at_ns = now_ns();
    ASSERT_EQ(integrity_check(out), "ok");
    kill.answered = answered_ids(out);
    if (!kills.empty()) {
      // Nothing stored is ever lost.
      for (const std::string& id : kills.back().answered) EXPECT_EQ(kill.answered.count(id), 1U);
    }
    kills.push_back(std::move(kill));
  }
  ASSERT_LT(kills.back().answered.size(), kItems) << "the kills came after the end";

  const ChildResult last = run_medsafe(args, env, scratch());
  ASSERT_EQ(last.exit_code, 0) << last.err;
  ASSERT_TRUE(wait_until_idle(*server));

  const std::vector<StoredResponse> stored = stored_responses(out);
  std::set<std::string> ids;
  for (const StoredResponse& row : stored) {
    EXPECT_EQ(row.outcome, "ok") << row.request_id;
    ids.insert(row.request_id);
  }
  EXPECT_EQ(stored.size(), kItems);
  EXPECT_EQ(ids.size(), kItems) << "an item was stored twice";
  EXPECT_EQ(query(out, "SELECT count(*) FROM verdicts").at(0).at(0), std::to_string(kItems));

  // No item was asked again after the store held its answer: every request for an item that a
  // kill found answered arrived before that kill.
  const auto by_id = log_by_id(server->log());
  std::size_t checked = 0;
  for (const Kill& kill : kills) {
    for (const std::string& id : kill.answered) {
      const auto found = by_id.find(id);
      ASSERT_NE(found, by_id.end()) << id << " is stored but the server never saw it";
      for (const LogEntry& entry : found->second) {
        EXPECT_LT(entry.received_ns, kill.at_ns) << id << " was asked again after it was stored";
      }
      ++checked;
    }
  }
  EXPECT_GT(checked, 0U);
  // And the server saw every item, none of them more often than the kills can explain.
  EXPECT_EQ(by_id.size(), kItems);
  for (const auto& [id, entries] : by_id) EXPECT_LE(entries.size(), 11U) << id;
}

TEST_F(ReliabilitySlow, SigintExitsWithinTheGracePeriodAndTheStoreIsConsistent) {
  // One answer in 25 drips for over a minute: those are still in flight when the grace period
  // ends, so they are cancelled; the others finish in it.
  auto server = start_sim_server(
      "seed = 3\nttft_ms = 20\nitl_ms = 2\noutput_tokens = 24\nfault_slow_drip_rate = 0.04\n"
      "drip_ms = 3000");
  RunFileSpec spec(data());
  spec.model_keys = "concurrency = 16";
  write_file(scratch() / "run.toml", run_file(spec));
  const fs::path out = scratch() / "out";
  const std::vector<std::string> args = {"run", (scratch() / "run.toml").string(), "--out",
                                         out.string()};
  Child child(medsafe_argv(args), run_environment(server->port()), scratch());
  ASSERT_TRUE(wait_for_requests(*server, 100, child));
  child.signal(SIGINT);
  const std::int64_t interrupted_ns = now_ns();
  const ChildResult run = child.wait(std::chrono::seconds(60));
  const double seconds = static_cast<double>(now_ns() - interrupted_ns) / 1e9;
  ASSERT_FALSE(run.timed_out);
  EXPECT_EQ(run.exit_code, 130) << run.err;
  // The runner's grace period is 5 s; reports are written after it.
  EXPECT_LT(seconds, 20.0) << "it took " << seconds << " s to stop";
  EXPECT_NE(run.err.find("to resume"), std::string::npos) << run.err;
  ASSERT_TRUE(wait_until_idle(*server));

  EXPECT_EQ(integrity_check(out), "ok");
  const std::vector<StoredResponse> stored = stored_responses(out);
  const auto by_id = log_by_id(server->log());
  std::map<std::string, int> outcomes;
  for (const StoredResponse& row : stored) {
    ++outcomes[row.outcome];
    const auto found = by_id.find(row.request_id);
    ASSERT_NE(found, by_id.end()) << row.request_id;
    EXPECT_EQ(static_cast<std::size_t>(row.attempts), found->second.size()) << row.request_id;
    if (row.outcome == "cancelled") {
      // Only the endless drips were still running when the grace period ended.
      EXPECT_EQ(found->second.back().fault, FaultKind::slow_drip) << row.request_id;
      EXPECT_EQ(found->second.back().status, 499) << row.request_id;
    } else {
      EXPECT_EQ(row.outcome, "ok") << row.request_id;
    }
  }
  EXPECT_GT(outcomes["ok"], 50);
  EXPECT_GT(outcomes["cancelled"], 0);
  EXPECT_LT(stored.size(), kItems);
  // Every request the server saw is in the store, and none was sent after the interrupt.
  EXPECT_EQ(by_id.size(), stored.size());
  for (const auto& [id, entries] : by_id) {
    for (const LogEntry& entry : entries) {
      EXPECT_LT(entry.received_ns, interrupted_ns + 500'000'000) << id << " was sent after SIGINT";
    }
  }
  // Verdicts waiting in the judges' queue are dropped at the interrupt (a resume makes them).
  const int verdicts = std::stoi(query(out, "SELECT count(*) FROM verdicts").at(0).at(0));
  EXPECT_LE(verdicts, outcomes["ok"]);

  // The same command resumes and completes, against a healthy server on another port: only
  // what was missing or cancelled is asked.
  auto healthy = start_sim_server("seed = 3");
  const ChildResult resumed = run_medsafe(args, run_environment(healthy->port()), scratch());
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;

  const std::vector<StoredResponse> final_rows = stored_responses(out);
  ASSERT_EQ(final_rows.size(), kItems);
  for (const StoredResponse& row : final_rows) EXPECT_EQ(row.outcome, "ok") << row.request_id;
  EXPECT_EQ(query(out, "SELECT count(*) FROM verdicts").at(0).at(0), std::to_string(kItems));
  EXPECT_EQ(healthy->log().size(), kItems - static_cast<std::size_t>(outcomes["ok"]));
}

}  // namespace
}  // namespace medsafe::reliability
