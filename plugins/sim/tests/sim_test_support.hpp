#pragma once
// Helpers shared by the sim tests: settings from the real manifest, and a tiny blocking HTTP/1.1
// client over a raw socket (so the tests see exactly the bytes the server writes).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "medsafe/backend.hpp"
#include "medsafe/config.hpp"
#include "medsafe/manifest.hpp"
#include "medsafe/text.hpp"
#include "sim_model.hpp"
#include "sim_server.hpp"

namespace sim_test {

/// The `sim` manifest's schema, read from plugins/sim/plugin.toml.
inline const medsafe::ConfigSchema& schema() {
  static const medsafe::ConfigSchema s = medsafe::read_manifest(SIM_MANIFEST).config;
  return s;
}

/// Settings from TOML text with the manifest's keys (validated like a run file's table).
inline medsafe::sim::Settings settings(std::string_view toml_text) {
  return medsafe::sim::Settings::from_config(medsafe::Config::from_toml(toml_text, schema()));
}

/// prefix + decimal n, built by appending: GCC 12 at -O3 warns falsely (-Wrestrict) about
/// `"q" + std::to_string(n)`.
inline std::string numbered(std::string_view prefix, std::size_t n) {
  std::string text(prefix);
  text += std::to_string(n);
  return text;
}

/// A started server with settings from TOML text (and, when given, a required API key).
inline std::unique_ptr<medsafe::sim::SimServer> start_server(std::string_view toml_text,
                                                             std::string api_key = {}) {
  medsafe::sim::ServerOptions options;
  options.settings = settings(toml_text);
  options.api_key = std::move(api_key);
  auto server = std::make_unique<medsafe::sim::SimServer>(options);
  server->start();
  return server;
}

/// An OpenAI chat completion body asking `prompt` (seed 11, usage when streaming); `extra` is
/// JSON merged into it.
inline std::string chat_body(std::string_view prompt, bool stream, std::string_view extra = {}) {
  nlohmann::json body = {{"model", "test-model"},
                         {"messages", {{{"role", "user"}, {"content", std::string(prompt)}}}},
                         {"stream", stream},
                         {"temperature", 0},
                         {"seed", 11}};
  if (stream) body["stream_options"] = {{"include_usage", true}};
  if (!extra.empty()) body.update(nlohmann::json::parse(extra));
  return body.dump();
}

/// One user message.
inline std::vector<medsafe::Message> ask(std::string text) {
  return {medsafe::Message{"user", std::move(text)}};
}

/// Collects responses by submission index and waits for them with a generous bound.
class Collector {
 public:
  explicit Collector(std::size_t expected) : responses_(expected) {}

  medsafe::ResponseCallback slot(std::size_t index) {
    return [this, index](medsafe::Response&& response) {
      const std::lock_guard lock(mutex_);
      EXPECT_FALSE(responses_[index].has_value()) << "callback called twice for " << index;
      responses_[index] = std::move(response);
      ++done_;
      changed_.notify_all();
    };
  }

  bool wait(std::chrono::seconds bound = std::chrono::seconds(30)) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, bound, [this] { return done_ == responses_.size(); });
  }

  const medsafe::Response& operator[](std::size_t index) const { return *responses_[index]; }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::optional<medsafe::Response>> responses_;
  std::size_t done_ = 0;
};

/// A request with one user message, id "m/s/<text>".
inline medsafe::Request request(std::string text) {
  medsafe::Request r;
  r.id = "m/s/" + text;
  r.messages = ask(std::move(text));
  return r;
}

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  ///< names in lower case
  std::string body;                            ///< de-chunked
};

