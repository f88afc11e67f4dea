// The transport against byte-exact scripted responses on 127.0.0.1.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "medsafe/http/transport.hpp"
#include "support/scripted_server.hpp"

namespace medsafe {
namespace {

using namespace std::chrono_literals;
using test::Script;
using test::ScriptedServer;

constexpr auto kWaitLimit = 20s;  // only a hung test waits this long

struct SeenEvent {
  std::string event;
  std::string data;
  TimePoint completed;
};

// Records what the transport reports for one exchange.
class Recorder : public HttpExchange {
 public:
  void on_event(const SseEvent& event) override {
    std::lock_guard lock(mutex_);
    events_.push_back({std::string(event.event), std::string(event.data), event.completed});
  }

  void on_complete(HttpResult&& result) override {
    std::lock_guard lock(mutex_);
    result_ = std::move(result);
    ++completions_;
    done_.notify_all();
  }

  // Waits for on_complete; fails the test if it does not come.
  HttpResult wait() {
    std::unique_lock lock(mutex_);
    const bool done = done_.wait_for(lock, kWaitLimit, [this] { return completions_ > 0; });
    EXPECT_TRUE(done) << "on_complete was not called";
    return result_;
  }

  std::vector<SeenEvent> events() {
    std::lock_guard lock(mutex_);
    return events_;
  }

  int completions() {
    std::lock_guard lock(mutex_);
    return completions_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable done_;
  std::vector<SeenEvent> events_;
  HttpResult result_;
  int completions_ = 0;
};

HttpRequest post(const ScriptedServer& server, std::string body = "{\"q\":1}") {
  HttpRequest request;
  request.url = server.base_url() + "/v1/chat/completions";
  request.headers = {{"Content-Type", "application/json"}, {"X-Test", "yes"}};
  request.body = std::move(body);
  return request;
}

HttpResult exchange(HttpTransport& transport, HttpRequest request,
                    const std::shared_ptr<Recorder>& recorder = std::make_shared<Recorder>()) {
  transport.start(std::move(request), recorder);
  HttpResult result = recorder->wait();
  EXPECT_EQ(recorder->completions(), 1);
  return result;
}

HttpTransportOptions io_threads(int n) {
  HttpTransportOptions options;
  options.io_threads = n;
  return options;
}

// `count` POSTs to `server`, each after the previous one ended and `pause` later, on a
// transport with one I/O thread (so every connection is that thread's); each must succeed.
void exchange_in_turn_on_one_io_thread(const ScriptedServer& server, int count,
                                       std::chrono::milliseconds pause) {
  HttpTransport transport(io_threads(1));
  for (int i = 0; i < count; ++i) {
    EXPECT_EQ(exchange(transport, post(server)).outcome, Outcome::ok) << i;
    std::this_thread::sleep_for(pause);
  }
}

TEST(HttpTransport, PostsAndReadsAPlainResponse) {
  ScriptedServer server;
  server.enqueue(test::http_response(
      200, "{\"ok\":true}", {{"Content-Type", "application/json"}, {"X-Mixed-Case", "v"}}));
  HttpTransport transport;
  const std::string body = "{\"model\":\"m\",\"messages\":[]}";
  const HttpResult result = exchange(transport, post(server, body));

  EXPECT_EQ(result.outcome, Outcome::ok) << result.error;
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(result.body, "{\"ok\":true}");
  EXPECT_FALSE(result.sse);
  ASSERT_NE(result.header("x-mixed-case"), nullptr);
  EXPECT_EQ(*result.header("x-mixed-case"), "v");
  EXPECT_LE(result.sent, result.first_byte);
  EXPECT_LE(result.first_byte, result.finished);
  EXPECT_NE(result.sent, TimePoint{});

  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/v1/chat/completions");
  EXPECT_EQ(requests[0].body, body);
  ASSERT_NE(requests[0].header("x-test"), nullptr);
  EXPECT_EQ(*requests[0].header("x-test"), "yes");
  EXPECT_EQ(requests[0].header("expect"), nullptr) << "no 100-continue round trip";
}

TEST(HttpTransport, SendsEveryHeaderItIsGivenOneWithAnEmptyValueToo) {
  ScriptedServer server;
  server.set_handler([](const test::ReceivedRequest&) { return test::http_response(200, "{}"); });
  HttpTransport transport;
  HttpRequest request = post(server);
  request.headers = {{"X-First", "1"}, {"X-Empty", ""}, {"X-Last", "two words"}};
  for (int i = 0; i < 2; ++i) {  // the second time on a reused handle
    EXPECT_EQ(exchange(transport, request).outcome, Outcome::ok);
  }
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  for (const auto& seen : requests) {
    ASSERT_NE(seen.header("x-first"), nullptr);
    EXPECT_EQ(*seen.header("x-first"), "1");
    ASSERT_NE(seen.header("x-empty"), nullptr);
    EXPECT_EQ(*seen.header("x-empty"), "");
    ASSERT_NE(seen.header("x-last"), nullptr);
    EXPECT_EQ(*seen.header("x-last"), "two words");
    EXPECT_EQ(seen.header("expect"), nullptr);
  }
}

TEST(HttpTransport, SendsLargeBodiesWithoutWaitingForContinue) {
  ScriptedServer server;
  server.enqueue(test::http_response(200, "{}"));
  HttpTransport transport;
  const std::string body(2u << 20, 'b');  // libcurl would ask for 100-continue above 1 MiB
  const HttpResult result = exchange(transport, post(server, body));
  EXPECT_EQ(result.outcome, Outcome::ok) << result.error;
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].body, body);
  EXPECT_EQ(server.requests()[0].header("expect"), nullptr);
}

TEST(HttpTransport, GetSendsNoBody) {
  ScriptedServer server;
  server.enqueue(test::http_response(200, "[]"));
  HttpTransport transport;
  HttpRequest request = post(server, "");
  request.method = "GET";
  const HttpResult result = exchange(transport, request);
  EXPECT_EQ(result.outcome, Outcome::ok) << result.error;
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].method, "GET");
  EXPECT_TRUE(server.requests()[0].body.empty());
}

