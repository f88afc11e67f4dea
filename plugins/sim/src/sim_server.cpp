#include "sim_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <functional>
#include <iostream>
#include <optional>
#include <queue>
#include <utility>

#include <nlohmann/json.hpp>

#include "medsafe/clock.hpp"
#include "medsafe/error.hpp"
#include "sim_http.hpp"
#include "sim_wire.hpp"

namespace medsafe::sim {
namespace {

using json = nlohmann::json;

// epoll tags of the loop's own descriptors; connections use their fd.
constexpr std::uint64_t kListenTag = ~std::uint64_t{0};
constexpr std::uint64_t kTimerTag = kListenTag - 1;
constexpr std::uint64_t kWakeTag = kListenTag - 2;

constexpr std::size_t kReadChunk = std::size_t{64} << 10;
constexpr int kMaxEvents = 256;

std::int64_t now_ns() { return to_ns(Clock::now()); }

// When the bytes one recvmsg returned reached the socket, on the steady clock: the kernel's
// receive stamp (SO_TIMESTAMPNS, on the real-time clock) moved to the steady clock by the two
// clocks' difference now; the steady clock's now when the kernel gave no stamp. A request that
// waited in its socket while the loop served others has waited in the server, so the log's
// "received" must not start after that wait.
std::int64_t arrival_ns(msghdr& message) {
  const std::int64_t now = now_ns();
  for (cmsghdr* item = CMSG_FIRSTHDR(&message); item != nullptr;
       item = CMSG_NXTHDR(&message, item)) {
    if (item->cmsg_level != SOL_SOCKET || item->cmsg_type != SCM_TIMESTAMPNS) continue;
    timespec stamp{};
    std::memcpy(&stamp, CMSG_DATA(item), sizeof stamp);
    timespec real_now{};
    ::clock_gettime(CLOCK_REALTIME, &real_now);
    const std::int64_t age =
        (real_now.tv_sec - stamp.tv_sec) * 1'000'000'000LL + (real_now.tv_nsec - stamp.tv_nsec);
    // A stamp from the future or from long ago (a clock step) is not believed.
    if (age >= 0 && age < 10'000'000'000LL) return now - age;
  }
  return now;
}

std::string system_error(std::string_view what) {
  return std::string(what) + ": " + std::strerror(errno);
}

/// Closes a descriptor when it goes out of scope.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) noexcept : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  void reset() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  [[nodiscard]] int get() const noexcept { return fd_; }

 private:
  int fd_ = -1;
};

enum class ConnState : std::uint8_t { idle, queued, generating };

/// One client connection. Objects are reused for later connections on the same fd; `serial`
/// changes on every close so that timers and queue entries of an old connection are ignored.
struct Connection {
  int fd = -1;
  std::uint64_t serial = 0;
  std::string in;
  std::size_t in_pos = 0;
  std::string out;
  std::size_t out_pos = 0;
  bool watching_out = false;
  bool close_after_write = false;
  bool continue_sent = false;
  bool keep_alive = true;
  ConnState state = ConnState::idle;
  int requests = 0;             ///< chat requests received on this connection
  std::int64_t arrived_ns = 0;  ///< when the bytes last read reached the socket (arrival_ns)
  Exchange ex;
};

struct Timer {
  std::int64_t due_ns;
  int fd;
  std::uint64_t serial;
  bool operator>(const Timer& other) const noexcept { return due_ns > other.due_ns; }
};

struct ConnRef {
  int fd;
  std::uint64_t serial;
};

void update_max(std::atomic<std::uint64_t>& max, std::uint64_t value) {
  if (value > max.load(std::memory_order_relaxed)) max.store(value, std::memory_order_relaxed);
}

ServerStats snapshot(const SimServer::Shared& shared) {
  const auto get = [](const std::atomic<std::uint64_t>& v) {
    return v.load(std::memory_order_relaxed);
  };
  ServerStats s;
  s.requests_total = get(shared.requests_total);
  s.chat_completions = get(shared.chat_completions);
  s.messages = get(shared.messages);
  s.streamed = get(shared.streamed);
  s.non_streamed = get(shared.non_streamed);
  s.errors = get(shared.errors);
  s.client_closed = get(shared.client_closed);
  s.in_flight = get(shared.in_flight);
  s.max_in_flight = get(shared.max_in_flight);
  s.connections_open = get(shared.connections_open);
  s.connections_total = get(shared.connections_total);
  s.log_dropped = get(shared.log_dropped);
  s.unauthorized = get(shared.unauthorized);
  for (std::size_t i = 0; i < kFaultKindCount; ++i) s.faults[i] = get(shared.faults[i]);
  return s;
}

void reset_shared(SimServer::Shared& shared) {
  for (auto* counter :
       {&shared.requests_total, &shared.chat_completions, &shared.messages, &shared.streamed,
        &shared.non_streamed, &shared.errors, &shared.client_closed, &shared.connections_total,
        &shared.log_dropped, &shared.unauthorized}) {
    counter->store(0, std::memory_order_relaxed);
  }
  for (auto& counter : shared.faults) counter.store(0, std::memory_order_relaxed);
  shared.attempts.clear();
  shared.max_in_flight.store(shared.in_flight.load(std::memory_order_relaxed),
                             std::memory_order_relaxed);
  const std::lock_guard lock(shared.log_mutex);
  shared.log.clear();
}

}  // namespace

// ---------------------------------------------------------------------------------------------

class SimServer::Loop {
 public:
  Loop(const ServerOptions& options, Shared& shared);
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;
  ~Loop() = default;

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  /// Runs until request_stop().
  void run();
  /// Thread-safe.
  void request_stop() noexcept;