/// A blocking HTTP/1.1 client on one connection; reads time out after 20 s so a broken server
/// fails the test instead of hanging it.
class Client {
 public:
  explicit Client(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket failed");
    timeval timeout{20, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      ::close(fd_);
      throw std::runtime_error("connect failed");
    }
  }
  ~Client() { close(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  void send_raw(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error("send failed");
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  /// A request text with Content-Length (and extra header lines, each ending in \r\n).
  static std::string request(std::string_view method, std::string_view path,
                             std::string_view body = {}, std::string_view extra_headers = {}) {
    std::string text = std::string(method) + " " + std::string(path) +
                       " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + std::string(extra_headers);
    if (!body.empty() || method == "POST") {
      text += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
              "\r\n";
    }
    text += "\r\n";
    text += body;
    return text;
  }

  HttpResponse call(std::string_view method, std::string_view path, std::string_view body = {},
                    std::string_view extra_headers = {}) {
    send_raw(request(method, path, body, extra_headers));
    return read_response();
  }

  /// Reads one whole response (Content-Length or chunked).
  HttpResponse read_response() {
    HttpResponse response;
    std::size_t head_end = 0;
    while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) fill();
    const std::string head = buffer_.substr(0, head_end);
    buffer_.erase(0, head_end + 4);
    std::size_t line_end = head.find("\r\n");
    const std::string status_line = head.substr(0, line_end);
    response.status = std::stoi(status_line.substr(status_line.find(' ') + 1, 3));
    while (line_end != std::string::npos) {
      const std::size_t start = line_end + 2;
      line_end = head.find("\r\n", start);
      const std::string line = head.substr(start, line_end - start);
      const std::size_t colon = line.find(':');
      const std::string name = medsafe::ascii_lower(std::string_view(line).substr(0, colon));
      std::size_t value_start = colon + 1;
      while (value_start < line.size() && line[value_start] == ' ') ++value_start;
      response.headers[name] = line.substr(value_start);
    }
    if (response.status == 100) return read_response();
    if (response.headers.count("content-length") != 0) {
      const auto length = std::stoul(response.headers["content-length"]);
      while (buffer_.size() < length) fill();
      response.body = buffer_.substr(0, length);
      buffer_.erase(0, length);
    } else if (response.headers["transfer-encoding"] == "chunked") {
      for (;;) {
        std::size_t eol = 0;
        while ((eol = buffer_.find("\r\n")) == std::string::npos) fill();
        const std::size_t size = std::stoul(buffer_.substr(0, eol), nullptr, 16);
        while (buffer_.size() < eol + 2 + size + 2) fill();
        response.body += buffer_.substr(eol + 2, size);
        if (buffer_.compare(eol + 2 + size, 2, "\r\n") != 0) {
          throw std::runtime_error("chunk not followed by CRLF");
        }
        buffer_.erase(0, eol + 2 + size + 2);
        if (size == 0) break;
      }
    } else {
      throw std::runtime_error("response has neither Content-Length nor chunked encoding");
    }
    return response;
  }

  /// Reads until the server closes; true when it closed cleanly (end of file).
  bool wait_closed() {
    char buf[4096];
    for (;;) {
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n == 0) return true;
      if (n < 0) return false;
    }
  }

  /// How the server ended a connection.
  enum class End : std::uint8_t { eof, reset, timeout };

  /// Reads everything until the server closes the connection; returns how it ended. The bytes
  /// are appended to buffered().
  End read_until_closed() {
    char buf[16384];
    for (;;) {
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n > 0) {
        buffer_.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0) return End::eof;
      if (errno == EINTR) continue;
      return errno == ECONNRESET ? End::reset : End::timeout;
    }
  }

  [[nodiscard]] const std::string& buffered() const { return buffer_; }
  [[nodiscard]] int fd() const { return fd_; }

 private:
  void fill() {
    char buf[16384];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) throw std::runtime_error("connection closed or timed out while reading");
    buffer_.append(buf, static_cast<std::size_t>(n));
  }

  int fd_ = -1;
  std::string buffer_;
};

/// The data of each "data:" SSE event in a body, in order.
inline std::vector<std::string> sse_data(std::string_view body) {
  std::vector<std::string> events;
  std::size_t pos = 0;
  while (pos < body.size()) {
    const std::size_t end = body.find("\n\n", pos);
    if (end == std::string_view::npos) throw std::runtime_error("unterminated SSE event");
    const std::string_view event = body.substr(pos, end - pos);
    if (!event.starts_with("data: ")) throw std::runtime_error("SSE event without 'data: '");
    events.emplace_back(event.substr(6));
    pos = end + 2;
  }
  return events;
}

/// One SSE event: its "event:" name (empty when none) and its data.
struct SseEvent {
  std::string event;
  std::string data;
};

/// Every SSE event of a body, in order ("event:" and "data:" lines only).
inline std::vector<SseEvent> sse_events(std::string_view body) {
  std::vector<SseEvent> events;
  std::size_t pos = 0;
  while (pos < body.size()) {
    const std::size_t end = body.find("\n\n", pos);
    if (end == std::string_view::npos) throw std::runtime_error("unterminated SSE event");
    SseEvent event;
    std::string_view block = body.substr(pos, end - pos);
    while (!block.empty()) {
      const std::size_t eol = block.find('\n');
      const std::string_view line = block.substr(0, eol);
      if (line.starts_with("event: ")) {
        event.event = line.substr(7);
      } else if (line.starts_with("data: ")) {
        event.data = line.substr(6);
      } else {
        throw std::runtime_error("unexpected SSE line: " + std::string(line));
      }
      block = eol == std::string_view::npos ? std::string_view() : block.substr(eol + 1);
    }
    events.push_back(std::move(event));
    pos = end + 2;
  }
  return events;
}

/// The log entries of one request id, in the order they finished.
inline std::vector<medsafe::sim::LogEntry> log_of(const medsafe::sim::SimServer& server,
                                                  std::string_view id) {
  std::vector<medsafe::sim::LogEntry> entries;
  for (auto& entry : server.log()) {
    if (entry.id == id) entries.push_back(std::move(entry));
  }
  return entries;
}

}  // namespace sim_test