TEST(HttpTransport, DeliversStreamEventsInOrderWithStamps) {
  ScriptedServer server;
  server.enqueue(test::sse_chunked(
      {"data: one\n\n", "data: two\n", "\n: keep-alive\n\n", "event: x\ndata: three\n\n"}, 5ms));
  HttpTransport transport;
  auto recorder = std::make_shared<Recorder>();
  const HttpResult result = exchange(transport, post(server), recorder);

  EXPECT_EQ(result.outcome, Outcome::ok) << result.error;
  EXPECT_TRUE(result.sse);
  EXPECT_FALSE(result.sse_truncated);
  EXPECT_EQ(result.sse_events, 3u);
  EXPECT_TRUE(result.body.empty());
  const auto events = recorder->events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].data, "one");
  EXPECT_EQ(events[1].data, "two");
  EXPECT_EQ(events[2].event, "x");
  EXPECT_EQ(events[2].data, "three");
  EXPECT_LE(result.first_byte, events[0].completed);
  EXPECT_LE(events[0].completed, events[1].completed);
  EXPECT_LE(events[1].completed, events[2].completed);
  EXPECT_LE(events[2].completed, result.finished);
}

TEST(HttpTransport, JoinsCrLfSplitAcrossNetworkReads) {
  ScriptedServer server;
  server.enqueue(test::sse_chunked({"data: a\r", "\ndata: b\r\n\r", "\n"}, 20ms));
  HttpTransport transport;
  auto recorder = std::make_shared<Recorder>();
  const HttpResult result = exchange(transport, post(server), recorder);
  EXPECT_EQ(result.outcome, Outcome::ok) << result.error;
  const auto events = recorder->events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "a\nb");
}

TEST(HttpTransport, FlagsAStreamThatEndsInsideAnEvent) {
  ScriptedServer server;
  server.enqueue(test::sse_until_close({"data: one\n\n", "data: {\"cut"}));
  HttpTransport transport;
  auto recorder = std::make_shared<Recorder>();
  const HttpResult result = exchange(transport, post(server), recorder);
  EXPECT_EQ(result.outcome, Outcome::ok) << result.error;
  EXPECT_TRUE(result.sse);
  EXPECT_TRUE(result.sse_truncated);
  EXPECT_EQ(recorder->events().size(), 1u);
}

