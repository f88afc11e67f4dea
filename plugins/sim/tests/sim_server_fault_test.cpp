// Fault injection over HTTP: what a client sees of each fault, byte for byte, and what the
// server's log and stats say about it.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim_server.hpp"
#include "sim_test_support.hpp"

namespace {

using json = nlohmann::json;
using medsafe::sim::FaultKind;
using medsafe::sim::LogEntry;
using sim_test::chat_body;
using sim_test::Client;
using sim_test::HttpResponse;
using sim_test::log_of;
using sim_test::start_server;

constexpr std::string_view kMessagesBody =
    R"({"model":"claude-sim","max_tokens":64,"messages":[{"role":"user","content":"hello"}]})";

std::string id_header(std::string_view id) { return "X-Request-Id: " + std::string(id) + "\r\n"; }

std::string with_stream(std::string_view messages_body) {
  json body = json::parse(messages_body);
  body["stream"] = true;
  return body.dump();
}

TEST(SimServerFaults, StatusFaultsAnswerInTheApisFormatWithRetryAfter) {
  auto server = start_server("refusal_rate = 0\nfault_429_rate = 1\nretry_after_s = 0.25");
  Client client(server->port());
  const HttpResponse openai =
      client.call("POST", "/v1/chat/completions", chat_body("q", true), id_header("item-1"));
  EXPECT_EQ(openai.status, 429);
  EXPECT_EQ(openai.headers.at("retry-after"), "0.25");
  EXPECT_EQ(openai.headers.at("x-request-id"), "item-1");
  const json error = json::parse(openai.body);
  EXPECT_EQ(error["error"]["type"], "rate_limit_error");
  EXPECT_EQ(error["error"]["code"], "rate_limit_exceeded");

  const HttpResponse anthropic =
      client.call("POST", "/v1/messages", std::string(kMessagesBody), id_header("item-1"));
  EXPECT_EQ(anthropic.status, 429);
  EXPECT_EQ(anthropic.headers.at("retry-after"), "0.25");
  const json a_error = json::parse(anthropic.body);
  EXPECT_EQ(a_error["type"], "error");
  EXPECT_EQ(a_error["error"]["type"], "rate_limit_error");

  // The connection survives a status fault; each attempt is logged with its number.
  const std::vector<LogEntry> log = log_of(*server, "item-1");
  ASSERT_EQ(log.size(), 2U);
  EXPECT_EQ(log[0].attempt, 1);
  EXPECT_EQ(log[1].attempt, 2);
  EXPECT_EQ(log[0].api, "openai");
  EXPECT_EQ(log[1].api, "anthropic");
  for (const LogEntry& entry : log) {
    EXPECT_EQ(entry.status, 429);
    EXPECT_EQ(entry.fault, FaultKind::status_429);
    EXPECT_EQ(entry.completion_tokens, 0);
  }
  EXPECT_EQ(server->stats().faults_of(FaultKind::status_429), 2U);
  EXPECT_EQ(server->stats().errors, 2U);
  EXPECT_EQ(server->stats().in_flight, 0U);
}

TEST(SimServerFaults, ServerErrorsUseTheirStatusAndType) {
  for (const auto& [key, status, type] : {std::tuple{"fault_500_rate", 500, "api_error"},
                                          std::tuple{"fault_503_rate", 503, "overloaded_error"}}) {
    auto server = start_server(std::string("refusal_rate = 0\n") + key + " = 1");
    Client client(server->port());
    const HttpResponse openai = client.call("POST", "/v1/chat/completions", chat_body("q", false));
    EXPECT_EQ(openai.status, status);
    EXPECT_EQ(json::parse(openai.body)["error"]["type"], "server_error");
    EXPECT_EQ(openai.headers.count("retry-after"), 0U);
    const HttpResponse anthropic = client.call("POST", "/v1/messages", std::string(kMessagesBody));
    EXPECT_EQ(anthropic.status, status);
    EXPECT_EQ(json::parse(anthropic.body)["error"]["type"], type);
  }
}

TEST(SimServerFaults, ResetBeforeTheResponseSendsNothing) {
  auto server = start_server("refusal_rate = 0\nfault_reset_rate = 1");
  Client client(server->port());
  client.send_raw(
      Client::request("POST", "/v1/chat/completions", chat_body("q", true), id_header("r-1")));
  EXPECT_EQ(client.read_until_closed(), Client::End::reset);
  EXPECT_TRUE(client.buffered().empty()) << client.buffered();
  const std::vector<LogEntry> log = log_of(*server, "r-1");
  ASSERT_EQ(log.size(), 1U);
  EXPECT_EQ(log[0].status, 0);
  EXPECT_EQ(log[0].fault, FaultKind::reset);
  const auto stats = server->stats();
  EXPECT_EQ(stats.faults_of(FaultKind::reset), 1U);
  EXPECT_EQ(stats.in_flight, 0U);
  EXPECT_EQ(stats.client_closed, 0U);  // the server left, not the client
}

TEST(SimServerFaults, ResetMidStreamCutsTheStreamAfterItsEvents) {
  auto server = start_server(
      "refusal_rate = 0\noutput_tokens = 10\nfault_reset_mid_stream_rate = 1\n"
      "fault_after_events = 2");
  Client client(server->port());
  client.send_raw(
      Client::request("POST", "/v1/chat/completions", chat_body("q", true), id_header("m-1")));
  EXPECT_EQ(client.read_until_closed(), Client::End::reset);
  // What arrived before the reset (the kernel may drop unread bytes when a reset arrives) is at
  // most the head and two content events, never the end of the stream.
  EXPECT_EQ(client.buffered().find("[DONE]"), std::string::npos);
  EXPECT_EQ(client.buffered().find(" here"), std::string::npos);
  const std::vector<LogEntry> log = log_of(*server, "m-1");
  ASSERT_EQ(log.size(), 1U);
  EXPECT_EQ(log[0].status, 200);
  EXPECT_EQ(log[0].fault, FaultKind::reset_mid_stream);
  EXPECT_EQ(log[0].event_ns.size(), 2U);
  EXPECT_EQ(log[0].completion_tokens, 0);

  // Not streaming: the head promises the whole body, half of it comes, then the reset.
  Client whole(server->port());
  whole.send_raw(
      Client::request("POST", "/v1/chat/completions", chat_body("q", false), id_header("m-2")));
  EXPECT_EQ(whole.read_until_closed(), Client::End::reset);
  EXPECT_EQ(log_of(*server, "m-2").at(0).fault, FaultKind::reset_mid_stream);
  EXPECT_EQ(server->stats().in_flight, 0U);
}

TEST(SimServerFaults, StallHoldsTheStreamThenItGoesOn) {
  auto server = start_server(
      "refusal_rate = 0\noutput_tokens = 3\nfault_stall_rate = 1\nstall_ms = 300\n"
      "fault_after_events = 1");
  Client client(server->port());
  const HttpResponse r =
      client.call("POST", "/v1/chat/completions", chat_body("q", true), id_header("s-1"));
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("data: [DONE]"), std::string::npos);
  const std::vector<LogEntry> log = log_of(*server, "s-1");
  ASSERT_EQ(log.size(), 1U);
  EXPECT_EQ(log[0].fault, FaultKind::stall);
  ASSERT_EQ(log[0].event_ns.size(), 3U);
  // A lower bound only: the server's timer never fires early. Events are due on absolute times,
  // so a first event written late (a sanitizer build is slow) shortens the span by as much.
  EXPECT_GE(log[0].event_ns[1] - log[0].event_ns[0], 290'000'000);