 private:
  using Handler = void (Loop::*)(Connection&, const RequestHead&, std::string_view body);
  struct Route {
    std::string_view method;
    std::string_view path;
    Handler handler;
    const WireFormat* errors = nullptr;  ///< the API whose error format it uses (null: OpenAI)
  };

  void add_fd(int fd, std::uint32_t events, std::uint64_t tag);
  void accept_all();
  void on_event(Connection& conn, std::uint32_t events);
  void on_readable(Connection& conn);
  void process_input(Connection& conn);
  void dispatch(Connection& conn, const RequestHead& head, std::string_view body);

  void chat(Connection& conn, const RequestHead& head, std::string_view body);
  void messages(Connection& conn, const RequestHead& head, std::string_view body);
  /// Takes a request of either API from arrival to its first bytes (or its fault).
  void accept(Connection& conn, const RequestHead& head, std::string_view body,
              const WireFormat& format);
  /// Whether the request carries ServerOptions::api_key.
  [[nodiscard]] bool authorized(const RequestHead& head) const noexcept;
  /// Answers at once with an error status (a 4xx, or a status fault): no generation.
  void refuse(Connection& conn, int status, std::string_view message);
  void models(Connection& conn, const RequestHead& head, std::string_view body);
  void stats(Connection& conn, const RequestHead& head, std::string_view body);
  void reset(Connection& conn, const RequestHead& head, std::string_view body);
  void log(Connection& conn, const RequestHead& head, std::string_view body);

  void start(Connection& conn);
  void advance(Connection& conn);
  /// Writes due events up to the pending fault (if any); returns how many were written.
  std::size_t write_due_events(Connection& conn, std::int64_t now);
  /// Strikes a pending mid-stream fault; returns false when it ended the exchange.
  bool strike(Connection& conn);
  void end_stream_with_error(Connection& conn);
  void append_chunk(Connection& conn, std::string_view data);
  void complete(Connection& conn, int status, std::int64_t finished_ns);
  /// Logs the exchange with `status`, then resets the connection (TCP RST).
  void reset_connection(Connection& conn, int status);
  void push_log(LogEntry entry);
  LogEntry entry_of(Exchange& ex, int status, std::int64_t finished_ns);

  void respond(Connection& conn, int status, std::string_view content_type, std::string_view body);
  void respond_error(Connection& conn, int status, std::string_view message,
                     const WireFormat& format = openai_format());
  void append_head(Connection& conn, int status, std::string_view content_type,
                   std::optional<std::size_t> content_length, bool in_exchange = false);
  bool flush(Connection& conn);
  void watch_out(Connection& conn, bool on);
  void close_connection(Connection& conn);

  void run_due_timers();
  void drain();
  void arm_timer();

  static const std::array<Route, 6> kRoutes;

  const ServerOptions& options_;
  Shared& shared_;
  Model model_;
  std::size_t capacity_;
  Fd listen_;
  Fd epoll_;
  Fd timer_;
  Fd wake_;
  std::uint16_t port_ = 0;
  bool stop_ = false;

  std::vector<std::unique_ptr<Connection>> conns_;  ///< by fd
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  std::int64_t armed_ns_ = 0;
  std::deque<ConnRef> queue_;     ///< exchanges waiting for a generation slot
  std::deque<ConnRef> deferred_;  ///< connections with buffered input to process
  std::size_t generating_ = 0;
  std::uint64_t next_id_ = 0;
  std::string scratch_;
  std::string read_buffer_;
  ApiRequest api_request_;  ///< reused: keeps its capacity across requests
};

const std::array<SimServer::Loop::Route, 6> SimServer::Loop::kRoutes = {{
    {"POST", "/v1/chat/completions", &Loop::chat, &openai_format()},
    {"POST", "/v1/messages", &Loop::messages, &anthropic_format()},
    {"GET", "/v1/models", &Loop::models},
    {"GET", "/sim/stats", &Loop::stats},
    {"POST", "/sim/reset", &Loop::reset},
    {"GET", "/sim/log", &Loop::log},
}};

SimServer::Loop::Loop(const ServerOptions& options, Shared& shared)
    : options_(options),
      shared_(shared),
      model_(options.settings),
      capacity_(static_cast<std::size_t>(options.settings.capacity)) {
  std::string host = options.host == "localhost" ? "127.0.0.1" : options.host;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  sockaddr_storage address{};
  socklen_t address_size = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&address);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&address);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(options.port);
    address_size = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(options.port);
    address_size = sizeof(sockaddr_in6);
  } else {
    throw Error(ErrorKind::usage, "'" + options.host + "' is not an IP address or localhost");
  }
  const std::string where = options.host + ":" + std::to_string(options.port);
  listen_ = Fd(::socket(address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (listen_.get() < 0) throw Error(ErrorKind::io, system_error("socket"));
  const int one = 1;
  ::setsockopt(listen_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(listen_.get(), reinterpret_cast<sockaddr*>(&address), address_size) != 0) {
    throw Error(ErrorKind::io, system_error("cannot listen on " + where));
  }
  if (::listen(listen_.get(), 4096) != 0) {
    throw Error(ErrorKind::io, system_error("cannot listen on " + where));
  }
  sockaddr_storage bound{};
  socklen_t bound_size = sizeof bound;
  ::getsockname(listen_.get(), reinterpret_cast<sockaddr*>(&bound), &bound_size);
  port_ = ntohs(bound.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                           : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);

  epoll_ = Fd(::epoll_create1(EPOLL_CLOEXEC));
  if (epoll_.get() < 0) throw Error(ErrorKind::io, system_error("epoll_create1"));
  // CLOCK_MONOTONIC is steady_clock: deadlines computed from Clock::now() arm it directly.
  timer_ = Fd(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  if (timer_.get() < 0) throw Error(ErrorKind::io, system_error("timerfd_create"));
  wake_ = Fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (wake_.get() < 0) throw Error(ErrorKind::io, system_error("eventfd"));
  add_fd(listen_.get(), EPOLLIN, kListenTag);
  add_fd(timer_.get(), EPOLLIN, kTimerTag);
  add_fd(wake_.get(), EPOLLIN, kWakeTag);
  read_buffer_.resize(kReadChunk);
}

void SimServer::Loop::add_fd(int fd, std::uint32_t events, std::uint64_t tag) {
  epoll_event event{};
  event.events = events;
  event.data.u64 = tag;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) != 0) {
    throw Error(ErrorKind::io, system_error("epoll_ctl"));
  }
}