TEST(HttpTransport, ReportsAChunkedStreamCutByTheServerAsATransportError) {
  ScriptedServer server;
  Script script = test::sse_chunked({"data: one\n\n"});
  Script cut;
  for (const auto& step : script.steps()) {
    if (step.bytes == "0\r\n\r\n") break;  // drop the terminating chunk, then hang up
    cut.send(step.bytes);
  }
  server.enqueue(cut.close());
  HttpTransport transport;
  auto recorder = std::make_shared<Recorder>();
  const HttpResult result = exchange(transport, post(server), recorder);
  EXPECT_EQ(result.outcome, Outcome::transport_error);
  EXPECT_FALSE(result.error.empty());
  EXPECT_EQ(recorder->events().size(), 1u);
}

TEST(HttpTransport, BuffersTheBodyOfANon2xxStream) {
  ScriptedServer server;
  server.enqueue(
      test::http_response(429, "data: {\"error\":\"slow down\"}\n\n",
                          {{"Content-Type", "text/event-stream"}, {"Retry-After", "7"}}));
  HttpTransport transport;
  auto recorder = std::make_shared<Recorder>();
  const HttpResult result = exchange(transport, post(server), recorder);
  EXPECT_EQ(result.outcome, Outcome::ok) << result.error;
  EXPECT_EQ(result.status, 429);
  EXPECT_FALSE(result.sse);
  EXPECT_EQ(result.body, "data: {\"error\":\"slow down\"}\n\n");
  EXPECT_TRUE(recorder->events().empty());
  ASSERT_NE(result.header("retry-after"), nullptr);
  EXPECT_EQ(*result.header("retry-after"), "7");
}

TEST(HttpTransport, AnEmpty2xxStreamIsStillAStream) {
  ScriptedServer server;
  server.enqueue(test::sse_chunked({}));
  HttpTransport transport;
  const HttpResult result = exchange(transport, post(server));
  EXPECT_EQ(result.outcome, Outcome::ok) << result.error;
  EXPECT_TRUE(result.sse);
  EXPECT_EQ(result.sse_events, 0u);
}

