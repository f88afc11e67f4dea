#include "sim_server.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "medsafe/clock.hpp"
#include "sim_test_support.hpp"

namespace {

using json = nlohmann::json;
using medsafe::sim::ServerOptions;
using medsafe::sim::SimServer;
using sim_test::chat_body;
using sim_test::Client;
using sim_test::HttpResponse;
using sim_test::settings;
using sim_test::start_server;

struct Stream {
  std::vector<json> chunks;  ///< every chunk before [DONE]
  bool done = false;
  std::string content;
};

Stream parse_stream(const HttpResponse& response) {
  Stream stream;
  for (const std::string& data : sim_test::sse_data(response.body)) {
    EXPECT_FALSE(stream.done) << "data after [DONE]";
    if (data == "[DONE]") {
      stream.done = true;
      continue;
    }
    json chunk = json::parse(data);
    EXPECT_EQ(chunk["object"], "chat.completion.chunk");
    for (const json& choice : chunk["choices"]) {
      if (choice["delta"].contains("content")) {
        stream.content += choice["delta"]["content"].get<std::string>();
      }
    }
    stream.chunks.push_back(std::move(chunk));
  }
  return stream;
}

json stats_of(Client& client) {
  const HttpResponse r = client.call("GET", "/sim/stats");
  EXPECT_EQ(r.status, 200);
  return json::parse(r.body);
}

TEST(SimServer, AnswersNonStreamingInTheOpenAiFormat) {
  auto server = start_server("refusal_rate = 0\noutput_tokens = 12");
  Client client(server->port());
  const HttpResponse r = client.call("POST", "/v1/chat/completions", chat_body("hi there", false));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers.at("content-type"), "application/json");
  const json body = json::parse(r.body);
  EXPECT_EQ(body["object"], "chat.completion");
  EXPECT_EQ(body["model"], "test-model");
  EXPECT_TRUE(body["id"].get<std::string>().starts_with("chatcmpl-"));
  const json& choice = body["choices"][0];
  EXPECT_EQ(choice["message"]["role"], "assistant");
  const std::string content = choice["message"]["content"];
  EXPECT_TRUE(content.starts_with(medsafe::sim::kComplianceMarker)) << content;
  EXPECT_EQ(choice["finish_reason"], "stop");
  EXPECT_EQ(body["usage"]["prompt_tokens"], 2);
  EXPECT_EQ(body["usage"]["completion_tokens"], 12);
  EXPECT_EQ(body["usage"]["total_tokens"], 14);
}

TEST(SimServer, StreamsSseChunksThenUsageThenDone) {
  auto server = start_server("refusal_rate = 0\noutput_tokens = 12\ntokens_per_event = 5");
  Client client(server->port());
  const HttpResponse whole = client.call("POST", "/v1/chat/completions", chat_body("q", false));
  const HttpResponse r = client.call("POST", "/v1/chat/completions", chat_body("q", true));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.at("content-type"), "text/event-stream");
  EXPECT_EQ(r.headers.at("transfer-encoding"), "chunked");
  const Stream stream = parse_stream(r);
  EXPECT_TRUE(stream.done);
  ASSERT_EQ(stream.chunks.size(), 1U + 3U + 1U + 1U);  // role, ceil(12/5) content, finish, usage
  EXPECT_EQ(stream.chunks[0]["choices"][0]["delta"], json({{"role", "assistant"}}));
  for (std::size_t i = 1; i <= 3; ++i) {
    EXPECT_FALSE(stream.chunks[i]["choices"][0]["delta"]["content"].get<std::string>().empty());
    EXPECT_TRUE(stream.chunks[i]["choices"][0]["finish_reason"].is_null());
  }
  EXPECT_EQ(stream.chunks[4]["choices"][0]["finish_reason"], "stop");
  EXPECT_TRUE(stream.chunks[5]["choices"].empty());
  EXPECT_EQ(stream.chunks[5]["usage"]["completion_tokens"], 12);
  // The same prompt and seed give the same answer either way.
  EXPECT_EQ(stream.content, json::parse(whole.body)["choices"][0]["message"]["content"]);

  // Without include_usage there is no usage chunk.
  const HttpResponse plain =
      client.call("POST", "/v1/chat/completions",
                  chat_body("q", true, R"({"stream_options": {"include_usage": false}})"));
  const Stream no_usage = parse_stream(plain);
  EXPECT_TRUE(no_usage.done);
  EXPECT_EQ(no_usage.chunks.size(), 5U);
  EXPECT_FALSE(no_usage.chunks.back().contains("usage"));
}