  const HttpResponse whole =
      client.call("POST", "/v1/chat/completions", chat_body("q", false), id_header("s-2"));
  EXPECT_EQ(whole.status, 200);
  const LogEntry entry = log_of(*server, "s-2").at(0);
  EXPECT_GE(entry.first_event_ns - entry.received_ns, 300'000'000);
}

TEST(SimServerFaults, StalledClientsThatLeaveAreLoggedWithTheirFault) {
  auto server = start_server("refusal_rate = 0\nfault_stall_rate = 1\nstall_ms = 60000");
  {
    Client client(server->port());
    client.send_raw(
        Client::request("POST", "/v1/chat/completions", chat_body("q", true), id_header("gone")));
    // Wait for the headers, then leave as an idle timeout would.
    while (server->stats().streamed == 0) std::this_thread::yield();
  }
  for (int i = 0; i < 2000 && server->stats().in_flight != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const std::vector<LogEntry> log = log_of(*server, "gone");
  ASSERT_EQ(log.size(), 1U);
  EXPECT_EQ(log[0].status, 499);
  EXPECT_EQ(log[0].fault, FaultKind::stall);
}

TEST(SimServerFaults, MalformedBodiesAndBrokenEvents) {
  auto server = start_server("refusal_rate = 0\noutput_tokens = 5\nfault_malformed_rate = 1");
  Client client(server->port());
  const HttpResponse whole = client.call("POST", "/v1/chat/completions", chat_body("q", false));
  EXPECT_EQ(whole.status, 200);
  EXPECT_TRUE(json::parse(whole.body, nullptr, false).is_discarded()) << whole.body;

  const HttpResponse stream = client.call("POST", "/v1/chat/completions", chat_body("q", true));
  const std::vector<std::string> data = sim_test::sse_data(stream.body);
  std::size_t broken = 0;
  for (const std::string& d : data) {
    if (d != "[DONE]" && json::parse(d, nullptr, false).is_discarded()) ++broken;
  }
  EXPECT_EQ(broken, 1U);
  // The broken event is the second (after fault_after_events = 1 content event); the stream
  // then goes on to its end.
  EXPECT_TRUE(json::parse(data.at(2), nullptr, false).is_discarded()) << data.at(2);
  EXPECT_EQ(data.back(), "[DONE]");

  const HttpResponse anthropic = client.call("POST", "/v1/messages", with_stream(kMessagesBody));
  std::size_t a_broken = 0;
  for (const auto& event : sim_test::sse_events(anthropic.body)) {
    if (json::parse(event.data, nullptr, false).is_discarded()) {
      ++a_broken;
      EXPECT_EQ(event.event, "content_block_delta");
    }
  }
  EXPECT_EQ(a_broken, 1U);
  EXPECT_EQ(server->stats().faults_of(FaultKind::malformed), 3U);
}

TEST(SimServerFaults, InBandErrorsEndTheStreamWithoutItsEndMarker) {
  auto server = start_server(
      "refusal_rate = 0\noutput_tokens = 5\nfault_error_event_rate = 1\nfault_after_events = 2");
  Client client(server->port());
  const HttpResponse openai =
      client.call("POST", "/v1/chat/completions", chat_body("q", true), id_header("e-1"));
  EXPECT_EQ(openai.status, 200);
  const std::vector<std::string> data = sim_test::sse_data(openai.body);
  ASSERT_EQ(data.size(), 4U);  // role, two content events, the error
  EXPECT_EQ(json::parse(data.back())["error"]["type"], "server_error");

  const HttpResponse anthropic =
      client.call("POST", "/v1/messages", with_stream(kMessagesBody), id_header("e-2"));
  const auto events = sim_test::sse_events(anthropic.body);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().event, "error");
  const json error = json::parse(events.back().data);
  EXPECT_EQ(error["type"], "error");
  EXPECT_EQ(error["error"]["type"], "overloaded_error");
  for (const auto& event : events) EXPECT_NE(event.event, "message_stop");

  // Not streaming: a 200 whose body is the error object.
  const HttpResponse whole = client.call("POST", "/v1/chat/completions", chat_body("q", false));
  EXPECT_EQ(whole.status, 200);
  EXPECT_TRUE(json::parse(whole.body).contains("error"));

  const LogEntry entry = log_of(*server, "e-1").at(0);
  EXPECT_EQ(entry.fault, FaultKind::error_event);
  EXPECT_EQ(entry.status, 200);
  EXPECT_EQ(entry.event_ns.size(), 2U);
  EXPECT_EQ(entry.completion_tokens, 0);
  EXPECT_EQ(server->stats().in_flight, 0U);
}