void SimServer::Loop::request_stop() noexcept {
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t written = ::write(wake_.get(), &one, sizeof one);
}

void SimServer::Loop::run() {
  std::array<epoll_event, kMaxEvents> events{};
  while (!stop_) {
    const int n = ::epoll_wait(epoll_.get(), events.data(), kMaxEvents, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::cerr << "medsafe-sim-server: error: " << system_error("epoll_wait") << '\n';
      break;
    }
    for (int i = 0; i < n; ++i) {
      const std::uint64_t tag = events[static_cast<std::size_t>(i)].data.u64;
      const std::uint32_t flags = events[static_cast<std::size_t>(i)].events;
      if (tag == kListenTag) {
        accept_all();
      } else if (tag == kTimerTag) {
        std::uint64_t expirations = 0;
        [[maybe_unused]] const ssize_t r = ::read(timer_.get(), &expirations, sizeof expirations);
        armed_ns_ = 0;
      } else if (tag == kWakeTag) {
        stop_ = true;
      } else if (tag < conns_.size() && conns_[tag] && conns_[tag]->fd >= 0) {
        on_event(*conns_[tag], flags);
      }
    }
    run_due_timers();
    drain();
    arm_timer();
  }
  for (auto& conn : conns_) {
    if (conn && conn->fd >= 0) close_connection(*conn);
  }
}

void SimServer::Loop::accept_all() {
  for (;;) {
    const int fd = ::accept4(listen_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      // EAGAIN: all accepted. EMFILE and the like: the connection waits in the backlog.
      return;
    }
    const int one = 1;
    // Stream events must leave at once, not wait for Nagle's algorithm to fill a segment.
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    // The kernel's receive time stamps: when a request arrived, not when the loop read it.
    ::setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
    const auto index = static_cast<std::size_t>(fd);
    if (index >= conns_.size()) conns_.resize(index + 1);
    if (!conns_[index]) conns_[index] = std::make_unique<Connection>();
    Connection& conn = *conns_[index];
    conn.fd = fd;
    conn.in.clear();
    conn.in_pos = 0;
    conn.out.clear();
    conn.out_pos = 0;
    conn.watching_out = false;
    conn.close_after_write = false;
    conn.continue_sent = false;
    conn.keep_alive = true;
    conn.requests = 0;
    conn.arrived_ns = 0;
    conn.state = ConnState::idle;
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = index;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) != 0) {
      ::close(fd);
      conn.fd = -1;
      continue;
    }
    shared_.connections_open.fetch_add(1, std::memory_order_relaxed);
    shared_.connections_total.fetch_add(1, std::memory_order_relaxed);
  }
}

void SimServer::Loop::on_event(Connection& conn, std::uint32_t events) {
  if ((events & EPOLLERR) != 0) {
    close_connection(conn);
    return;
  }
  if ((events & (EPOLLIN | EPOLLHUP)) != 0) on_readable(conn);
  if (conn.fd >= 0 && (events & EPOLLOUT) != 0) flush(conn);
}

void SimServer::Loop::on_readable(Connection& conn) {
  for (;;) {
    iovec buffer{read_buffer_.data(), read_buffer_.size()};
    alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(timespec))> control{};
    msghdr message{};
    message.msg_iov = &buffer;
    message.msg_iovlen = 1;
    message.msg_control = control.data();
    message.msg_controllen = control.size();
    const ssize_t n = ::recvmsg(conn.fd, &message, 0);
    if (n > 0) {
      conn.arrived_ns = arrival_ns(message);
      conn.in.append(read_buffer_.data(), static_cast<std::size_t>(n));
      if (conn.in.size() - conn.in_pos > kMaxHeaderBytes + kMaxBodyBytes) {
        close_connection(conn);  // a client that sends far more than one request can hold
        return;
      }
      if (static_cast<std::size_t>(n) < read_buffer_.size()) break;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    // End of file or a reset: the client is gone, with whatever it was waiting for.
    close_connection(conn);
    return;
  }
  process_input(conn);
}