TEST(SimServer, AnswersLikeTheInProcessModel) {
  const auto s = settings("refusal_rate = 0.5\nseed = 9");
  ServerOptions options;
  options.settings = s;
  SimServer server(options);
  server.start();
  const medsafe::sim::Model model(s);
  Client client(server.port());
  for (int i = 0; i < 20; ++i) {
    const std::string prompt = "question " + std::to_string(i);
    const HttpResponse r = client.call("POST", "/v1/chat/completions", chat_body(prompt, false));
    const auto messages = sim_test::ask(prompt);
    EXPECT_EQ(json::parse(r.body)["choices"][0]["message"]["content"],
              model.answer(medsafe::sim::Query{messages, {}, 11, {}, false}).text);
  }
}

TEST(SimServer, ReusesKeepAliveConnectionsAndCountsExactly) {
  auto server = start_server("refusal_rate = 0\noutput_tokens = 4");
  Client client(server->port());
  EXPECT_EQ(client.call("POST", "/sim/reset").status, 200);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(client.call("POST", "/v1/chat/completions", chat_body("a", false)).status, 200);
  }
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(client.call("POST", "/v1/chat/completions", chat_body("b", true)).status, 200);
  }
  EXPECT_EQ(client.call("POST", "/v1/chat/completions", "{not json").status, 400);
  EXPECT_EQ(client.call("GET", "/v1/models").status, 200);
  EXPECT_EQ(client.call("GET", "/nowhere").status, 404);
  const json stats = stats_of(client);
  EXPECT_EQ(stats["requests_total"], 8);
  EXPECT_EQ(stats["chat_completions"], 6);
  EXPECT_EQ(stats["non_streamed"], 3);
  EXPECT_EQ(stats["streamed"], 2);
  EXPECT_EQ(stats["errors"], 2);
  EXPECT_EQ(stats["in_flight"], 0);
  EXPECT_EQ(stats["connections_total"], 0);  // the one connection was opened before the reset
  EXPECT_EQ(stats["connections_open"], 1);
  EXPECT_EQ(server->stats().chat_completions, 6U);
  EXPECT_EQ(server->log().size(), 6U);
}

TEST(SimServer, LogsEveryChatRequestWithOrderedEventTimes) {
  auto server = start_server("refusal_rate = 0\noutput_tokens = 8\nttft_ms = 5\nitl_ms = 2");
  Client client(server->port());
  const HttpResponse r = client.call("POST", "/v1/chat/completions", chat_body("x", true),
                                     "X-Request-Id: model/suite/item#0\r\n");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.at("x-request-id"), "model/suite/item#0");
  EXPECT_EQ(client.call("POST", "/v1/chat/completions", chat_body("y", false)).status, 200);

  const HttpResponse log = client.call("GET", "/sim/log");
  ASSERT_EQ(log.status, 200);
  std::vector<json> lines;
  std::size_t pos = 0;
  while (pos < log.body.size()) {
    const std::size_t end = log.body.find('\n', pos);
    ASSERT_NE(end, std::string::npos);
    lines.push_back(json::parse(log.body.substr(pos, end - pos)));
    pos = end + 1;
  }
  ASSERT_EQ(lines.size(), 2U);
  const json& streamed = lines[0];
  EXPECT_EQ(streamed["id"], "model/suite/item#0");
  EXPECT_EQ(streamed["streamed"], true);
  EXPECT_EQ(streamed["status"], 200);
  EXPECT_EQ(streamed["completion_tokens"], 8);
  const auto events = streamed["event_ns"].get<std::vector<std::int64_t>>();
  ASSERT_EQ(events.size(), 8U);
  EXPECT_TRUE(std::is_sorted(events.begin(), events.end()));
  EXPECT_EQ(streamed["first_event_ns"], events.front());
  const std::int64_t received = streamed["received_ns"];
  EXPECT_LE(events.back(), streamed["finished_ns"].get<std::int64_t>());
  // Events are never written before they are due (a lower bound only: never flaky).
  for (std::size_t i = 0; i < events.size(); ++i) {
    EXPECT_GE(events[i] - received, 5'000'000 + static_cast<std::int64_t>(i) * 2'000'000) << i;
  }
  // The server's stamps are on the client's clock (CLOCK_MONOTONIC).
  EXPECT_LE(streamed["finished_ns"].get<std::int64_t>(), medsafe::to_ns(medsafe::Clock::now()));

  const json& plain = lines[1];
  EXPECT_TRUE(plain["id"].get<std::string>().starts_with("sim-"));
  EXPECT_EQ(plain["streamed"], false);
  EXPECT_TRUE(plain["event_ns"].empty());
  EXPECT_GE(plain["first_event_ns"].get<std::int64_t>(), plain["received_ns"].get<std::int64_t>());

  const auto in_process = server->log();
  ASSERT_EQ(in_process.size(), 2U);
  EXPECT_EQ(in_process[0].event_ns, events);
  EXPECT_EQ(in_process[0].to_json(), log.body.substr(0, log.body.find('\n')));

  server->reset();
  EXPECT_TRUE(server->log().empty());
  EXPECT_EQ(server->stats().chat_completions, 0U);
}