TEST(SimServerFaults, SlowDripSpacesTheEvents) {
  auto server =
      start_server("refusal_rate = 0\noutput_tokens = 3\nfault_slow_drip_rate = 1\ndrip_ms = 40");
  Client client(server->port());
  const HttpResponse r =
      client.call("POST", "/v1/chat/completions", chat_body("q", true), id_header("d-1"));
  EXPECT_NE(r.body.find("[DONE]"), std::string::npos);
  const LogEntry entry = log_of(*server, "d-1").at(0);
  EXPECT_EQ(entry.fault, FaultKind::slow_drip);
  ASSERT_EQ(entry.event_ns.size(), 3U);
  // Two drips of 40 ms (itl_ms is 0). Events are due on absolute times, so a first write that
  // went out a little late shortens the measured span by as much: allow 2 ms for that.
  EXPECT_GE(entry.event_ns[2] - entry.event_ns[0], 78'000'000);
  EXPECT_EQ(entry.completion_tokens, 3);
}

TEST(SimServerFaults, TheLogReconcilesWithTheSeededDraw) {
  const std::string config =
      "refusal_rate = 0\nseed = 9\noutput_tokens = 4\nfault_429_rate = 0.3\nfault_500_rate = 0.2\n"
      "fault_malformed_rate = 0.1";
  auto server = start_server(config);
  const auto faults = sim_test::settings(config).faults;
  Client client(server->port());
  constexpr int kIds = 30;
  constexpr int kAttempts = 3;
  for (int attempt = 1; attempt <= kAttempts; ++attempt) {
    for (int i = 0; i < kIds; ++i) {
      const std::string id = sim_test::numbered("item-", static_cast<std::size_t>(i));
      (void)client.call("POST", "/v1/chat/completions", chat_body(id, attempt % 2 == 0),
                        id_header(id));
    }
  }
  const std::vector<LogEntry> log = server->log();
  ASSERT_EQ(log.size(), static_cast<std::size_t>(kIds * kAttempts));
  std::uint64_t faulted = 0;
  for (const LogEntry& entry : log) {
    EXPECT_EQ(entry.fault, faults.draw(9, entry.id, entry.attempt)) << entry.id;
    faulted += entry.fault != FaultKind::none ? 1 : 0;
  }
  const auto stats = server->stats();
  std::uint64_t counted = 0;
  for (const std::uint64_t n : stats.faults) counted += n;
  EXPECT_EQ(counted, faulted);
  EXPECT_GT(faulted, 20U);

  // A reset forgets the attempts: the next request with a known id is attempt 1 again.
  server->reset();
  (void)client.call("POST", "/v1/chat/completions", chat_body("x", false), id_header("item-0"));
  EXPECT_EQ(log_of(*server, "item-0").at(0).attempt, 1);
}