void SimServer::Loop::process_input(Connection& conn) {
  while (conn.fd >= 0 && conn.state == ConnState::idle && !conn.close_after_write) {
    // Tolerate empty lines between requests (RFC 9112 section 2.2).
    while (conn.in.size() - conn.in_pos >= 2 && conn.in.compare(conn.in_pos, 2, "\r\n") == 0) {
      conn.in_pos += 2;
    }
    const std::string_view pending = std::string_view(conn.in).substr(conn.in_pos);
    if (pending.empty()) break;
    const HeadResult parsed = parse_head(pending);
    if (parsed.status == HeadStatus::incomplete) break;
    if (parsed.status == HeadStatus::bad) {
      // The request's framing is unknown, so the connection cannot be reused.
      conn.keep_alive = false;
      shared_.requests_total.fetch_add(1, std::memory_order_relaxed);
      respond_error(conn, parsed.error_status, parsed.error);
      break;
    }
    const RequestHead& head = parsed.head;
    const std::size_t total = head.header_bytes + head.content_length;
    if (pending.size() < total) {
      if (head.expect_continue && !conn.continue_sent) {
        conn.out += "HTTP/1.1 100 Continue\r\n\r\n";
        conn.continue_sent = true;
        flush(conn);
      }
      break;
    }
    conn.in_pos += total;
    conn.continue_sent = false;
    conn.keep_alive = head.keep_alive;
    dispatch(conn, head, pending.substr(head.header_bytes, head.content_length));
  }
  if (conn.fd < 0) return;
  if (conn.in_pos == conn.in.size()) {
    conn.in.clear();
    conn.in_pos = 0;
  } else if (conn.state == ConnState::idle && conn.in_pos > 0) {
    conn.in.erase(0, conn.in_pos);
    conn.in_pos = 0;
  }
}

void SimServer::Loop::dispatch(Connection& conn, const RequestHead& head, std::string_view body) {
  if (!head.path.starts_with("/sim/")) {
    shared_.requests_total.fetch_add(1, std::memory_order_relaxed);
  }
  const Route* known_path = nullptr;
  for (const Route& route : kRoutes) {
    if (route.path != head.path) continue;
    known_path = &route;
    if (route.method == head.method) {
      (this->*route.handler)(conn, head, body);
      return;
    }
  }
  if (known_path != nullptr) {
    respond_error(conn, 405, "method " + std::string(head.method) + " is not allowed here",
                  known_path->errors != nullptr ? *known_path->errors : openai_format());
  } else {
    respond_error(conn, 404, "no such endpoint: " + std::string(head.path));
  }
}

void SimServer::Loop::chat(Connection& conn, const RequestHead& head, std::string_view body) {
  shared_.chat_completions.fetch_add(1, std::memory_order_relaxed);
  accept(conn, head, body, openai_format());
}

void SimServer::Loop::messages(Connection& conn, const RequestHead& head, std::string_view body) {
  shared_.messages.fetch_add(1, std::memory_order_relaxed);
  accept(conn, head, body, anthropic_format());
}

bool SimServer::Loop::authorized(const RequestHead& head) const noexcept {
  const std::string& key = options_.api_key;
  if (key.empty()) return false;
  if (head.api_key == key) return true;
  constexpr std::string_view kBearer = "Bearer ";
  return head.authorization.size() == kBearer.size() + key.size() &&
         iequals(head.authorization.substr(0, kBearer.size()), kBearer) &&
         head.authorization.substr(kBearer.size()) == key;
}