TEST(SimServer, RejectsMalformedRequestsInTheOpenAiErrorFormat) {
  auto server = start_server("refusal_rate = 0");
  Client client(server->port());
  const std::vector<std::string> bad_bodies = {
      "{not json",
      "[1, 2]",
      R"({"model": "m"})",
      R"({"messages": []})",
      R"({"messages": [{"content": "no role"}]})",
      R"({"messages": [{"role": "user", "content": 5}]})",
      R"({"messages": [{"role": "user", "content": "x"}], "stream": "yes"})",
      R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": -1})",
      R"({"messages": [{"role": "user", "content": "x"}], "seed": 1.5})",
  };
  for (const std::string& body : bad_bodies) {
    const HttpResponse r = client.call("POST", "/v1/chat/completions", body);
    EXPECT_EQ(r.status, 400) << body;
    const json error = json::parse(r.body);
    EXPECT_TRUE(error["error"]["message"].is_string()) << r.body;
    EXPECT_EQ(error["error"]["type"], "invalid_request_error");
  }
  EXPECT_EQ(client.call("GET", "/v1/chat/completions").status, 405);
  const HttpResponse missing = client.call("GET", "/v2/whatever");
  EXPECT_EQ(missing.status, 404);
  EXPECT_TRUE(json::parse(missing.body)["error"]["message"].is_string());
  // The connection survived all of it.
  EXPECT_EQ(client.call("POST", "/v1/chat/completions", chat_body("ok", false)).status, 200);
  EXPECT_EQ(server->stats().errors, bad_bodies.size() + 2);
  EXPECT_EQ(server->log().size(), bad_bodies.size() + 1);
  EXPECT_EQ(server->log().front().status, 400);

  // A request line that is not HTTP gets 400 and the connection is closed.
  Client garbage(server->port());
  garbage.send_raw("HELLO\r\n\r\n");
  EXPECT_EQ(garbage.read_response().status, 400);
  EXPECT_TRUE(garbage.wait_closed());
}

TEST(SimServer, AcceptsContentPartsAndMaxTokens) {
  auto server = start_server("refusal_rate = 0\noutput_tokens = 20");
  Client client(server->port());
  const std::string body =
      R"({"model":"m","messages":[{"role":"system","content":null},)"
      R"({"role":"user","content":[{"type":"text","text":"hello"}]}],"max_tokens":3})";
  const HttpResponse r = client.call("POST", "/v1/chat/completions", body);
  ASSERT_EQ(r.status, 200) << r.body;
  const json answer = json::parse(r.body);
  EXPECT_EQ(answer["usage"]["completion_tokens"], 3);
  EXPECT_EQ(answer["choices"][0]["finish_reason"], "length");
  const HttpResponse eos =
      client.call("POST", "/v1/chat/completions",
                  chat_body("x", false, R"({"max_tokens":64,"ignore_eos":true})"));
  EXPECT_EQ(json::parse(eos.body)["usage"]["completion_tokens"], 64);
}