TEST(SimServerFaults, StatsPrintFaultsByKind) {
  auto server = start_server("refusal_rate = 0\nfault_503_rate = 1");
  Client client(server->port());
  (void)client.call("POST", "/v1/chat/completions", chat_body("q", false));
  const json stats = json::parse(client.call("GET", "/sim/stats").body);
  EXPECT_EQ(stats["faults"]["503"], 1);
  EXPECT_EQ(stats["faults"]["429"], 0);
  EXPECT_EQ(stats["faults"].size(), medsafe::sim::kFaultKindCount - 1);
  const std::string log = client.call("GET", "/sim/log").body;
  const json line = json::parse(log.substr(0, log.find('\n')));
  EXPECT_EQ(line["fault"], "503");
  EXPECT_EQ(line["attempt"], 1);
  EXPECT_EQ(line["api"], "openai");
  EXPECT_EQ(line["authorized"], false);
}

TEST(SimServerAuth, ChecksTheKeyWithoutEverEchoingIt) {
  const std::string key = "sk-canary-0123456789";
  auto server = start_server("refusal_rate = 0", key);
  Client client(server->port());
  EXPECT_EQ(client
                .call("POST", "/v1/chat/completions", chat_body("q", false),
                      id_header("bearer") + "Authorization: Bearer " + key + "\r\n")
                .status,
            200);
  EXPECT_EQ(client
                .call("POST", "/v1/messages", std::string(kMessagesBody),
                      id_header("x-api-key") + "x-api-key: " + key +
                          "\r\nanthropic-version: 2023-06-01\r\n")
                .status,
            200);
  const HttpResponse wrong =
      client.call("POST", "/v1/chat/completions", chat_body("q", false),
                  id_header("wrong") + "Authorization: Bearer " + key + "x\r\n");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(json::parse(wrong.body)["error"]["type"], "authentication_error");
  const HttpResponse none =
      client.call("POST", "/v1/messages", std::string(kMessagesBody), id_header("none"));
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(json::parse(none.body)["error"]["type"], "authentication_error");

  EXPECT_TRUE(log_of(*server, "bearer").at(0).authorized);
  EXPECT_TRUE(log_of(*server, "x-api-key").at(0).authorized);
  EXPECT_FALSE(log_of(*server, "wrong").at(0).authorized);
  EXPECT_EQ(log_of(*server, "wrong").at(0).status, 401);
  EXPECT_EQ(server->stats().unauthorized, 2U);
  const std::string everything = client.call("GET", "/sim/log").body +
                                 client.call("GET", "/sim/stats").body + wrong.body + none.body;
  EXPECT_EQ(everything.find(key), std::string::npos);
}

}  // namespace