void SimServer::Loop::accept(Connection& conn, const RequestHead& head, std::string_view body,
                             const WireFormat& format) {
  Exchange& ex = conn.ex;
  ex.format = &format;
  ex.received_ns = conn.arrived_ns != 0 ? conn.arrived_ns : now_ns();
  ex.first_event_ns = 0;
  ex.start_ns = 0;
  ex.next_event = 0;
  ex.event_ns.clear();
  ex.stream = false;
  ex.answer = Answer{};
  ex.fault = FaultKind::none;
  ex.fault_pending = false;
  ++next_id_;
  ex.request_id.clear();
  if (head.request_id.empty()) {
    ex.request_id += "sim-";
    append_int(ex.request_id, static_cast<std::int64_t>(next_id_));
  } else {
    ex.request_id.assign(head.request_id);
  }
  const FaultSettings& faults = options_.settings.faults;
  // Attempts are only counted while faults are on: a long benchmark's unique ids cost no memory.
  ex.attempt = faults.enabled() ? shared_.attempts.next(ex.request_id) : 1;
  ex.authorized = authorized(head);
  ex.on_connection = ++conn.requests;

  if (!options_.api_key.empty() && !ex.authorized) {
    shared_.unauthorized.fetch_add(1, std::memory_order_relaxed);
    refuse(conn, 401, "invalid x-api-key or Authorization: Bearer key");
    return;
  }
  const json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  std::optional<std::string> problem;
  if (doc.is_discarded()) {
    problem = "the body is not valid JSON";
  } else {
    problem = format.decode(doc, api_request_);
  }
  if (problem) {
    refuse(conn, 400, *problem);
    return;
  }

  const ApiRequest& request = api_request_;
  ex.stream = request.stream;
  ex.include_usage = request.stream && request.include_usage;
  ex.fault = faults.draw(options_.settings.seed, ex.request_id, ex.attempt);
  if (ex.fault != FaultKind::none) {
    shared_.faults[static_cast<std::size_t>(ex.fault)].fetch_add(1, std::memory_order_relaxed);
  }
  switch (ex.fault) {
    case FaultKind::status_429:
      refuse(conn, 429, "simulated rate limit: retry after " + faults.retry_after_text() + " s");
      return;
    case FaultKind::status_500:
      refuse(conn, 500, "simulated internal server error (sim fault)");
      return;
    case FaultKind::status_503:
      refuse(conn, 503, "simulated overload: the server is not ready (sim fault)");
      return;
    case FaultKind::reset:
      reset_connection(conn, 0);
      return;
    default:
      break;
  }

  ex.answer = model_.answer(
      Query{request.messages, {}, request.seed, request.max_tokens, request.ignore_eos});
  if (ex.fault == FaultKind::slow_drip) {
    apply_drip(ex.answer, static_cast<std::int64_t>(faults.drip_ms * 1e6));
  } else if (ex.fault != FaultKind::none && ex.stream) {
    // Stream faults strike between events; a non-streaming answer's fault shapes its body.
    ex.fault_pending = true;
    ex.fault_at = std::min(static_cast<std::size_t>(faults.fault_after_events),
                           ex.answer.event_offsets_ns.size());
  }
  ex.model.clear();
  append_json_string(ex.model, request.model.empty() ? options_.model_name : request.model);
  ex.created = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  format.prepare(ex, next_id_);
  (ex.stream ? shared_.streamed : shared_.non_streamed).fetch_add(1, std::memory_order_relaxed);
  update_max(shared_.max_in_flight, shared_.in_flight.fetch_add(1, std::memory_order_relaxed) + 1);

  if (capacity_ == 0 || generating_ < capacity_) {
    start(conn);
  } else {
    conn.state = ConnState::queued;
    queue_.push_back(ConnRef{conn.fd, conn.serial});
  }
}

void SimServer::Loop::refuse(Connection& conn, int status, std::string_view message) {
  const Exchange& ex = conn.ex;
  push_log(entry_of(conn.ex, status, now_ns()));
  const std::string body = ex.format->error_body(status, message);
  append_head(conn, status, "application/json", body.size(), /*in_exchange=*/true);
  conn.out += body;
  if (!conn.keep_alive) conn.close_after_write = true;
  flush(conn);
}

void SimServer::Loop::start(Connection& conn) {
  Exchange& ex = conn.ex;
  conn.state = ConnState::generating;
  ++generating_;
  ex.start_ns = now_ns();
  if (!ex.stream && ex.fault == FaultKind::stall) {
    // Nothing of a non-streaming answer is sent before its end: the stall delays all of it.
    ex.start_ns += static_cast<std::int64_t>(options_.settings.faults.stall_ms * 1e6);
    ex.fault_pending = false;
  }
  if (ex.stream) {
    // Headers and the stream's opening events go out as generation starts; content follows at
    // its times.
    append_head(conn, 200, "text/event-stream", std::nullopt, /*in_exchange=*/true);
    scratch_.clear();
    ex.format->stream_start(ex, scratch_);
    append_chunk(conn, scratch_);
  }
  advance(conn);
}

void SimServer::Loop::append_chunk(Connection& conn, std::string_view data) {
  if (data.empty()) return;  // an empty chunk would end the body
  char size[20];
  const int length = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  conn.out.append(size, static_cast<std::size_t>(length));
  conn.out += data;
  conn.out += "\r\n";
}

std::size_t SimServer::Loop::write_due_events(Connection& conn, std::int64_t now) {
  Exchange& ex = conn.ex;
  const Answer& answer = ex.answer;
  // A pending stream fault holds the events after it back until it has struck.
  const std::size_t limit =
      ex.stream && ex.fault_pending ? ex.fault_at : answer.event_offsets_ns.size();
  const std::size_t first = ex.next_event;
  while (ex.next_event < limit && ex.start_ns + answer.event_offsets_ns[ex.next_event] <= now) {
    if (ex.stream) ex.format->stream_event(ex, answer.event_text(ex.next_event), scratch_);
    ++ex.next_event;
  }
  return ex.next_event - first;
}

// A stream fault strikes right after event fault_at - 1 was written (at the headers when 0).
bool SimServer::Loop::strike(Connection& conn) {
  Exchange& ex = conn.ex;
  ex.fault_pending = false;
  switch (ex.fault) {
    case FaultKind::stall:
      ex.start_ns += static_cast<std::int64_t>(options_.settings.faults.stall_ms * 1e6);
      return true;
    case FaultKind::malformed: {
      const std::string_view text =
          ex.fault_at < ex.answer.event_ends.size() ? ex.answer.event_text(ex.fault_at) : "";
      append_broken_event(*ex.format, ex, text, scratch_);
      return true;
    }
    case FaultKind::error_event:
      end_stream_with_error(conn);
      return false;
    case FaultKind::reset_mid_stream:
      append_chunk(conn, scratch_);
      reset_connection(conn, 200);
      return false;
    default:
      return true;
  }
}

