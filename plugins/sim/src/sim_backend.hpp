#pragma once
/// The `sim` backend: the simulated model in process, for runs without network or weights.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "medsafe/backend.hpp"
#include "medsafe/plugin.hpp"
#include "sim_model.hpp"

namespace medsafe::sim {

/// A Backend whose answers come from sim::Model and arrive at simulated times, as if streamed.
///
/// submit() never blocks and never calls back inside itself: one timer thread completes every
/// request when its simulated generation ends, with Timing stamps at the simulated times
/// (first_byte = start of generation, one token event per stream event, finished = end). At most
/// `capacity` requests generate at once; the others wait in FIFO order and start when a slot
/// frees (at the simulated time it freed), so queueing shows in first_byte and TTFT.
///
/// Faults (the fault_* keys) are drawn per (seed, Request::id, attempt), the attempt being the
/// n-th submit of that id to this backend: HTTP status faults answer at once without taking a
/// slot; malformed and error_event faults end the answer after fault_after_events events; a slow
/// drip respaces the events. Resets and stalls need a connection and are ignored here.
class SimBackend final : public Backend {
 public:
  /// Reads the settings from the component's validated configuration.
  explicit SimBackend(const ComponentContext& context);
  explicit SimBackend(Settings settings);
  /// Completes every pending request with Outcome::cancelled, then joins the timer thread.
  ~SimBackend() override;
  SimBackend(const SimBackend&) = delete;
  SimBackend& operator=(const SimBackend&) = delete;

  void submit(Request request, ResponseCallback done) override;
  /// Completes every pending request now with Outcome::cancelled (text that had "arrived" kept).
  void cancel_all() override;

 private:
  /// How an attempt fails when a fault was drawn for it.
  struct Failure {
    Outcome outcome = Outcome::ok;
    int http_status = 0;
    std::string error;
    std::optional<double> retry_after_s;
  };
  struct Job {
    Answer answer;  ///< cut at the fault for in-band faults
    ResponseCallback done;
    TimePoint intended{};
    TimePoint sent{};
    TimePoint start{};       ///< epoch while waiting for a slot
    bool holds_slot = true;  ///< false for an HTTP status fault: rejected before generation
    Failure failure;         ///< outcome ok: no fault
  };
  struct Due {
    TimePoint at;
    std::uint64_t order;  ///< submission order breaks ties, so equal times finish FIFO
    std::unique_ptr<Job> job;
  };
  struct Later {
    bool operator()(const Due& a, const Due& b) const noexcept {
      return a.at != b.at ? a.at > b.at : a.order > b.order;
    }
  };

  void run();
  /// Draws this attempt's fault and shapes the job by it.
  void inject_fault(const Request& request, Job& job);
  void start_locked(std::unique_ptr<Job> job, TimePoint at);
  std::vector<std::unique_ptr<Job>> take_all_locked();
  static Response finished_response(const Job& job);
  static Response cancelled_response(const Job& job, TimePoint now);
  static void deliver_cancelled(std::vector<std::unique_ptr<Job>> jobs);

  Model model_;
  std::size_t capacity_;                     ///< 0 = unlimited
  AttemptCounter attempts_;                  ///< per request id, when faults are on
  std::atomic<std::uint64_t> anonymous_{0};  ///< numbers requests without an id
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Due> heap_;                     ///< generating jobs, by finish time
  std::deque<std::unique_ptr<Job>> waiting_;  ///< jobs waiting for a slot
  std::size_t generating_ = 0;
  std::uint64_t next_order_ = 0;
  bool stopping_ = false;
  std::thread timer_;  ///< last member: started after everything it uses
};

}  // namespace medsafe::sim
