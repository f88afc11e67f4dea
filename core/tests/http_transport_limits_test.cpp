// The transport's bounds on what a hostile server sends: a body or one stream event past
// HttpRequest::max_body_bytes ends the transfer there (its beginning kept, HttpResult::cut),
// and an exchange may end its transfer itself (HttpExchange::stop).
#include <gtest/gtest.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "medsafe/http/transport.hpp"
#include "support/scripted_server.hpp"

namespace medsafe {
namespace {

using namespace std::chrono_literals;
using test::ScriptedServer;

// Records events (cut or not) and the result; stops after `stop_after` events when set.
class Collector : public HttpExchange {
 public:
  explicit Collector(std::size_t stop_after = 0) : stop_after_(stop_after) {}

  void on_event(const SseEvent& event) override {
    std::lock_guard lock(mutex_);
    events_.push_back({std::string(event.data), event.cut});
    if (stop_after_ > 0 && events_.size() >= stop_after_) stop();
  }
  void on_complete(HttpResult&& result) override {
    std::lock_guard lock(mutex_);
    result_ = std::move(result);
    done_ = true;
    cv_.notify_all();
  }
  HttpResult wait() {
    std::unique_lock lock(mutex_);
    EXPECT_TRUE(cv_.wait_for(lock, 20s, [this] { return done_; })) << "no on_complete";
    return result_;
  }
  std::vector<std::pair<std::string, bool>> events() {
    std::lock_guard lock(mutex_);
    return events_;
  }

 private:
  std::size_t stop_after_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::vector<std::pair<std::string, bool>> events_;
  HttpResult result_;
};

HttpRequest post(const ScriptedServer& server, std::size_t max_body_bytes) {
  HttpRequest request;
  request.url = server.base_url() + "/v1/chat/completions";
  request.body = "{}";
  request.max_body_bytes = max_body_bytes;
  return request;
}

// One exchange of `body` (a 200 with a Content-Length) bounded at `max_body_bytes`.
HttpResult exchange_body(std::string body, std::size_t max_body_bytes) {
  ScriptedServer server;
  server.enqueue(test::http_response(200, std::move(body)));
  HttpTransport transport;
  auto collector = std::make_shared<Collector>();
  transport.start(post(server, max_body_bytes), collector);
  return collector->wait();
}

TEST(HttpTransportLimits, ABodyPastItsBoundIsCutThereAndKeepsItsBeginning) {
  const HttpResult result = exchange_body("{\"a\":\"" + std::string(10'000, 'x') + "\"}", 1000);
  EXPECT_EQ(result.outcome, Outcome::ok) << result.error;
  EXPECT_TRUE(result.cut);
  EXPECT_EQ(result.body, "{\"a\":\"" + std::string(994, 'x'));
  EXPECT_EQ(result.body_head, result.body.substr(0, kBodyHeadBytes));
}

TEST(HttpTransportLimits, ABodyWithinItsBoundIsWholeAndNotCut) {
  const HttpResult result = exchange_body(std::string(1000, 'y'), 1000);
  EXPECT_EQ(result.outcome, Outcome::ok) << result.error;
  EXPECT_FALSE(result.cut);
  EXPECT_EQ(result.body.size(), 1000u);
  EXPECT_EQ(result.body_bytes, 1000u);
}

TEST(HttpTransportLimits, AnEventThatNeverEndsIsDeliveredCutAndEndsTheTransfer) {
  ScriptedServer server;
  // One data line of 64 KiB pieces that never reaches its blank line.
  std::vector<std::string> pieces = {"data: {\"first\":1}\n\n", "data: {\"t\":\""};
  const std::string piece(std::size_t{64} << 10, 'z');
  pieces.insert(pieces.end(), 16, piece);
  server.enqueue(test::sse_chunked(pieces));
  HttpTransport transport;
  auto collector = std::make_shared<Collector>();
  transport.start(post(server, 100'000), collector);
  const HttpResult result = collector->wait();
  EXPECT_EQ(result.outcome, Outcome::ok) << result.error;
  EXPECT_TRUE(result.cut);
  const auto events = collector->events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0], std::make_pair(std::string("{\"first\":1}"), false));
  EXPECT_TRUE(events[1].second);
  EXPECT_EQ(events[1].first.rfind("{\"t\":\"zzz", 0), 0u);
  EXPECT_GT(events[1].first.size(), 100'000u - 64);
  // Ended near the bound, not after the whole megabyte.
  EXPECT_LT(result.body_bytes, 100'000u + (256u << 10));
}

TEST(HttpTransportLimits, AnExchangeEndsItsOwnTransferAndNoMoreEventsCome) {
  ScriptedServer server;
  std::vector<std::string> pieces;
  for (int i = 0; i < 50; ++i) pieces.push_back("data: " + std::to_string(i) + "\n\n");
  server.enqueue(test::sse_chunked(pieces, 1ms));
  HttpTransport transport;
  auto collector = std::make_shared<Collector>(3);
  transport.start(post(server, 0), collector);
  const HttpResult result = collector->wait();
  EXPECT_EQ(result.outcome, Outcome::ok) << result.error;
  EXPECT_TRUE(result.cut);
  EXPECT_EQ(collector->events().size(), 3u);
}

TEST(HttpTransportLimits, ARefusedConnectionIsUnreachableAndAResetIsNot) {
  std::uint16_t port = 0;
  {
    ScriptedServer closed;  // its port is free again once it is gone
    port = closed.port();
  }
  HttpTransport transport;
  HttpRequest refused;
  refused.url = "http://127.0.0.1:" + std::to_string(port) + "/v1/chat/completions";
  auto first = std::make_shared<Collector>();
  transport.start(std::move(refused), first);
  const HttpResult a = first->wait();
  EXPECT_EQ(a.outcome, Outcome::transport_error) << a.error;
  EXPECT_TRUE(a.unreachable) << a.error;

  ScriptedServer server;
  server.enqueue(test::Script().send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc").close());
  auto second = std::make_shared<Collector>();
  transport.start(post(server, 0), second);
  const HttpResult b = second->wait();
  EXPECT_EQ(b.outcome, Outcome::transport_error) << b.error;
  EXPECT_FALSE(b.unreachable) << b.error;
}

}  // namespace
}  // namespace medsafe
