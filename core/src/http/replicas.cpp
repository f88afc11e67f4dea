#include "medsafe/http/replicas.hpp"

#include <algorithm>
#include <set>

#include "medsafe/error.hpp"
#include "medsafe/http/backend_base.hpp"
#include "medsafe/log.hpp"

namespace medsafe::http_backend {

std::vector<Replica> read_replicas(const Config& config, std::string_view path) {
  std::vector<Replica> replicas;
  if (!config.has("base_urls")) return replicas;
  std::set<std::string> seen;
  for (std::string url : config.strings("base_urls")) {
    if (!url.starts_with("http://") && !url.starts_with("https://")) {
      throw config.error("base_urls",
                         "holds \"" + url + "\"; each must start with http:// or https://");
    }
    while (url.ends_with('/')) url.pop_back();
    if (!seen.insert(url).second) {
      throw config.error("base_urls", "holds \"" + url + "\" twice");
    }
    // The name a replica is reported by leaves out its query, where a key may be.
    std::string name = url.substr(0, std::min(url.find_first_of("?#"), url.size()));
    while (name.ends_with('/')) name.pop_back();
    std::string full = url_with_path(url, path);
    replicas.push_back({std::move(name), std::move(full)});
  }
  return replicas;
}

bool replica_failed(const Response& response) noexcept {
  switch (response.outcome) {
    case Outcome::transport_error:
    case Outcome::timeout:
      return true;
    case Outcome::http_error:
      return response.http_status >= 500;
    default:
      return false;
  }
}

ReplicaSet::ReplicaSet(std::vector<Replica> replicas, std::chrono::milliseconds first,
                       std::chrono::milliseconds longest)
    : replicas_(std::move(replicas)), first_(first), longest_(longest), states_(replicas_.size()) {}

std::size_t ReplicaSet::pick(TimePoint now, const std::vector<std::size_t>& tried) {
  std::lock_guard lock(mutex_);
  auto untried = [&tried](std::size_t i) {
    return std::find(tried.begin(), tried.end(), i) == tried.end();
  };
  const bool any_untried =
      std::any_of(states_.begin(), states_.end(),
                  [&, i = std::size_t{0}](const State&) mutable { return untried(i++); });
  std::size_t best = states_.size();
  for (std::size_t i = 0; i < states_.size(); ++i) {
    if (any_untried && !untried(i)) continue;
    if (states_[i].out_until > now) continue;
    if (best == states_.size() || states_[i].in_flight < states_[best].in_flight) best = i;
  }
  if (best == states_.size()) {
    // Every candidate is out: the one back soonest (a request is never refused here).
    for (std::size_t i = 0; i < states_.size(); ++i) {
      if (any_untried && !untried(i)) continue;
      if (best == states_.size() || states_[i].out_until < states_[best].out_until) best = i;
    }
  }
  ++states_[best].in_flight;
  return best;
}

void ReplicaSet::finished(std::size_t replica, const Response& response, TimePoint now) {
  std::lock_guard lock(mutex_);
  State& state = states_.at(replica);
  --state.in_flight;
  if (!replica_failed(response)) {
    if (response.outcome != Outcome::cancelled) state.failures_in_a_row = 0;
    return;
  }
  // Several requests in flight fail together when a replica dies: the backoff grows per
  // failure after it was taken out, not per request that was already on its way.
  if (state.out_until > now) return;
  ++state.failures_in_a_row;
  ++state.taken_out;
  const int doublings = std::min(state.failures_in_a_row - 1, 16);
  const auto backoff = std::min<std::chrono::milliseconds>(first_ * (1LL << doublings), longest_);
  state.out_until = now + backoff;
}

bool ReplicaSet::another_in_service(TimePoint now, const std::vector<std::size_t>& tried) {
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < states_.size(); ++i) {
    if (std::find(tried.begin(), tried.end(), i) != tried.end()) continue;
    if (states_[i].out_until <= now) return true;
  }
  return false;
}

int ReplicaSet::in_flight(std::size_t replica) {
  std::lock_guard lock(mutex_);
  return states_.at(replica).in_flight;
}

int ReplicaSet::times_taken_out(std::size_t replica) {
  std::lock_guard lock(mutex_);
  return states_.at(replica).taken_out;
}

}  // namespace medsafe::http_backend

namespace medsafe::http_backend {

struct HttpBackend::ReplicatedCall {
  ReplicatedCall(Request r, ResponseCallback d) : request(std::move(r)), done(std::move(d)) {}
  Request request;
  ResponseCallback done;
  std::vector<std::size_t> tried;         ///< replicas this attempt was sent to
  std::vector<EndpointAttempt> attempts;  ///< and how each went
  int sends = 0;                          ///< requests on the wire, over every replica
};

void HttpBackend::submit_replicated(Request request, ResponseCallback done) {
  send_to_replica(std::make_shared<ReplicatedCall>(std::move(request), std::move(done)));
}

void HttpBackend::send_to_replica(const std::shared_ptr<ReplicatedCall>& call) {
  const std::size_t i = replicas_->pick(Clock::now(), call->tried);
  call->tried.push_back(i);
  const Replica& replica = replicas_->replica(i);
  HttpRequest http;
  try {
    http = make_http_request(*endpoint_, call->request, build_body(call->request), this);
    http.url = replica.url;
  } catch (const std::exception& error) {
    Response response;
    response.outcome = Outcome::backend_error;
    response.error =
        redact(std::string("cannot build the request: ") + error.what(), {endpoint_->api_key});
    replicas_->finished(i, response, Clock::now());
    response.endpoints = std::move(call->attempts);
    call->done(std::move(response));
    return;
  }
  std::shared_ptr<ReplicaSet> replicas = replicas_;
  ResponseCallback on_done = [this, replicas, call, i](Response&& response) {
    const TimePoint now = Clock::now();
    replicas->finished(i, response, now);
    call->attempts.push_back(
        {replicas->replica(i).base_url, response.outcome, response.http_status});
    call->sends += std::max(response.wire_sends, 1);
    if (replica_failed(response) && replicas->another_in_service(now, call->tried)) {
      const std::lock_guard lock(replicas->send_mutex());
      if (!replicas->closing) {
        send_to_replica(call);
        return;
      }
    }
    // The runner counts every send as an attempt; the answer says where each went.
    response.wire_sends = call->sends;
    response.endpoints = call->attempts;
    const ResponseCallback done = std::move(call->done);
    done(std::move(response));
  };
  http_.start(std::move(http), make_exchange(call->request, std::move(on_done)));
}

}  // namespace medsafe::http_backend
