#include "support/scripted_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include "medsafe/text.hpp"
namespace medsafe::test {
namespace {

using namespace std::chrono_literals;

// Blocking calls wake this often to notice that the server is stopping.
constexpr int kPollMs = 20;
constexpr std::size_t kMaxRequestBytes = 16u << 20;

std::string reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

std::string hex(std::size_t n) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%zx", n);
  return buffer;
}

// Parses the head of a request ("POST /x HTTP/1.1\r\nName: value\r\n..."), without the blank
// line. Returns nullopt when it is not HTTP.
std::optional<ReceivedRequest> parse_head(std::string_view head) {
  ReceivedRequest request;
  std::size_t eol = head.find("\r\n");
  const std::string_view start = head.substr(0, eol);
  const std::size_t sp1 = start.find(' ');
  if (sp1 == std::string_view::npos) return std::nullopt;
  const std::size_t sp2 = start.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return std::nullopt;
  request.method = std::string(start.substr(0, sp1));
  request.target = std::string(start.substr(sp1 + 1, sp2 - sp1 - 1));
  while (eol != std::string_view::npos) {
    const std::size_t begin = eol + 2;
    eol = head.find("\r\n", begin);
    const std::string_view line =
        head.substr(begin, eol == std::string_view::npos ? std::string_view::npos : eol - begin);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    request.headers.emplace_back(ascii_lower(trim(line.substr(0, colon), " \t")),
                                 std::string(trim(line.substr(colon + 1), " \t")));
  }
  return request;
}

bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

const std::string* ReceivedRequest::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return &value;
  }
  return nullptr;
}

Script& Script::send(std::string bytes) {
  steps_.push_back(Step{Step::Kind::send, std::move(bytes), 0ms});
  return *this;
}

Script& Script::pause(std::chrono::milliseconds delay) {
  steps_.push_back(Step{Step::Kind::pause, {}, delay});
  return *this;
}

Script& Script::close() {
  steps_.push_back(Step{Step::Kind::close, {}, 0ms});
  return *this;
}

Script http_response(int status, std::string body, HeaderList headers) {
  std::string head = "HTTP/1.1 " + std::to_string(status) + " " + reason_phrase(status) + "\r\n";
  for (const auto& [name, value] : headers) head += name + ": " + value + "\r\n";
  head += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  Script script;
  script.send(head + body);
  return script;
}

std::function<Script(const ReceivedRequest&)> serve_files(std::filesystem::path root) {
  return [root = std::move(root)](const ReceivedRequest& request) {
    const std::filesystem::path file = root / std::filesystem::path(request.target).relative_path();
    std::ifstream in(file, std::ios::binary);
    if (request.method != "GET" || request.target.find("..") != std::string::npos ||
        !std::filesystem::is_regular_file(file) || !in) {
      return http_response(404, "not found", {{"Content-Type", "text/plain"}}).close();
    }
    std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return http_response(200, std::move(body), {{"Content-Type", "text/csv"}}).close();
  };
}

Script sse_chunked(const std::vector<std::string>& pieces, std::chrono::milliseconds gap) {
  Script script;
  script.send(
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
      "Transfer-Encoding: chunked\r\n\r\n");
  for (const std::string& piece : pieces) {
    if (gap.count() > 0) script.pause(gap);
    if (!piece.empty()) script.send(hex(piece.size()) + "\r\n" + piece + "\r\n");
  }
  script.send("0\r\n\r\n");
  return script;
}

Script sse_until_close(const std::vector<std::string>& pieces, std::chrono::milliseconds gap) {
  Script script;
  script.send(
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
      "Connection: close\r\n\r\n");
  for (const std::string& piece : pieces) {
    if (gap.count() > 0) script.pause(gap);
    script.send(piece);
  }
  script.close();
  return script;
}

ScriptedServer::ScriptedServer() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error("scripted server: socket() failed");
  const int yes = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listen_fd_, 256) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error("scripted server: cannot listen on 127.0.0.1");
  }
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