TEST(HttpTransport, FirstByteTimeoutFiresAndNamesItsLimit) {
  ScriptedServer server;
  server.enqueue(Script().pause(5s).send("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
  HttpTransport transport;
  HttpRequest request = post(server);
  request.timeouts.first_byte = 150ms;
  const auto began = Clock::now();
  const HttpResult result = exchange(transport, request);
  EXPECT_EQ(result.outcome, Outcome::timeout);
  EXPECT_NE(result.error.find("first-byte"), std::string::npos) << result.error;
  EXPECT_NE(result.error.find("150 ms"), std::string::npos) << result.error;
  EXPECT_LT(Clock::now() - began, 4s) << "it must not wait for the server";
  EXPECT_EQ(result.first_byte, TimePoint{});
}

TEST(HttpTransport, IdleTimeoutFiresBetweenEvents) {
  ScriptedServer server;
  Script script = test::sse_chunked({"data: one\n\n"});
  Script stalled;
  stalled.send(script.steps()[0].bytes).send(script.steps()[1].bytes).pause(5s);
  server.enqueue(stalled);
  HttpTransport transport;
  HttpRequest request = post(server);
  request.timeouts.idle = 150ms;
  auto recorder = std::make_shared<Recorder>();
  const HttpResult result = exchange(transport, request, recorder);
  EXPECT_EQ(result.outcome, Outcome::timeout);
  EXPECT_NE(result.error.find("idle"), std::string::npos) << result.error;
  EXPECT_NE(result.error.find("150 ms"), std::string::npos) << result.error;
  EXPECT_EQ(recorder->events().size(), 1u);
  EXPECT_EQ(result.status, 200);
}

TEST(HttpTransport, TotalTimeoutFiresOnAStreamThatNeverEnds) {
  ScriptedServer server;
  server.enqueue(test::sse_chunked(std::vector<std::string>(200, "data: tick\n\n"), 30ms));
  HttpTransport transport;
  HttpRequest request = post(server);
  request.timeouts.total = 300ms;
  request.timeouts.idle = 5s;
  auto recorder = std::make_shared<Recorder>();
  const HttpResult result = exchange(transport, request, recorder);
  EXPECT_EQ(result.outcome, Outcome::timeout);
  EXPECT_NE(result.error.find("total"), std::string::npos) << result.error;
  EXPECT_NE(result.error.find("300 ms"), std::string::npos) << result.error;
  EXPECT_GE(recorder->events().size(), 1u);
  EXPECT_LT(recorder->events().size(), 200u);
}

TEST(HttpTransport, ConnectionRefusedIsATransportErrorWithCurlsMessage) {
  std::string url;
  {
    ScriptedServer closed;  // its port is free again once it is gone
    url = closed.base_url() + "/v1/chat/completions";
  }
  HttpTransport transport;
  HttpRequest request;
  request.url = url;
  const HttpResult result = exchange(transport, request);
  EXPECT_EQ(result.outcome, Outcome::transport_error);
  EXPECT_EQ(result.status, 0);
  EXPECT_FALSE(result.error.empty());
}

TEST(HttpTransport, ABadUrlIsATransportError) {
  HttpTransport transport;
  HttpRequest request;
  request.url = "notascheme://x";
  const HttpResult result = exchange(transport, request);
  EXPECT_EQ(result.outcome, Outcome::transport_error);
  EXPECT_FALSE(result.error.empty());
}

TEST(HttpTransport, AUrlThatDoesNotParseIsATransportErrorThatSaysSo) {
  HttpTransport transport;
  HttpRequest request;
  request.url = "http://bad host/v1/chat/completions";
  for (int i = 0; i < 2; ++i) {  // the second time, the loop already knows the URL is bad
    const HttpResult result = exchange(transport, request);
    EXPECT_EQ(result.outcome, Outcome::transport_error);
    EXPECT_NE(result.error.find("URL"), std::string::npos) << result.error;
  }
}

TEST(HttpTransport, EachUrlReachesItsOwnTargetOnOneIoThread) {
  // The I/O thread keeps each URL parsed; requests to different URLs must not share one.
  ScriptedServer server;
  server.set_handler([](const test::ReceivedRequest&) { return test::http_response(200, "{}"); });
  HttpTransport transport(io_threads(1));
  const std::vector<std::string> targets = {"/v1/a?x=1", "/v1/b", "/v1/a?x=1", "/v1/b%20c"};
  for (const std::string& target : targets) {
    HttpRequest request = post(server);
    request.url = server.base_url() + target;
    EXPECT_EQ(exchange(transport, request).outcome, Outcome::ok) << target;
  }
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), targets.size());
  for (std::size_t i = 0; i < targets.size(); ++i) EXPECT_EQ(requests[i].target, targets[i]);
}

// Sets an environment variable for one scope and puts back what was there.
class ScopedVariable {
 public:
  ScopedVariable(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedVariable() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedVariable(const ScopedVariable&) = delete;
  ScopedVariable& operator=(const ScopedVariable&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(HttpTransport, SendsThroughTheProxyTheEnvironmentNames) {
  // A transport started without proxy variables tells libcurl "no proxy" itself; one started
  // with them must leave the choice to libcurl, as before.
  ScriptedServer proxy;
  proxy.set_handler([](const test::ReceivedRequest&) { return test::http_response(200, "{}"); });
  const ScopedVariable http_proxy("http_proxy", proxy.base_url());
  const ScopedVariable no_proxy("no_proxy", "");
  HttpTransport transport(io_threads(1));
  HttpRequest request;
  request.url = "http://medsafe-proxy-test.invalid/v1/chat/completions";
  request.body = "{}";
  const HttpResult result = exchange(transport, request);
  EXPECT_EQ(result.outcome, Outcome::ok) << result.error;
  const auto requests = proxy.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].target, request.url);  // a proxy gets the absolute URL
}

TEST(HttpTransport, ReusesTheConnection) {
  ScriptedServer server;
  server.set_handler([](const test::ReceivedRequest&) { return test::http_response(200, "{}"); });
  HttpTransport transport;
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(exchange(transport, post(server)).outcome, Outcome::ok);
  }
  EXPECT_EQ(server.requests().size(), 5u);
  EXPECT_EQ(server.connections(), 1u);
}

