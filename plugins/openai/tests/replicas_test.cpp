// The replicas of a model with several endpoints (medsafe/http/replicas.hpp): least-outstanding
// choice, a failed replica taken out with a doubling backoff and tried again after it, and the
// base_urls key.
#include "medsafe/http/replicas.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <tuple>
#include <vector>

#include "medsafe/error.hpp"
#include "medsafe/http/endpoint.hpp"
#include "medsafe/manifest.hpp"

namespace medsafe::http_backend {
namespace {

using std::chrono::milliseconds;

ReplicaSet two_replicas() {
  return ReplicaSet({{"http://a/v1", "http://a/v1/chat/completions"},
                     {"http://b/v1", "http://b/v1/chat/completions"}},
                    milliseconds(100), milliseconds(400));
}

// A Response that ended with `outcome` (and HTTP `status`).
Response with(Outcome outcome, int status = 0) {
  Response response;
  std::tie(response.outcome, response.http_status) = std::make_tuple(outcome, status);
  return response;
}

TEST(Replicas, EachRequestGoesToTheReplicaWithTheFewestInFlight) {
  ReplicaSet set = two_replicas();
  const TimePoint now = Clock::now();
  EXPECT_EQ(set.pick(now, {}), 0U);
  EXPECT_EQ(set.pick(now, {}), 1U);
  EXPECT_EQ(set.pick(now, {}), 0U);  // a tie goes to the first
  EXPECT_EQ(set.in_flight(0), 2);
  set.finished(0, with(Outcome::ok), now);
  set.finished(0, with(Outcome::ok), now);
  EXPECT_EQ(set.pick(now, {}), 0U);  // a 1, b 1 in flight
  set.finished(1, with(Outcome::ok), now);
  EXPECT_EQ(set.pick(now, {}), 1U);
  // A request that failed on a replica goes to another, however busy.
  EXPECT_EQ(set.pick(now, {1}), 0U);
  EXPECT_EQ(set.pick(now, {0}), 1U);
}

TEST(Replicas, AFailedReplicaIsTakenOutForADoublingBackoffThenTriedAgain) {
  ReplicaSet set = two_replicas();
  const TimePoint t0 = Clock::now();
  ASSERT_EQ(set.pick(t0, {}), 0U);
  set.finished(0, with(Outcome::transport_error), t0);
  EXPECT_EQ(set.times_taken_out(0), 1);
  // Out for 100 ms: everything goes to b, even when b is busier.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(set.pick(t0 + milliseconds(50), {}), 1U);
  EXPECT_FALSE(set.another_in_service(t0 + milliseconds(50), {1}));
  EXPECT_TRUE(set.another_in_service(t0 + milliseconds(100), {1}));
  // Back after it, and failing again: out for 200 ms, then 400 ms, at most 400 ms.
  ASSERT_EQ(set.pick(t0 + milliseconds(100), {}), 0U);
  set.finished(0, with(Outcome::http_error, 503), t0 + milliseconds(100));
  EXPECT_EQ(set.pick(t0 + milliseconds(299), {}), 1U);
  ASSERT_EQ(set.pick(t0 + milliseconds(300), {}), 0U);
  set.finished(0, with(Outcome::timeout), t0 + milliseconds(300));
  EXPECT_EQ(set.pick(t0 + milliseconds(699), {}), 1U);
  ASSERT_EQ(set.pick(t0 + milliseconds(700), {}), 0U);
  set.finished(0, with(Outcome::transport_error), t0 + milliseconds(700));
  EXPECT_EQ(set.pick(t0 + milliseconds(1099), {}), 1U);
  EXPECT_EQ(set.times_taken_out(0), 4);
  // A success puts it back in service and resets the backoff.
  ASSERT_EQ(set.pick(t0 + milliseconds(1100), {}), 0U);
  set.finished(0, with(Outcome::ok), t0 + milliseconds(1100));
  ASSERT_EQ(set.pick(t0 + milliseconds(1100), {1}), 0U);
  set.finished(0, with(Outcome::transport_error), t0 + milliseconds(1100));
  EXPECT_EQ(set.pick(t0 + milliseconds(1199), {}), 1U);
  EXPECT_EQ(set.pick(t0 + milliseconds(1200), {1}), 0U);
}

TEST(Replicas, RequestsAlreadyOnTheirWayWhenAReplicaDiesDoNotLengthenItsBackoff) {
  ReplicaSet set = two_replicas();
  const TimePoint t0 = Clock::now();
  for (int i = 0; i < 3; ++i) (void)set.pick(t0, {1});
  for (int i = 0; i < 3; ++i) set.finished(0, with(Outcome::transport_error), t0);
  EXPECT_EQ(set.times_taken_out(0), 1);
  EXPECT_EQ(set.in_flight(0), 0);
  EXPECT_EQ(set.pick(t0 + milliseconds(100), {1}), 0U);  // 100 ms, not 400
}

TEST(Replicas, WhenEveryReplicaIsOutTheOneBackSoonestIsTried) {
  ReplicaSet set = two_replicas();
  const TimePoint t0 = Clock::now();
  (void)set.pick(t0, {});
  (void)set.pick(t0, {});
  set.finished(1, with(Outcome::transport_error), t0);
  set.finished(0, with(Outcome::transport_error), t0 + milliseconds(10));
  EXPECT_EQ(set.pick(t0 + milliseconds(20), {}), 1U);
  EXPECT_FALSE(set.another_in_service(t0 + milliseconds(20), {}));
}

TEST(Replicas, OnlyTheReplicasFailuresCount) {
  EXPECT_TRUE(replica_failed(with(Outcome::transport_error)));
  EXPECT_TRUE(replica_failed(with(Outcome::timeout)));
  EXPECT_TRUE(replica_failed(with(Outcome::http_error, 502)));
  // The request's own problems, or the model's answer: another replica would say the same.
  EXPECT_FALSE(replica_failed(with(Outcome::http_error, 429)));
  EXPECT_FALSE(replica_failed(with(Outcome::http_error, 400)));
  EXPECT_FALSE(replica_failed(with(Outcome::malformed)));
  EXPECT_FALSE(replica_failed(with(Outcome::cancelled)));
  EXPECT_FALSE(replica_failed(with(Outcome::ok)));
}

const ConfigSchema& schema() {
  static const ConfigSchema s = read_manifest(MEDSAFE_OPENAI_MANIFEST).config;
  return s;
}

std::string config_error(const std::string& toml) {
  try {
    (void)read_endpoint(Config::from_toml(toml, schema(), "run.toml"), "/chat/completions", {},
                        {"Authorization", "Bearer "});
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Replicas, BaseUrlsNameTheReplicas) {
  const Endpoint endpoint = read_endpoint(
      Config::from_toml("model = 'm'\nbase_urls = ['http://a:1/v1/', 'https://b/v1']", schema()),
      "/chat/completions", {}, {"Authorization", "Bearer "});
  ASSERT_EQ(endpoint.replicas.size(), 2U);
  EXPECT_EQ(endpoint.replicas[0].base_url, "http://a:1/v1");
  EXPECT_EQ(endpoint.replicas[0].url, "http://a:1/v1/chat/completions");
  EXPECT_EQ(endpoint.replicas[1].url, "https://b/v1/chat/completions");
  EXPECT_EQ(endpoint.url, endpoint.replicas[0].url);
  EXPECT_TRUE(read_endpoint(Config::from_toml("model = 'm'", schema()), "/x", {},
                            {"Authorization", "Bearer "})
                  .replicas.empty());
  EXPECT_NE(config_error("model = 'm'\nbase_urls = ['ftp://a']")
                .find("run.toml:2:13: error: 'base_urls' holds \"ftp://a\"; each must start with "
                      "http:// or https://"),
            std::string::npos)
      << config_error("model = 'm'\nbase_urls = ['ftp://a']");
  EXPECT_NE(config_error("model = 'm'\nbase_urls = ['http://a/v1', 'http://a/v1/']")
                .find("'base_urls' holds \"http://a/v1\" twice"),
            std::string::npos);
}

}  // namespace
}  // namespace medsafe::http_backend