void SimServer::Loop::end_stream_with_error(Connection& conn) {
  conn.ex.format->stream_error(conn.ex, scratch_);
  append_chunk(conn, scratch_);
  // The chunked body ends properly; the stream lacks only its end marker ([DONE], message_stop).
  conn.out += "0\r\n\r\n";
  const std::int64_t written = now_ns();
  complete(conn, 200, written);
  if (flush(conn) && conn.in_pos < conn.in.size()) {
    deferred_.push_back(ConnRef{conn.fd, conn.serial});
  }
}

// Writes every event that is due, and the end of the response when it is due; then sleeps
// until the next event. Stream faults strike between events; a non-streaming answer's faults
// shape its body.
void SimServer::Loop::advance(Connection& conn) {
  Exchange& ex = conn.ex;
  const Answer& answer = ex.answer;
  const std::int64_t now = now_ns();
  const std::size_t events = answer.event_offsets_ns.size();
  scratch_.clear();
  std::size_t written_events = write_due_events(conn, now);
  if (ex.stream && ex.fault_pending && ex.next_event == ex.fault_at) {
    const std::int64_t at = now_ns();
    ex.event_ns.insert(ex.event_ns.end(), written_events, at);
    if (ex.first_event_ns == 0 && written_events > 0) ex.first_event_ns = at;
    if (!strike(conn)) return;
    written_events = write_due_events(conn, now);
  }
  const bool done =
      ex.next_event == events && !ex.fault_pending && ex.start_ns + answer.done_offset_ns <= now;
  if (ex.stream) {
    if (done) ex.format->stream_end(ex, scratch_);
    append_chunk(conn, scratch_);
    if (done) conn.out += "0\r\n\r\n";
  } else if (done) {
    if (ex.fault == FaultKind::error_event) {
      scratch_ = ex.format->error_body(500, "simulated error in the answer (sim fault)");
    } else {
      ex.format->body(ex, scratch_);
    }
    const std::size_t full = scratch_.size();
    if (ex.fault == FaultKind::malformed || ex.fault == FaultKind::reset_mid_stream) {
      scratch_.resize(full / 2);
    }
    append_head(conn, 200, "application/json",
                ex.fault == FaultKind::reset_mid_stream ? full : scratch_.size(),
                /*in_exchange=*/true);
    conn.out += scratch_;
  }
  // Stamped just before the bytes reach the kernel: a server stamp is never later than the
  // client's, and the log and counters are complete before the client can see the end.
  const std::int64_t written = now_ns();
  if (ex.stream) {
    ex.event_ns.insert(ex.event_ns.end(), written_events, written);
    if (ex.first_event_ns == 0 && written_events > 0) ex.first_event_ns = written;
  } else if (done) {
    ex.first_event_ns = written;
    if (ex.fault == FaultKind::reset_mid_stream) {
      reset_connection(conn, 200);
      return;
    }
  }
  if (done) complete(conn, 200, written);
  if (!flush(conn)) return;  // closed: the client left (logged as 499), or Connection: close
  if (done) {
    if (conn.in_pos < conn.in.size()) deferred_.push_back(ConnRef{conn.fd, conn.serial});
    return;
  }
  // A non-streaming answer is only written at the end: sleep until then, not event by event.
  const std::int64_t next = ex.stream && ex.next_event < events
                                ? answer.event_offsets_ns[ex.next_event]
                                : answer.done_offset_ns;
  timers_.push(Timer{ex.start_ns + next, conn.fd, conn.serial});
}

void SimServer::Loop::complete(Connection& conn, int status, std::int64_t finished_ns) {
  push_log(entry_of(conn.ex, status, finished_ns));
  shared_.in_flight.fetch_sub(1, std::memory_order_relaxed);
  --generating_;
  conn.state = ConnState::idle;
  if (!conn.keep_alive) conn.close_after_write = true;
}