TEST(HttpTransport, ReplacesAKeptConnectionTheServerClosedWhileIdle) {
  // The server closes each connection after its answer, without saying so. The idle socket's
  // end is seen by the loop while libcurl wants nothing of it; the next request must notice the
  // dead connection and open another, which often gets the same socket number.
  ScriptedServer server;
  server.set_handler([](const test::ReceivedRequest&) {
    Script script = test::http_response(200, "{}");
    script.close();
    return script;
  });
  exchange_in_turn_on_one_io_thread(server, 5, 50ms);  // the close arrives while idle
  EXPECT_EQ(server.requests().size(), 5u);
  EXPECT_EQ(server.connections(), 5u);
}

TEST(HttpTransport, OpensANewConnectionAfterOneThatSaidClose) {
  // "Connection: close": libcurl closes the socket as the transfer ends, with no event from the
  // socket first. The next connection often gets the same socket number and must be watched.
  ScriptedServer server;
  server.set_handler([](const test::ReceivedRequest&) {
    Script script = test::http_response(
        200, "{}", {{"Content-Type", "application/json"}, {"Connection", "close"}});
    script.close();
    return script;
  });
  exchange_in_turn_on_one_io_thread(server, 5, 0ms);
  EXPECT_EQ(server.requests().size(), 5u);
  EXPECT_EQ(server.connections(), 5u);
}

TEST(HttpTransport, RunsManyExchangesFromManyThreads) {
  ScriptedServer server;
  server.set_handler([](const test::ReceivedRequest& r) {
    return test::sse_chunked({"data: " + r.body + "\n\n", "data: [DONE]\n\n"});
  });
  HttpTransport transport;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  std::vector<std::shared_ptr<Recorder>> recorders(std::size_t{kThreads} * kPerThread);
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const int n = t * kPerThread + i;
        recorders[n] = std::make_shared<Recorder>();
        transport.start(post(server, std::to_string(n)), recorders[n]);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (std::size_t n = 0; n < recorders.size(); ++n) {
    const HttpResult result = recorders[n]->wait();
    ASSERT_EQ(result.outcome, Outcome::ok) << result.error;
    const auto events = recorders[n]->events();
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].data, std::to_string(n));
    EXPECT_EQ(recorders[n]->completions(), 1);
  }
}

// Notes which I/O thread completed it.
class ThreadNotingRecorder : public Recorder {
 public:
  void on_complete(HttpResult&& result) override {
    thread = std::this_thread::get_id();
    Recorder::on_complete(std::move(result));
  }
  std::thread::id thread;  // written before completion is signalled, read after wait()
};

TEST(HttpTransport, DealsAConcurrentLoadToEveryIoThread) {
  ScriptedServer server;
  server.set_handler([](const test::ReceivedRequest&) {
    return Script().pause(200ms).send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
  });
  HttpTransport transport(io_threads(3));
  std::vector<std::shared_ptr<ThreadNotingRecorder>> recorders;
  for (int i = 0; i < 6; ++i) {
    recorders.push_back(std::make_shared<ThreadNotingRecorder>());
    transport.start(post(server), recorders.back());
  }
  std::set<std::thread::id> threads;
  for (auto& recorder : recorders) {
    EXPECT_EQ(recorder->wait().outcome, Outcome::ok);
    threads.insert(recorder->thread);
  }
  EXPECT_EQ(threads.size(), 3u) << "six exchanges at once are dealt two to each of three loops";
  EXPECT_EQ(threads.count(std::this_thread::get_id()), 0u);
}

TEST(HttpTransport, OneExchangeAtATimeKeepsToOneConnectionWhateverTheIoThreads) {
  ScriptedServer server;
  server.set_handler([](const test::ReceivedRequest&) { return test::http_response(200, "{}"); });
  HttpTransport transport(io_threads(3));
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(exchange(transport, post(server)).outcome, Outcome::ok);
  }
  EXPECT_EQ(server.connections(), 1u);
}

// Calls cancel_all from its on_complete, then records the completion.
class CancellingRecorder : public Recorder {
 public:
  explicit CancellingRecorder(HttpTransport& transport) : transport_(transport) {}
  void on_complete(HttpResult&& result) override {
    transport_.cancel_all();
    Recorder::on_complete(std::move(result));
  }

 private:
  HttpTransport& transport_;
};

