#pragma once
/// A model served by several endpoints (replicas, `base_urls`): each request goes to the replica
/// with the fewest requests in flight; a replica that fails (a connection error, a timeout, a
/// 5xx) is taken out for a backoff and tried again after it, and the request is sent on to
/// another replica, so an answer is lost only when every replica fails it.
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "medsafe/backend.hpp"
#include "medsafe/clock.hpp"
#include "medsafe/config.hpp"
#include "medsafe/export.hpp"

namespace medsafe::http_backend {

/// One replica: its base URL (as reports name it) and the URL requests go to.
struct Replica {
  std::string base_url;
  std::string url;  ///< <base_url><path>
};

/// The `base_urls` key (when the manifest declares it): the replicas, each checked as base_url
/// is; empty when it is unset or empty. Throws a located config Error for a bad or repeated URL.
[[nodiscard]] MEDSAFE_API std::vector<Replica> read_replicas(const Config& config,
                                                             std::string_view path);

/// Whether a failed attempt is the replica's fault (take it out, send elsewhere) rather than
/// the request's: a transport error, a timeout, or an HTTP 5xx.
[[nodiscard]] MEDSAFE_API bool replica_failed(const Response& response) noexcept;

/// The replicas' state, shared by the sends of one backend. Thread-safe.
class MEDSAFE_API ReplicaSet {
 public:
  /// How long a failed replica stays out: `first` after one failure, doubling after each
  /// failure in a row, at most `longest`.
  explicit ReplicaSet(std::vector<Replica> replicas,
                      std::chrono::milliseconds first = std::chrono::seconds(1),
                      std::chrono::milliseconds longest = std::chrono::seconds(30));

  /// The replica for a send at `now`, not one of `tried`: of those in service, the one with the
  /// fewest in flight (the lowest index on a tie); when all are out, the one back soonest. Counts
  /// it as in flight. `tried` may hold every replica: then the same rule over all of them.
  [[nodiscard]] std::size_t pick(TimePoint now, const std::vector<std::size_t>& tried);
  /// Records the end of a send to `replica`; takes it out after a replica failure.
  void finished(std::size_t replica, const Response& response, TimePoint now);
  /// Whether a replica other than `tried` is in service at `now`.
  [[nodiscard]] bool another_in_service(TimePoint now, const std::vector<std::size_t>& tried);

  [[nodiscard]] const Replica& replica(std::size_t i) const { return replicas_.at(i); }
  [[nodiscard]] std::size_t size() const noexcept { return replicas_.size(); }
  /// Replicas in flight now, and times `replica` was taken out (for tests and logs).
  [[nodiscard]] int in_flight(std::size_t replica);
  [[nodiscard]] int times_taken_out(std::size_t replica);

  /// Serialises re-sends with the backend's destruction (HttpBackend holds it while it sends
  /// again from a callback, and while it closes).
  std::recursive_mutex& send_mutex() noexcept { return send_mutex_; }
  bool closing = false;  ///< under send_mutex(): the backend is going, send nothing more

 private:
  struct State {
    int in_flight = 0;
    int failures_in_a_row = 0;
    int taken_out = 0;
    TimePoint out_until{};
  };
  std::vector<Replica> replicas_;
  std::chrono::milliseconds first_, longest_;
  std::mutex mutex_;
  std::vector<State> states_;
  std::recursive_mutex send_mutex_;  // recursive: a send may fail at once, in its own thread
};

}  // namespace medsafe::http_backend