void SimServer::Loop::reset_connection(Connection& conn, int status) {
  if (!conn.out.empty() && !flush(conn)) return;  // the client left first: logged as 499
  push_log(entry_of(conn.ex, status, now_ns()));
  if (conn.state != ConnState::idle) {
    if (conn.state == ConnState::generating) --generating_;
    shared_.in_flight.fetch_sub(1, std::memory_order_relaxed);
    conn.state = ConnState::idle;
  }
  // Linger 0: close() sends a TCP RST instead of a FIN, and drops what was not yet sent.
  const linger abort{1, 0};
  ::setsockopt(conn.fd, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
  close_connection(conn);
}

LogEntry SimServer::Loop::entry_of(Exchange& ex, int status, std::int64_t finished_ns) {
  LogEntry entry;
  entry.id = ex.request_id;
  entry.api = ex.format != nullptr ? ex.format->api() : "openai";
  entry.attempt = ex.attempt;
  entry.fault = ex.fault;
  entry.authorized = ex.authorized;
  entry.on_connection = ex.on_connection;
  entry.received_ns = ex.received_ns;
  entry.first_event_ns = ex.first_event_ns;
  entry.event_ns = std::move(ex.event_ns);
  ex.event_ns.clear();
  entry.finished_ns = finished_ns;
  entry.streamed = ex.stream;
  entry.status = status;
  const bool answered = status == 200 && ex.fault != FaultKind::error_event &&
                        ex.fault != FaultKind::reset_mid_stream && ex.fault != FaultKind::malformed;
  entry.completion_tokens = answered ? ex.answer.completion_tokens : 0;
  return entry;
}

void SimServer::Loop::push_log(LogEntry entry) {
  const std::lock_guard lock(shared_.log_mutex);
  if (shared_.log.size() >= options_.log_limit) {
    shared_.log_dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  shared_.log.push_back(std::move(entry));
}

void SimServer::Loop::models(Connection& conn, const RequestHead& /*head*/,
                             std::string_view /*body*/) {
  const json body = {{"object", "list"},
                     {"data", json::array({{{"id", options_.model_name},
                                            {"object", "model"},
                                            {"created", 0},
                                            {"owned_by", "medsafe"}}})}};
  respond(conn, 200, "application/json", body.dump());
}

void SimServer::Loop::stats(Connection& conn, const RequestHead& /*head*/,
                            std::string_view /*body*/) {
  respond(conn, 200, "application/json", snapshot(shared_).to_json());
}

void SimServer::Loop::reset(Connection& conn, const RequestHead& /*head*/,
                            std::string_view /*body*/) {
  reset_shared(shared_);
  respond(conn, 200, "application/json", R"({"reset":true})");
}

void SimServer::Loop::log(Connection& conn, const RequestHead& /*head*/,
                          std::string_view /*body*/) {
  scratch_.clear();
  {
    const std::lock_guard lock(shared_.log_mutex);
    for (const LogEntry& entry : shared_.log) {
      scratch_ += entry.to_json();
      scratch_ += '\n';
    }
  }
  const std::string body = std::move(scratch_);
  scratch_.clear();
  respond(conn, 200, "application/x-ndjson", body);
}

void SimServer::Loop::append_head(Connection& conn, int status, std::string_view content_type,
                                  std::optional<std::size_t> content_length, bool in_exchange) {
  std::string& out = conn.out;
  out += "HTTP/1.1 ";
  append_int(out, status);
  out += ' ';
  out += reason_phrase(status);
  out += "\r\nContent-Type: ";
  out += content_type;
  if (content_length) {
    out += "\r\nContent-Length: ";
    append_int(out, static_cast<std::int64_t>(*content_length));
  } else {
    out += "\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked";
  }
  if (in_exchange && !conn.ex.request_id.empty()) {
    out += "\r\nX-Request-Id: ";
    out += conn.ex.request_id;
  }
  if (in_exchange && status == 429) {
    out += "\r\nRetry-After: ";
    out += options_.settings.faults.retry_after_text();
  }
  if (!conn.keep_alive) out += "\r\nConnection: close";
  out += "\r\n\r\n";
  if (status >= 400) shared_.errors.fetch_add(1, std::memory_order_relaxed);
}

void SimServer::Loop::respond(Connection& conn, int status, std::string_view content_type,
                              std::string_view body) {
  append_head(conn, status, content_type, body.size());
  conn.out += body;
  if (!conn.keep_alive) conn.close_after_write = true;
  flush(conn);
}

void SimServer::Loop::respond_error(Connection& conn, int status, std::string_view message,
                                    const WireFormat& format) {
  respond(conn, status, "application/json", format.error_body(status, message));
}

bool SimServer::Loop::flush(Connection& conn) {
  while (conn.out_pos < conn.out.size()) {
    const ssize_t n = ::send(conn.fd, conn.out.data() + conn.out_pos,
                             conn.out.size() - conn.out_pos, MSG_NOSIGNAL);
    if (n > 0) {
      conn.out_pos += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      watch_out(conn, true);
      return true;
    }
    close_connection(conn);
    return false;
  }
  conn.out.clear();
  conn.out_pos = 0;
  if (conn.watching_out) watch_out(conn, false);
  if (conn.close_after_write && conn.state == ConnState::idle) {
    close_connection(conn);
    return false;
  }
  return true;
}

void SimServer::Loop::watch_out(Connection& conn, bool on) {
  if (conn.watching_out == on) return;
  epoll_event event{};
  event.events = EPOLLIN | (on ? EPOLLOUT : 0U);
  event.data.u64 = static_cast<std::uint64_t>(conn.fd);
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, conn.fd, &event);
  conn.watching_out = on;
}

void SimServer::Loop::close_connection(Connection& conn) {
  if (conn.state != ConnState::idle) {
    if (conn.state == ConnState::generating) --generating_;
    shared_.in_flight.fetch_sub(1, std::memory_order_relaxed);
    shared_.client_closed.fetch_add(1, std::memory_order_relaxed);
    push_log(entry_of(conn.ex, 499, now_ns()));
    conn.state = ConnState::idle;
  }
  ::close(conn.fd);  // also removes it from the epoll set
  conn.fd = -1;
  ++conn.serial;
  conn.in.clear();
  conn.in_pos = 0;
  conn.out.clear();
  conn.out_pos = 0;
  shared_.connections_open.fetch_sub(1, std::memory_order_relaxed);
}

void SimServer::Loop::run_due_timers() {
  const std::int64_t now = now_ns();
  while (!timers_.empty() && timers_.top().due_ns <= now) {
    const Timer timer = timers_.top();
    timers_.pop();
    const auto index = static_cast<std::size_t>(timer.fd);
    if (index >= conns_.size() || !conns_[index]) continue;
    Connection& conn = *conns_[index];
    if (conn.fd < 0 || conn.serial != timer.serial || conn.state != ConnState::generating) continue;
    advance(conn);
  }
}

// Starts waiting exchanges while slots are free and handles input that arrived while a
// connection was busy. Iterative, so zero-latency answers never recurse.
void SimServer::Loop::drain() {
  bool progressed = true;
  while (progressed) {
    progressed = false;
    while (!queue_.empty() && (capacity_ == 0 || generating_ < capacity_)) {
      const ConnRef ref = queue_.front();
      queue_.pop_front();
      Connection& conn = *conns_[static_cast<std::size_t>(ref.fd)];
      if (conn.fd < 0 || conn.serial != ref.serial || conn.state != ConnState::queued) continue;
      start(conn);
      progressed = true;
    }
    while (!deferred_.empty()) {
      const ConnRef ref = deferred_.front();
      deferred_.pop_front();
      Connection& conn = *conns_[static_cast<std::size_t>(ref.fd)];
      if (conn.fd < 0 || conn.serial != ref.serial) continue;
      process_input(conn);
      progressed = true;
    }
  }
}

void SimServer::Loop::arm_timer() {
  if (timers_.empty() || timers_.top().due_ns == armed_ns_) return;
  const std::int64_t due = std::max<std::int64_t>(timers_.top().due_ns, 1);
  itimerspec spec{};
  spec.it_value.tv_sec = static_cast<time_t>(due / 1'000'000'000);
  spec.it_value.tv_nsec = static_cast<long>(due % 1'000'000'000);
  ::timerfd_settime(timer_.get(), TFD_TIMER_ABSTIME, &spec, nullptr);
  armed_ns_ = due;
}

// ---------------------------------------------------------------------------------------------

std::string ServerStats::to_json() const {
  json by_kind = json::object();
  for (std::size_t i = 1; i < kFaultKindCount; ++i) {
    by_kind[std::string(to_string(static_cast<FaultKind>(i)))] = faults[i];
  }
  return json{{"requests_total", requests_total},
              {"chat_completions", chat_completions},
              {"messages", messages},
              {"streamed", streamed},
              {"non_streamed", non_streamed},
              {"errors", errors},
              {"client_closed", client_closed},
              {"in_flight", in_flight},
              {"max_in_flight", max_in_flight},
              {"connections_open", connections_open},
              {"connections_total", connections_total},
              {"log_dropped", log_dropped},
              {"unauthorized", unauthorized},
              {"faults", by_kind}}
      .dump();
}

std::string LogEntry::to_json() const {
  std::string out;
  out.reserve(220 + event_ns.size() * 20);
  out += R"({"id":)";
  append_json_string(out, id);
  out += R"(,"api":")";
  out += api;
  out += R"(","attempt":)";
  append_int(out, attempt);
  out += R"(,"fault":")";
  out += to_string(fault);
  out += R"(","authorized":)";
  out += authorized ? "true" : "false";
  out += R"(,"on_connection":)";
  append_int(out, on_connection);
  out += R"(,"received_ns":)";
  append_int(out, received_ns);
  out += R"(,"first_event_ns":)";
  append_int(out, first_event_ns);
  out += R"(,"event_ns":[)";
  for (std::size_t i = 0; i < event_ns.size(); ++i) {
    if (i > 0) out += ',';
    append_int(out, event_ns[i]);
  }
  out += R"(],"finished_ns":)";
  append_int(out, finished_ns);
  out += R"(,"streamed":)";
  out += streamed ? "true" : "false";
  out += R"(,"status":)";
  append_int(out, status);
  out += R"(,"completion_tokens":)";
  append_int(out, completion_tokens);
  out += '}';
  return out;
}