TEST(SimServer, HandlesPipeliningExpectContinueAndConnectionClose) {
  auto server = start_server("refusal_rate = 0\noutput_tokens = 3");
  Client client(server->port());
  const std::string one = Client::request("POST", "/v1/chat/completions", chat_body("1", false),
                                          "X-Request-Id: first\r\n");
  const std::string two = Client::request("POST", "/v1/chat/completions", chat_body("2", true),
                                          "X-Request-Id: second\r\n");
  client.send_raw(one + two);
  const HttpResponse first = client.read_response();
  const HttpResponse second = client.read_response();
  EXPECT_EQ(first.headers.at("x-request-id"), "first");
  EXPECT_EQ(second.headers.at("x-request-id"), "second");
  EXPECT_TRUE(parse_stream(second).done);

  const std::string body = chat_body("continue", false);
  client.send_raw("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                  std::to_string(body.size()) + "\r\nExpect: 100-continue\r\n\r\n");
  pollfd wait_for{client.fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&wait_for, 1, 20'000), 1);  // the interim response arrives without a body
  client.send_raw(body);
  EXPECT_EQ(client.read_response().status, 200);

  const HttpResponse closing =
      client.call("POST", "/v1/chat/completions", body, "Connection: close\r\n");
  EXPECT_EQ(closing.status, 200);
  EXPECT_EQ(closing.headers.at("connection"), "close");
  EXPECT_TRUE(client.wait_closed());
}

TEST(SimServer, ServesThreeHundredConcurrentConnections) {
  auto server = start_server("refusal_rate = 0\noutput_tokens = 4\nttft_ms = 100\nitl_ms = 1");
  constexpr std::size_t kConnections = 300;
  std::vector<std::unique_ptr<Client>> clients;
  for (std::size_t i = 0; i < kConnections; ++i) {
    clients.push_back(std::make_unique<Client>(server->port()));
  }
  for (std::size_t i = 0; i < kConnections; ++i) {
    clients[i]->send_raw(Client::request("POST", "/v1/chat/completions",
                                         chat_body(sim_test::numbered("c", i), i % 2 == 0)));
  }
  for (std::size_t i = 0; i < kConnections; ++i) {
    const HttpResponse r = clients[i]->read_response();
    EXPECT_EQ(r.status, 200) << i;
  }
  const medsafe::sim::ServerStats stats = server->stats();
  EXPECT_EQ(stats.chat_completions, kConnections);
  EXPECT_EQ(stats.connections_open, kConnections);
  EXPECT_EQ(stats.in_flight, 0U);
  EXPECT_GT(stats.max_in_flight, 1U);
  EXPECT_EQ(stats.errors, 0U);
}

TEST(SimServer, CapacityMakesLaterRequestsWait) {
  auto server = start_server("refusal_rate = 0\noutput_tokens = 1\nttft_ms = 50\ncapacity = 2");
  constexpr std::size_t kCount = 6;
  std::vector<std::unique_ptr<Client>> clients;
  for (std::size_t i = 0; i < kCount; ++i) {
    clients.push_back(std::make_unique<Client>(server->port()));
    clients.back()->send_raw(
        Client::request("POST", "/v1/chat/completions", chat_body(std::to_string(i), true)));
  }
  for (auto& client : clients) EXPECT_EQ(client->read_response().status, 200);
  const auto log = server->log();
  ASSERT_EQ(log.size(), kCount);
  std::int64_t first_received = log.front().received_ns;
  std::int64_t last_finished = 0;
  for (const auto& entry : log) {
    first_received = std::min(first_received, entry.received_ns);
    last_finished = std::max(last_finished, entry.finished_ns);
  }
  // Three waves of two: the last cannot end before 3 x 50 ms after the first arrived.
  EXPECT_GE(last_finished - first_received, 150'000'000);
  EXPECT_EQ(server->stats().max_in_flight, kCount);
}

TEST(SimServer, CountsClientsThatLeaveMidStream) {
  auto server = start_server("refusal_rate = 0\noutput_tokens = 50\nitl_ms = 20");
  {
    Client client(server->port());
    client.send_raw(Client::request("POST", "/v1/chat/completions", chat_body("bye", true)));
    pollfd wait_for{client.fd(), POLLIN, 0};
    ASSERT_EQ(::poll(&wait_for, 1, 20'000), 1);  // headers and the role chunk
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (server->stats().client_closed == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const auto stats = server->stats();
  EXPECT_EQ(stats.client_closed, 1U);
  EXPECT_EQ(stats.in_flight, 0U);
  ASSERT_EQ(server->log().size(), 1U);
  EXPECT_EQ(server->log().front().status, 499);
}

TEST(SimServer, StartStopAndBaseUrl) {
  ServerOptions options;
  SimServer server(options);
  EXPECT_FALSE(server.running());
  const std::uint16_t port = server.start();
  EXPECT_TRUE(server.running());
  EXPECT_NE(port, 0);
  EXPECT_EQ(server.base_url(), "http://127.0.0.1:" + std::to_string(port) + "/v1");
  EXPECT_THROW(server.start(), medsafe::Error);
  {
    Client client(port);
    const json models = json::parse(client.call("GET", "/v1/models").body);
    EXPECT_EQ(models["data"][0]["id"], "medsafe-sim");
  }
  server.stop();
  server.stop();
  EXPECT_FALSE(server.running());
  EXPECT_THROW(Client{port}, std::runtime_error);

  ServerOptions taken;
  taken.port = port;
  SimServer first(taken);
  first.start();
  SimServer second(taken);
  EXPECT_THROW(second.start(), medsafe::Error);
}

TEST(SimServerConfig, ReadsTheManifestKeys) {
  const auto s = medsafe::sim::settings_from_toml("capacity = 3\nttft_ms = 2.5", "cfg.toml");
  EXPECT_EQ(s.capacity, 3);
  EXPECT_EQ(s.ttft_ms, 2.5);
  EXPECT_EQ(medsafe::sim::sim_config_schema().keys.size(), sim_test::schema().keys.size());
  try {
    (void)medsafe::sim::settings_from_toml("\ncapacty = 3", "cfg.toml");
    ADD_FAILURE() << "unknown key accepted";
  } catch (const medsafe::Error& e) {
    EXPECT_NE(std::string(e.what()).find("cfg.toml:2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("capacty"), std::string::npos) << e.what();
  }
}

// ---------------------------------------------------------------------------------------------
// The program.

struct Child {
  pid_t pid = -1;
  int out = -1;
  int err = -1;
};

Child spawn_server(const std::vector<std::string>& args) {
  int out[2];
  int err[2];
  EXPECT_EQ(::pipe2(out, O_CLOEXEC), 0);
  EXPECT_EQ(::pipe2(err, O_CLOEXEC), 0);
  Child child;
  child.pid = ::fork();
  if (child.pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err[1], STDERR_FILENO);
    std::vector<char*> argv;
    std::string exe = SIM_SERVER_EXE;
    argv.push_back(exe.data());
    std::vector<std::string> copies = args;
    for (std::string& a : copies) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(exe.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  child.out = out[0];
  child.err = err[0];
  return child;
}

std::string read_line(int fd) {
  std::string line;
  char c = 0;
  pollfd wait_for{fd, POLLIN, 0};
  while (::poll(&wait_for, 1, 20'000) == 1 && ::read(fd, &c, 1) == 1 && c != '\n') line += c;
  return line;
}

std::string read_all(int fd) {
  std::string text;
  char buf[4096];
  ssize_t n = 0;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(n));
  return text;
}

int wait_exit(pid_t pid) {
  int status = 0;
  for (int i = 0; i < 2000; ++i) {
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return -1;
}

TEST(SimServerProgram, PrintsItsAddressServesAndStopsOnSigterm) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("medsafe_sim_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::filesystem::path config = dir / "sim.toml";
  std::ofstream(config) << "refusal_rate = 0\noutput_tokens = 5\n";
  const std::filesystem::path port_file = dir / "port";
  Child child = spawn_server({"--port", "0", "--config", config.string(), "--port-file",
                              port_file.string(), "--host", "127.0.0.1"});
  const std::string line = read_line(child.out);
  std::smatch match;
  ASSERT_TRUE(std::regex_match(
      line, match, std::regex(R"(medsafe-sim-server listening on http://127\.0\.0\.1:(\d+)/v1)")))
      << line << read_all(child.err);
  const auto port = static_cast<std::uint16_t>(std::stoi(match[1]));
  std::ifstream port_in(port_file);
  int written_port = 0;
  port_in >> written_port;
  EXPECT_EQ(written_port, port);
  {
    Client client(port);
    const HttpResponse r = client.call("POST", "/v1/chat/completions", chat_body("p", false));
    EXPECT_EQ(json::parse(r.body)["usage"]["completion_tokens"], 5);
  }
  ::kill(child.pid, SIGTERM);
  EXPECT_EQ(wait_exit(child.pid), 0);
  EXPECT_EQ(read_all(child.out), "");  // exactly one line on stdout
  ::close(child.out);
  ::close(child.err);
  std::filesystem::remove_all(dir);
}

TEST(SimServerProgram, RejectsABadConfigWithItsLocation) {
  const std::filesystem::path config = std::filesystem::temp_directory_path() /
                                       ("medsafe_sim_bad_" + std::to_string(::getpid()) + ".toml");
  std::ofstream(config) << "refusal_rate = 0\nttft = 5\n";
  Child child = spawn_server({"--config", config.string()});
  EXPECT_EQ(wait_exit(child.pid), 1);
  const std::string err = read_all(child.err);
  EXPECT_NE(err.find(config.string() + ":2"), std::string::npos) << err;
  EXPECT_NE(err.find("ttft"), std::string::npos) << err;
  EXPECT_EQ(read_all(child.out), "");
  ::close(child.out);
  ::close(child.err);
  std::filesystem::remove(config);
}

}  // namespace