TEST(HttpTransport, CancelAllFromCallbacksOnTwoIoThreadsAtOnceDoesNotDeadlock) {
  ScriptedServer server;
  server.set_handler([](const test::ReceivedRequest& r) {
    Script script;
    script.pause(r.body == "slow" ? 10s : 100ms);
    return script.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
  });
  HttpTransport transport(io_threads(2));
  const TimePoint began = Clock::now();
  std::vector<std::shared_ptr<Recorder>> slow;
  std::vector<std::shared_ptr<Recorder>> cancelling;
  // Dealt alternately (each loop holds as many): a slow and a cancelling exchange on each loop.
  for (int i = 0; i < 2; ++i) {
    slow.push_back(std::make_shared<Recorder>());
    transport.start(post(server, "slow"), slow.back());
  }
  for (int i = 0; i < 2; ++i) {
    cancelling.push_back(std::make_shared<CancellingRecorder>(transport));
    transport.start(post(server, "fast"), cancelling.back());
  }
  for (auto& recorder : cancelling) {
    // Answered, or cancelled by the other one's cancel_all if that came first.
    const Outcome outcome = recorder->wait().outcome;
    EXPECT_TRUE(outcome == Outcome::ok || outcome == Outcome::cancelled);
  }
  for (auto& recorder : slow) EXPECT_EQ(recorder->wait().outcome, Outcome::cancelled);
  EXPECT_LT(Clock::now() - began, 5s);
}

TEST(HttpTransport, AConnectionCapIsKeptByOneIoThread) {
  ScriptedServer server;
  server.set_handler([](const test::ReceivedRequest&) {
    return Script().pause(50ms).send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
  });
  HttpTransportOptions options = io_threads(4);
  options.max_connections = 1;
  HttpTransport transport(options);
  std::vector<std::shared_ptr<Recorder>> recorders;
  for (int i = 0; i < 4; ++i) {
    recorders.push_back(std::make_shared<Recorder>());
    transport.start(post(server), recorders.back());
  }
  for (auto& recorder : recorders) EXPECT_EQ(recorder->wait().outcome, Outcome::ok);
  EXPECT_EQ(server.connections(), 1u) << "four loops of one connection each would open four";
}

// Starts the next exchange from on_complete, as a closed-loop runner does.
class Chain : public HttpExchange {
 public:
  Chain(HttpTransport& transport, const ScriptedServer& server, int left,
        std::shared_ptr<Recorder> last)
      : transport_(transport), server_(server), left_(left), last_(std::move(last)) {}

  void on_complete(HttpResult&& result) override {
    if (left_ == 0 || result.outcome != Outcome::ok) {
      last_->on_complete(std::move(result));
      return;
    }
    transport_.start(post(server_), std::make_shared<Chain>(transport_, server_, left_ - 1, last_));
  }

 private:
  HttpTransport& transport_;
  const ScriptedServer& server_;
  int left_;
  std::shared_ptr<Recorder> last_;
};

TEST(HttpTransport, StartsNewExchangesFromCallbacks) {
  ScriptedServer server;
  server.set_handler([](const test::ReceivedRequest&) { return test::http_response(200, "{}"); });
  HttpTransport transport;
  auto last = std::make_shared<Recorder>();
  transport.start(post(server), std::make_shared<Chain>(transport, server, 20, last));
  EXPECT_EQ(last->wait().outcome, Outcome::ok);
  EXPECT_EQ(server.requests().size(), 21u);
}

TEST(HttpTransport, CancelAllEndsEveryExchangeOnce) {
  ScriptedServer server;
  // Answered by body, not by arrival order: a cancelled request may still reach the server
  // after the last one was started (its connection's thread reads it late).
  server.set_handler([](const test::ReceivedRequest& r) {
    return r.body == "after" ? test::http_response(200, "{}") : Script().pause(10s);
  });
  HttpTransport transport;
  std::vector<std::shared_ptr<Recorder>> recorders;
  for (int i = 0; i < 8; ++i) {
    recorders.push_back(std::make_shared<Recorder>());
    transport.start(post(server), recorders.back());
  }
  const auto began = Clock::now();
  transport.cancel_all();
  for (auto& recorder : recorders) {
    EXPECT_EQ(recorder->completions(), 1) << "cancel_all returns after every completion";
    EXPECT_EQ(recorder->wait().outcome, Outcome::cancelled);
  }
  EXPECT_LT(Clock::now() - began, 5s);
  // The transport still works afterwards.
  EXPECT_EQ(exchange(transport, post(server, "after")).outcome, Outcome::ok);
}