SimServer::SimServer(ServerOptions options) : options_(std::move(options)) {}

SimServer::~SimServer() { stop(); }

std::uint16_t SimServer::start() {
  if (running()) throw Error(ErrorKind::usage, "the simulated server is already running");
  loop_ = std::make_unique<Loop>(options_, shared_);
  port_ = loop_->port();
  thread_ = std::thread([loop = loop_.get()] {
    try {
      loop->run();
    } catch (const std::exception& e) {
      std::cerr << "medsafe-sim-server: error: " << e.what() << '\n';
    }
  });
  return port_;
}

void SimServer::stop() {
  if (!thread_.joinable()) return;
  loop_->request_stop();
  thread_.join();
  loop_.reset();
}

std::string SimServer::base_url() const {
  const bool v6 = options_.host.find(':') != std::string::npos && options_.host.front() != '[';
  return "http://" + (v6 ? "[" + options_.host + "]" : options_.host) + ":" +
         std::to_string(port_) + "/v1";
}

ServerStats SimServer::stats() const { return snapshot(shared_); }

std::vector<LogEntry> SimServer::log() const {
  const std::lock_guard lock(shared_.log_mutex);
  return shared_.log;
}

void SimServer::reset() { reset_shared(shared_); }

}  // namespace medsafe::sim