ScriptedServer::~ScriptedServer() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  acceptor_.join();
  // No new workers after the acceptor ended; the list is stable now.
  for (std::thread& worker : workers_) worker.join();
  ::close(listen_fd_);
}

std::string ScriptedServer::base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

void ScriptedServer::enqueue(Script script) {
  std::lock_guard lock(mutex_);
  queue_.push_back(std::move(script));
}

void ScriptedServer::set_handler(Handler handler) {
  std::lock_guard lock(mutex_);
  handler_ = std::move(handler);
}

std::vector<ReceivedRequest> ScriptedServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

std::size_t ScriptedServer::connections() const {
  std::lock_guard lock(mutex_);
  return connections_;
}

void ScriptedServer::accept_loop() {
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stop_) return;
    }
    pollfd waiting{listen_fd_, POLLIN, 0};
    if (::poll(&waiting, 1, kPollMs) <= 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    const int yes = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    // A client that stops reading without closing must not hang the server's destructor.
    const timeval send_limit{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_limit, sizeof send_limit);
    std::lock_guard lock(mutex_);
    const std::size_t connection = ++connections_;
    workers_.emplace_back([this, fd, connection] { serve(fd, connection); });
  }
}

Script ScriptedServer::next_script(const ReceivedRequest& request) {
  Handler handler;
  {
    std::lock_guard lock(mutex_);
    requests_.push_back(request);
    if (!queue_.empty()) {
      Script script = std::move(queue_.front());
      queue_.pop_front();
      return script;
    }
    handler = handler_;
  }
  if (handler) return handler(request);
  return http_response(500, "scripted server: no script for this request",
                       {{"Content-Type", "text/plain"}});
}

void ScriptedServer::serve(int fd, std::size_t connection) {
  std::string buffer;
  char chunk[16384];
  for (;;) {
    // Read one request: the head up to the blank line, then Content-Length bytes of body.
    std::size_t head_end = std::string::npos;
    std::size_t body_length = 0;
    std::optional<ReceivedRequest> request;
    while (!request || buffer.size() < head_end + 4 + body_length) {
      if (!request) {
        head_end = buffer.find("\r\n\r\n");
        if (head_end != std::string::npos) {
          request = parse_head(std::string_view(buffer).substr(0, head_end));
          if (!request) break;
          if (const std::string* length = request->header("content-length")) {
            body_length = std::strtoull(length->c_str(), nullptr, 10);
          }
          continue;
        }
      }
      if (buffer.size() > kMaxRequestBytes) break;
      {
        std::lock_guard lock(mutex_);
        if (stop_) break;
      }
      pollfd waiting{fd, POLLIN, 0};
      if (::poll(&waiting, 1, kPollMs) <= 0) continue;
      const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) break;
      buffer.append(chunk, static_cast<std::size_t>(n));
    }
    if (!request || buffer.size() < head_end + 4 + body_length) break;
    request->body = buffer.substr(head_end + 4, body_length);
    request->connection = connection;
    buffer.erase(0, head_end + 4 + body_length);
    if (!play(fd, next_script(*request))) break;
  }
  ::close(fd);
}

bool ScriptedServer::play(int fd, const Script& script) {
  for (const Script::Step& step : script.steps()) {
    switch (step.kind) {
      case Script::Step::Kind::send:
        if (!send_all(fd, step.bytes)) return false;
        break;
      case Script::Step::Kind::pause:
        if (!sleep_for(step.delay)) return false;
        break;
      case Script::Step::Kind::close:
        ::shutdown(fd, SHUT_RDWR);
        return false;
    }
  }
  return true;
}

bool ScriptedServer::sleep_for(std::chrono::milliseconds delay) {
  std::unique_lock lock(mutex_);
  return !stop_cv_.wait_for(lock, delay, [this] { return stop_; });
}

}  // namespace medsafe::test