TEST(HttpTransport, CancelByOwnerLeavesOtherExchangesAlone) {
  ScriptedServer server;
  server.set_handler([](const test::ReceivedRequest& r) {
    Script script;
    if (r.body == "slow") script.pause(10s);
    script.pause(300ms);
    return script.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
  });
  HttpTransport transport;
  const int mine = 0;
  const int theirs = 0;
  auto cancelled = std::make_shared<Recorder>();
  auto kept = std::make_shared<Recorder>();
  HttpRequest slow = post(server, "slow");
  slow.owner = &mine;
  HttpRequest fast = post(server, "fast");
  fast.owner = &theirs;
  transport.start(slow, cancelled);
  transport.start(fast, kept);
  transport.cancel(&mine);
  EXPECT_EQ(cancelled->wait().outcome, Outcome::cancelled);
  const HttpResult result = kept->wait();
  EXPECT_EQ(result.outcome, Outcome::ok) << result.error;
  EXPECT_EQ(kept->completions(), 1);
}

TEST(HttpTransport, DestructorCancelsWhatIsInFlight) {
  ScriptedServer server;
  server.set_handler([](const test::ReceivedRequest&) { return Script().pause(10s); });
  std::vector<std::shared_ptr<Recorder>> recorders;
  {
    HttpTransport transport;
    for (int i = 0; i < 4; ++i) {
      recorders.push_back(std::make_shared<Recorder>());
      transport.start(post(server), recorders.back());
    }
  }
  for (auto& recorder : recorders) {
    EXPECT_EQ(recorder->completions(), 1);
    EXPECT_EQ(recorder->wait().outcome, Outcome::cancelled);
  }
}

// Throws from on_event: the transport must turn that into a failed exchange.
class ThrowingExchange : public Recorder {
 public:
  void on_event(const SseEvent& /*event*/) override { throw std::runtime_error("bad exchange"); }
};

TEST(HttpTransport, AThrowingCallbackFailsOnlyItsExchange) {
  ScriptedServer server;
  server.enqueue(test::sse_chunked({"data: one\n\n", "data: two\n\n"}));
  HttpTransport transport;
  auto recorder = std::make_shared<ThrowingExchange>();
  const HttpResult result = exchange(transport, post(server), recorder);
  EXPECT_EQ(result.outcome, Outcome::transport_error);
  EXPECT_NE(result.error.find("bad exchange"), std::string::npos) << result.error;
}

TEST(HttpTransport, CapsTheBufferedBody) {
  ScriptedServer server;
  const std::size_t size = (64u << 20) + 1;
  server.enqueue(test::http_response(200, std::string(size, 'x')));
  HttpTransport transport;
  const HttpResult result = exchange(transport, post(server));
  // Cut, not failed: the caller reads what it can of the beginning (see HttpResult::cut).
  EXPECT_EQ(result.outcome, Outcome::ok) << result.error;
  EXPECT_TRUE(result.cut);
  EXPECT_EQ(result.body.size(), std::size_t{64} << 20);
}

TEST(HttpTransport, VerboseTraceRedactsCredentials) {
  ScriptedServer server;
  server.enqueue(test::http_response(200, "{}"));
  const std::string canary = "sk-canary-7f3a9b";
  HttpRequest request = post(server);
  request.headers.emplace_back("Authorization", "Bearer " + canary);
  testing::internal::CaptureStderr();
  {
    HttpTransportOptions options;
    options.verbose = true;
    HttpTransport transport(options);
    exchange(transport, request);
  }
  const std::string trace = testing::internal::GetCapturedStderr();
  EXPECT_NE(trace.find("Authorization: [redacted]"), std::string::npos) << trace;
  EXPECT_NE(trace.find("X-Test: yes"), std::string::npos) << trace;
  EXPECT_EQ(trace.find(canary), std::string::npos) << trace;
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(*server.requests()[0].header("authorization"), "Bearer " + canary);
}

}  // namespace
}  // namespace medsafe
