// The shared HTTP transport: a few event loops, each an I/O thread that owns a libcurl multi
// handle and the easy handles of the exchanges given to it. One loop runs out of CPU at a few
// thousand requests per second (libcurl's work per request, not the waiting), so a load test
// on a multi-core client needs more than one.
//
// Other threads only touch a loop's hand-over queue (under a mutex) and its eventfd, which wakes
// the loop. Timeouts other than connect are measured here against steady_clock stamps, because
// libcurl's own TIMEOUT_MS also counts the time a transfer waits for a free connection, which is
// not the server's latency.
//
// Each loop is epoll + curl_multi_socket_action: libcurl tells the loop which sockets to watch,
// and a wake-up drives only the transfers whose sockets are ready. curl_multi_perform instead
// visits every transfer on each call and polls each one's socket: at 32 transfers per loop that
// was 4.5 poll calls per request against 2 now, and ~3 µs of the client's CPU per request.
// A connection's socket stays in the epoll set between its requests (libcurl says "remove" when
// a transfer ends and "add" when the next one starts), so steady keep-alive load makes no
// epoll_ctl call at all. That is safe only for sockets whose closing we see: the loop opens and
// closes its connections' sockets itself (libcurl's open- and close-socket callbacks); any
// other socket (the resolver's) leaves the set as soon as libcurl no longer wants it.
#include <curl/curl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iterator>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "medsafe/error.hpp"
#include "medsafe/http/transport.hpp"
#include "medsafe/text.hpp"

namespace medsafe {

// Out of line: the exchange type's vtable and type_info have one home, libmedsafe_http.
HttpExchange::~HttpExchange() = default;
void HttpExchange::on_event(const SseEvent& /*event*/) {}
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kMaxBodyBytes = 64u << 20;
// The I/O thread never sleeps longer than this while transfers are active, so the timeouts it
// checks itself fire at most this late.
constexpr auto kBusyPollInterval = 20ms;
constexpr auto kIdlePollInterval = 1000ms;
constexpr auto kTimeoutCheckInterval = 5ms;
constexpr std::size_t kMaxSpareHandles = 256;
// Distinct request URLs an I/O thread keeps parsed (a run has one per endpoint); others are
// handed to libcurl as text.
constexpr std::size_t kMaxParsedUrls = 64;
// Event loops when HttpTransportOptions::io_threads is 0: one per core, at most this many.
constexpr std::size_t kMaxDefaultLoops = 4;

// Whether the environment holds any of the variables libcurl reads to choose a proxy for
// http(s) URLs. When none is set, each transfer says "no proxy" itself: the same choice, without
// libcurl scanning the environment five times per request. Read when the transport starts.
bool environment_names_a_proxy() {
  for (const char* name : {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                           "ALL_PROXY", "no_proxy", "NO_PROXY"}) {
    if (std::getenv(name) != nullptr) return true;
  }
  return false;
}

void init_curl_once() {
  static std::once_flag once;
  static CURLcode status = CURLE_OK;
  std::call_once(once, [] { status = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (status != CURLE_OK) {
    throw Error(ErrorKind::internal,
                std::string("libcurl could not be initialised: ") + curl_easy_strerror(status));
  }
}

bool istarts_with(std::string_view text, std::string_view prefix) noexcept {
  return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

// A header line's part: blanks before it, and blanks or the line's end (CR LF) after it.
std::string_view trim_header(std::string_view text) noexcept {
  return trim_back(trim_front(text, " \t"), kBlanks);
}

std::string milliseconds_text(std::chrono::milliseconds ms) {
  return std::to_string(ms.count()) + " ms";
}

// Headers whose values are credentials: the verbose trace shows their names only.
bool is_credential_header(std::string_view name) noexcept {
  for (std::string_view secret :
       {"authorization", "proxy-authorization", "x-api-key", "api-key", "cookie"}) {
    if (iequals(name, secret)) return true;
  }
  return false;
}

// Writes one block of libcurl's trace to stderr, one prefixed line per line, with the values of
// credential headers replaced.
void write_trace(std::string_view prefix, std::string_view block, bool headers) {
  std::string out;
  while (!block.empty()) {
    const std::size_t eol = block.find('\n');
    std::string_view line = block.substr(0, eol);
    block = eol == std::string_view::npos ? std::string_view{} : block.substr(eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    out += "medsafe: http: ";
    out += prefix;
    if (const std::size_t colon = line.find(':');
        headers && colon != std::string_view::npos && is_credential_header(line.substr(0, colon))) {
      out.append(line.substr(0, colon));
      out += ": [redacted]";
    } else {
      out.append(line);
    }
    out += '\n';
  }
  std::fwrite(out.data(), 1, out.size(), stderr);
}

int on_curl_debug(CURL* /*easy*/, curl_infotype type, char* data, size_t size,
                  void* /*user*/) noexcept {
  try {
    const std::string_view block(data, size);
    switch (type) {
      case CURLINFO_TEXT:
        write_trace("* ", block, false);
        break;
      case CURLINFO_HEADER_IN:
        write_trace("< ", block, true);
        break;
      case CURLINFO_HEADER_OUT:
        write_trace("> ", block, true);
        break;
      default:
        break;  // bodies and TLS records: too large and may hold private text
    }
  } catch (...) {  // never let an exception cross libcurl
  }
  return 0;
}

// Failures before any connection that a wrong base_url, port, host or TLS setting gives; a
// reset or a timeout may be load and is not one of them.
bool is_unreachable(CURLcode code) noexcept {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
      return true;
    default:
      return false;
  }
}

enum class BodyMode : std::uint8_t { undecided, events, buffer };

// Everything about one exchange, owned by the I/O thread from the moment it is dequeued.
struct Transfer {
  HttpRequest request;
  std::shared_ptr<HttpExchange> exchange;
  CURL* easy = nullptr;
  // The request's header lines as libcurl's list, in two allocations rather than two per
  // line: the lines (each ended by a NUL) and the list's nodes, which point into them.
  std::string header_text;
  std::vector<curl_slist> header_nodes;
  HttpResult result;
  SseParser parser;
  SseParser::EventCallback event_sink;
  BodyMode mode = BodyMode::undecided;
  TimePoint last_byte{};
  std::size_t slot = 0;  ///< index in the active list
  // A failure decided here rather than by libcurl (timeout, a throwing callback).
  Outcome abort_outcome = Outcome::ok;
  std::string abort_error;
  // The body (or one stream event) reached its bound, or the exchange asked to stop: the
  // transfer ends as a success with HttpResult::cut.
  bool cut = false;
  std::size_t body_cap = kMaxBodyBytes;
  char curl_error[CURL_ERROR_SIZE] = {};

  Transfer(HttpRequest r, std::shared_ptr<HttpExchange> e)
      : request(std::move(r)), exchange(std::move(e)) {
    if (request.max_body_bytes > 0) body_cap = request.max_body_bytes;
    event_sink = [this](const SseEvent& event) {
      if (abort_outcome != Outcome::ok || cut || exchange->stop_requested()) return;
      try {
        exchange->on_event(event);
      } catch (const std::exception& error) {
        fail(Outcome::transport_error, std::string("on_event threw: ") + error.what());
      } catch (...) {
        fail(Outcome::transport_error, "on_event threw");
      }
    };
  }

  void fail(Outcome outcome, std::string error) {
    if (abort_outcome != Outcome::ok) return;
    abort_outcome = outcome;
    abort_error = std::move(error);
  }

  void decide_body_mode() {
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    const std::string* type = result.header("content-type");
    const bool stream = type != nullptr && istarts_with(*type, "text/event-stream");
    if (status >= 200 && status < 300 && stream) {
      mode = BodyMode::events;
      return;
    }
    mode = BodyMode::buffer;
    if (const std::string* length = result.header("content-length")) {
      const unsigned long long n = std::strtoull(length->c_str(), nullptr, 10);
      // A body announced larger than the bound fills it: one allocation, not a doubling
      // that would overshoot it.
      if (n > 0)
        result.body.reserve(static_cast<std::size_t>(std::min<unsigned long long>(n, body_cap)));
    }
  }
};

size_t on_header(char* data, size_t size, size_t count, void* user) noexcept {
  auto& t = *static_cast<Transfer*>(user);
  const size_t length = size * count;
  try {
    const TimePoint now = Clock::now();
    if (t.result.first_byte == TimePoint{}) t.result.first_byte = now;
    t.last_byte = now;
    const std::string_view line = trim_header(std::string_view(data, length));
    if (line.rfind("HTTP/", 0) == 0) {
      t.result.headers.clear();      // a new response (after 1xx): only the final one's headers
      t.result.headers.reserve(12);  // most responses have fewer: one allocation, no regrowth
      return length;
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return length;
    std::string name(trim_header(line.substr(0, colon)));
    for (char& c : name) c = ascii_lower(c);
    t.result.headers.emplace_back(std::move(name),
                                  std::string(trim_header(line.substr(colon + 1))));
    return length;
  } catch (...) {
    t.fail(Outcome::transport_error, "out of memory while reading response headers");
    return 0;
  }
}

// Called each time libcurl is about to send the request, including its own resend on a fresh
// connection when a reused one was found closed.
//
// It also moves the send stamp to this moment less the time this transfer spent opening its
// connection (0 on a reused one): a connection's set-up is part of TTFT, but the time the request
// waited on this I/O thread behind others (a burst of 128 at once) is the client's lag, not the
// server's latency, and goes to the send lag instead.
int on_prereq(void* user, char* /*conn_primary_ip*/, char* /*conn_local_ip*/,
              int /*conn_primary_port*/, int /*conn_local_port*/) noexcept {
  auto& t = *static_cast<Transfer*>(user);
  const TimePoint now = Clock::now();
  ++t.result.sends;
  curl_off_t connect_us = 0;
  curl_off_t tls_us = 0;
  curl_easy_getinfo(t.easy, CURLINFO_CONNECT_TIME_T, &connect_us);
  curl_easy_getinfo(t.easy, CURLINFO_APPCONNECT_TIME_T, &tls_us);
  const auto opening = std::chrono::microseconds(std::max<curl_off_t>({connect_us, tls_us, 0}));
  const TimePoint started = now - std::chrono::duration_cast<Clock::duration>(opening);
  if (started > t.result.sent) t.result.sent = started;
  return CURL_PREREQFUNC_OK;
}

size_t on_body(char* data, size_t size, size_t count, void* user) noexcept {
  auto& t = *static_cast<Transfer*>(user);
  const size_t length = size * count;
  try {
    const TimePoint now = Clock::now();
    t.last_byte = now;
    if (t.mode == BodyMode::undecided) t.decide_body_mode();
    t.result.body_bytes += length;
    if (t.result.body_head.size() < kBodyHeadBytes) {
      t.result.body_head.append(data, std::min(length, kBodyHeadBytes - t.result.body_head.size()));
    }
    if (t.mode == BodyMode::events) {
      t.parser.feed(std::string_view(data, length), now, t.event_sink);
      if (t.exchange->stop_requested()) {
        t.cut = true;
      } else if (t.parser.buffered_bytes() > t.body_cap) {
        // One event that never ends must not take all memory: its beginning goes to the
        // exchange, marked cut, and the transfer ends with it.
        const std::string partial = t.parser.partial_data();
        t.event_sink(SseEvent{t.parser.partial_event_type(), partial, {}, now, true});
        t.cut = true;
      }
    } else if (t.result.body.size() + length > t.body_cap) {
      t.result.body.append(data, t.body_cap - t.result.body.size());
      t.cut = true;
    } else {
      t.result.body.append(data, length);
    }
  } catch (...) {
    t.fail(Outcome::transport_error, "out of memory while reading the response body");
  }
  // 0 makes libcurl stop the transfer.
  return t.abort_outcome == Outcome::ok && !t.cut ? length : 0;
}

// Sets one option; remembers the first failure so configure() can report it.
template <typename Value>
void set_option(CURL* easy, CURLoption option, Value value, CURLcode& first_failure) {
  const CURLcode code = curl_easy_setopt(easy, option, value);
  if (code != CURLE_OK && first_failure == CURLE_OK) first_failure = code;
}

struct UrlHandleDeleter {
  void operator()(CURLU* url) const noexcept { curl_url_cleanup(url); }
};
using UrlHandle = std::unique_ptr<CURLU, UrlHandleDeleter>;

// One I/O thread with its multi handle, its connections and the exchanges dealt to it.
struct EventLoop {
  struct Cancel {
    bool all = true;
    const void* owner = nullptr;
    std::uint64_t ticket = 0;
    std::vector<std::unique_ptr<Transfer>> queued;  ///< taken out of the queue, never started
  };

  HttpTransportOptions options;
  bool proxy_from_environment = environment_names_a_proxy();
  CURLM* multi = nullptr;
  int wake_fd = -1;   ///< an eventfd: other threads write it to wake the I/O thread
  int epoll_fd = -1;  ///< the wake fd and the sockets libcurl waits on (and idle ones, lazily)
  std::thread io;
  /// Exchanges started here and not yet delivered; read by the transport to choose a loop.
  std::atomic<std::int64_t> in_hand{0};

  std::mutex mutex;  // guards everything down to `stopped`
  std::condition_variable cancelled_cv;
  std::vector<std::unique_ptr<Transfer>> incoming;
  std::vector<Cancel> cancels;
  std::uint64_t cancel_tickets = 0;
  std::uint64_t cancel_tickets_done = 0;
  bool stopping = false;
  bool stopped = false;

  // Owned by the I/O thread.
  // By socket number: the events libcurl wants (0: none), those in the epoll set (0: not in
  // it), and whether it is one of our connections' sockets (opened by on_open_socket, not yet
  // closed by on_close_socket). Only those stay in the set while libcurl wants nothing of them.
  std::vector<std::uint32_t> wanted;
  std::vector<std::uint32_t> registered;
  std::vector<bool> connection;
  std::vector<epoll_event> ready;
  TimePoint curl_deadline = TimePoint::max();  ///< libcurl's timer; max: none
  std::vector<std::unique_ptr<Transfer>> active;
  std::vector<CURL*> spare_handles;
  // Request URLs parsed once: libcurl copies the parsed form for each transfer instead of
  // parsing the text again. Null: the text did not parse (libcurl then reports it as usual).
  // Declared after the handles' members, so destroyed after them.
  std::unordered_map<std::string, UrlHandle> parsed_urls;
  TimePoint next_timeout_check{};

  explicit EventLoop(HttpTransportOptions opts) : options(opts) {
    wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
    epoll_event wake_event{};
    wake_event.events = EPOLLIN;
    wake_event.data.fd = wake_fd;
    if (wake_fd < 0 || epoll_fd < 0 ||
        ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, wake_fd, &wake_event) != 0) {
      const std::string reason = std::strerror(errno);
      close_descriptors();
      throw Error(ErrorKind::internal, "cannot set up the HTTP loop's epoll set: " + reason);
    }
    ready.resize(64);
    multi = curl_multi_init();
    if (multi == nullptr) {
      close_descriptors();
      throw Error(ErrorKind::internal, "curl_multi_init failed");
    }
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &EventLoop::on_socket);
    curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, static_cast<void*>(this));
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &EventLoop::on_timer);
    curl_multi_setopt(multi, CURLMOPT_TIMERDATA, static_cast<void*>(this));
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, std::max(options.max_idle_connections, 1L));
    curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, std::max(options.max_connections, 0L));
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                      std::max(options.max_host_connections, 0L));
    io = std::thread([this] { run(); });
  }

  // Stopping is in two steps so that no loop's object goes away while another loop's callback
  // may still hand it an exchange: every loop is told to stop, then each is joined.
  void request_stop() {
    std::lock_guard lock(mutex);
    stopping = true;
    wake();
  }

  ~EventLoop() {
    request_stop();
    if (io.joinable()) io.join();
    for (CURL* easy : spare_handles) curl_easy_cleanup(easy);
    curl_multi_cleanup(multi);
    close_descriptors();
  }

  void close_descriptors() noexcept {
    if (wake_fd >= 0) ::close(wake_fd);
    if (epoll_fd >= 0) ::close(epoll_fd);
    wake_fd = epoll_fd = -1;
  }

  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  [[nodiscard]] bool on_io_thread() const noexcept {
    return std::this_thread::get_id() == io.get_id();
  }

  // Wakes the I/O thread from epoll_wait; from any thread, while the loop exists.
  void wake() const noexcept {
    const std::uint64_t one = 1;
    // EAGAIN (the counter is full) still leaves the descriptor readable: no wake-up is lost.
    [[maybe_unused]] const ssize_t written = ::write(wake_fd, &one, sizeof one);
  }

  // libcurl's socket callback: what libcurl wants of a socket. The epoll set follows at once
  // when libcurl wants more or other events, and lazily when it wants none (see wait_and_drive).
  static int on_socket(CURL* /*easy*/, curl_socket_t socket, int what, void* user,
                       void* /*socket_data*/) noexcept {
    auto& self = *static_cast<EventLoop*>(user);
    if (socket < 0) return 0;
    const auto at = static_cast<std::size_t>(socket);
    if (!self.track(socket)) return -1;  // out of memory: libcurl fails the transfer
    if (what == CURL_POLL_REMOVE) {
      self.wanted[at] = 0;
      // A connection between requests stays in the set (see wait_and_drive); another socket
      // may be closed next, without our seeing it, so it leaves now.
      if (!self.connection[at] && self.registered[at] != 0) {
        ::epoll_ctl(self.epoll_fd, EPOLL_CTL_DEL, socket, nullptr);
        self.registered[at] = 0;
      }
      return 0;
    }
    const std::uint32_t events =
        ((what & CURL_POLL_IN) != 0 ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) != 0 ? EPOLLOUT : 0u);
    self.wanted[at] = events;
    return self.register_events(socket, events) ? 0 : -1;
  }

  // Makes room for `socket` in the per-socket records; false when out of memory.
  bool track(curl_socket_t socket) noexcept {
    const auto at = static_cast<std::size_t>(socket);
    if (at < wanted.size()) return true;
    try {
      wanted.resize(at + 1, 0);
      registered.resize(at + 1, 0);
      connection.resize(at + 1, false);
      return true;
    } catch (...) {
      return false;
    }
  }

  // Puts `socket` in the epoll set for `events` unless it is there already for them.
  bool register_events(curl_socket_t socket, std::uint32_t events) noexcept {
    const auto at = static_cast<std::size_t>(socket);
    if (registered[at] == events) return true;
    epoll_event event{};
    event.events = events;
    event.data.fd = socket;
    // Defensive: should the record be wrong, a failed MOD is retried as ADD and the other way.
    const int first = registered[at] == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    if (::epoll_ctl(epoll_fd, first, socket, &event) != 0) {
      const int second = first == EPOLL_CTL_ADD ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
      if (::epoll_ctl(epoll_fd, second, socket, &event) != 0) {
        registered[at] = 0;
        return false;
      }
    }
    registered[at] = events;
    return true;
  }

  // libcurl's open-socket callback, for connections: the socket libcurl would open, marked as
  // one whose closing on_close_socket will see.
  static curl_socket_t on_open_socket(void* user, curlsocktype /*purpose*/,
                                      curl_sockaddr* address) noexcept {
    auto& self = *static_cast<EventLoop*>(user);
    const curl_socket_t socket =
        ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
    if (socket < 0) return CURL_SOCKET_BAD;
    if (!self.track(socket)) {
      ::close(socket);
      return CURL_SOCKET_BAD;
    }
    const auto at = static_cast<std::size_t>(socket);
    self.connection[at] = true;
    self.registered[at] = 0;  // a new socket is in no epoll set
    self.wanted[at] = 0;
    return socket;
  }

  // libcurl's close-socket callback for the sockets on_open_socket made: closing takes the
  // socket out of the epoll set, so the records say so.
  static int on_close_socket(void* user, curl_socket_t socket) noexcept {
    auto& self = *static_cast<EventLoop*>(user);
    const auto at = static_cast<std::size_t>(socket);
    if (socket >= 0 && at < self.registered.size()) {
      self.registered[at] = 0;
      self.wanted[at] = 0;
      self.connection[at] = false;
    }
    return ::close(socket);
  }

  // libcurl's timer callback: when it next wants curl_multi_socket_action(CURL_SOCKET_TIMEOUT).
  static int on_timer(CURLM* /*multi*/, long timeout_ms, void* user) noexcept {
    auto& self = *static_cast<EventLoop*>(user);
    self.curl_deadline =
        timeout_ms < 0 ? TimePoint::max() : Clock::now() + std::chrono::milliseconds(timeout_ms);
    return 0;
  }

  void start(std::unique_ptr<Transfer> transfer) {
    in_hand.fetch_add(1, std::memory_order_relaxed);
    {
      std::lock_guard lock(mutex);
      if (!stopped) {
        const bool was_empty = incoming.empty();
        incoming.push_back(std::move(transfer));
        // One wake-up per batch is enough: the I/O thread drains the whole queue, and it looks
        // at the queue again before it sleeps, so its own calls (from callbacks) need none.
        // Waking under the lock keeps the eventfd open (it is closed after `stopped`).
        if (was_empty && !on_io_thread()) wake();
        return;
      }
    }
    complete_unstarted(std::move(transfer));
  }

  // Queues a cancellation; returns its ticket for await_cancel (0: nothing to wait for).
  std::uint64_t request_cancel(bool all, const void* owner) {
    std::lock_guard lock(mutex);
    if (stopped) return 0;
    Cancel request{all, owner, ++cancel_tickets, {}};
    // Queued exchanges of the owner are cancelled too; later ones stay (they come after).
    auto keep = std::stable_partition(incoming.begin(), incoming.end(), [&](const auto& t) {
      return !(all || t->request.owner == owner);
    });
    std::move(keep, incoming.end(), std::back_inserter(request.queued));
    incoming.erase(keep, incoming.end());
    cancels.push_back(std::move(request));
    // From this loop's own thread it is handled before the thread next sleeps.
    if (!on_io_thread()) wake();
    return cancel_tickets;
  }

  void await_cancel(std::uint64_t ticket) {
    std::unique_lock lock(mutex);
    cancelled_cv.wait(lock, [&] { return cancel_tickets_done >= ticket || stopped; });
  }

  // ---- the I/O thread ----

  void run() {
    for (;;) {
      std::vector<std::unique_ptr<Transfer>> batch;
      std::vector<Cancel> cancel_batch;
      bool stop = false;
      {
        std::lock_guard lock(mutex);
        batch.swap(incoming);
        cancel_batch.swap(cancels);
        stop = stopping;
      }
      if (!cancel_batch.empty()) apply_cancels(cancel_batch);
      if (stop) {
        shut_down(std::move(batch));
        return;
      }
      for (auto& transfer : batch) begin(std::move(transfer));
      if (Clock::now() >= curl_deadline) drive(CURL_SOCKET_TIMEOUT, 0);
      collect_finished();
      check_timeouts();
      // Queued work is begun next round, but the sockets are looked at every round.
      wait_and_drive(!has_queued_work());
    }
  }

  void drive(curl_socket_t socket, int events) {
    if (socket == CURL_SOCKET_TIMEOUT) curl_deadline = TimePoint::max();  // libcurl sets anew
    int running = 0;
    curl_multi_socket_action(multi, socket, events, &running);
  }

  // Sleeps until a socket is ready, libcurl's timer is due, another thread wakes the loop, or
  // our own timeout checks are due; then drives the ready sockets.
  void wait_and_drive(bool may_sleep) {
    const auto cap = !may_sleep       ? std::chrono::milliseconds(0)
                     : active.empty() ? kIdlePollInterval
                                      : kBusyPollInterval;
    auto wait = cap;
    if (curl_deadline != TimePoint::max()) {
      const auto until_timer =
          std::chrono::ceil<std::chrono::milliseconds>(curl_deadline - Clock::now());
      wait = std::clamp(until_timer, std::chrono::milliseconds(0), cap);
    }
    const int count = ::epoll_wait(epoll_fd, ready.data(), static_cast<int>(ready.size()),
                                   static_cast<int>(wait.count()));
    // Driving one socket can change what libcurl wants of the others, so each is looked up
    // again when its turn comes.
    for (int i = 0; i < count; ++i) {
      const epoll_event& event = ready[static_cast<std::size_t>(i)];
      const curl_socket_t socket = event.data.fd;
      if (socket == wake_fd) {
        std::uint64_t wakes = 0;
        [[maybe_unused]] const ssize_t got = ::read(wake_fd, &wakes, sizeof wakes);
        continue;
      }
      const auto at = static_cast<std::size_t>(socket);
      const std::uint32_t want = at < wanted.size() ? wanted[at] : 0;
      if (want == 0) {
        // A connection between requests (the server closed it, say): out of the set until
        // libcurl wants it again, or level-triggered epoll would report it every time.
        ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, socket, nullptr);
        if (at < registered.size()) registered[at] = 0;
        continue;
      }
      int mask = 0;
      if ((event.events & (EPOLLIN | EPOLLHUP)) != 0 && (want & EPOLLIN) != 0) {
        mask |= CURL_CSELECT_IN;
      }
      if ((event.events & EPOLLOUT) != 0 && (want & EPOLLOUT) != 0) mask |= CURL_CSELECT_OUT;
      if ((event.events & EPOLLERR) != 0) mask |= CURL_CSELECT_ERR;
      // A hang-up while libcurl waits to write, say: let libcurl try what it wanted and find
      // out, or level-triggered epoll would report the socket again at once, forever.
      if ((mask & (CURL_CSELECT_IN | CURL_CSELECT_OUT)) == 0) {
        if ((want & EPOLLIN) != 0) mask |= CURL_CSELECT_IN;
        if ((want & EPOLLOUT) != 0) mask |= CURL_CSELECT_OUT;
      }
      drive(socket, mask);
    }
  }

  bool has_queued_work() {
    std::lock_guard lock(mutex);
    return !incoming.empty() || !cancels.empty() || stopping;
  }

  void apply_cancels(std::vector<Cancel>& batch) {
    std::uint64_t last_ticket = 0;
    for (Cancel& request : batch) {
      for (auto& transfer : request.queued) complete_unstarted(std::move(transfer));
      std::vector<Transfer*> doomed;
      for (auto& transfer : active) {
        if (request.all || transfer->request.owner == request.owner)
          doomed.push_back(transfer.get());
      }
      for (Transfer* transfer : doomed) abort(*transfer, Outcome::cancelled, "cancelled");
      last_ticket = std::max(last_ticket, request.ticket);
    }
    {
      std::lock_guard lock(mutex);
      cancel_tickets_done = std::max(cancel_tickets_done, last_ticket);
    }
    cancelled_cv.notify_all();
  }

  void shut_down(std::vector<std::unique_ptr<Transfer>> batch) {
    while (!active.empty()) abort(*active.back(), Outcome::cancelled, "cancelled");
    for (;;) {
      for (auto& transfer : batch) complete_unstarted(std::move(transfer));
      batch.clear();
      std::lock_guard lock(mutex);
      // Callbacks above may have queued more; finish those too before closing the door.
      if (incoming.empty()) {
        stopped = true;
        cancel_tickets_done = cancel_tickets;
        cancelled_cv.notify_all();
        return;
      }
      batch.swap(incoming);
    }
  }

  CURL* take_handle() {
    if (spare_handles.empty()) return curl_easy_init();
    CURL* easy = spare_handles.back();
    spare_handles.pop_back();
    return easy;
  }

  void return_handle(CURL* easy) {
    if (spare_handles.size() < kMaxSpareHandles) {
      curl_easy_reset(easy);
      spare_handles.push_back(easy);
    } else {
      curl_easy_cleanup(easy);
    }
  }

  // `url` parsed as libcurl parses a CURLOPT_URL; null when it does not parse or too many
  // distinct URLs were seen.
  CURLU* parsed_url(const std::string& url) {
    if (const auto found = parsed_urls.find(url); found != parsed_urls.end()) {
      return found->second.get();
    }
    if (parsed_urls.size() >= kMaxParsedUrls) return nullptr;
    UrlHandle parsed(curl_url());
    if (parsed != nullptr &&
        curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(),
                     CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) {
      parsed.reset();
    }
    return parsed_urls.emplace(url, std::move(parsed)).first->second.get();
  }

  // Sets every option of the transfer's easy handle; returns the first failure.
  CURLcode configure(Transfer& t) {
    CURL* easy = t.easy;
    const HttpRequest& r = t.request;
    CURLcode failure = CURLE_OK;
    if (CURLU* parsed = parsed_url(r.url)) {
      set_option(easy, CURLOPT_CURLU, parsed, failure);
    } else {
      set_option(easy, CURLOPT_URL, r.url.c_str(), failure);
    }
    set_option(easy, CURLOPT_PRIVATE, static_cast<void*>(&t), failure);
    set_option(easy, CURLOPT_NOSIGNAL, 1L, failure);
    set_option(easy, CURLOPT_TCP_NODELAY, 1L, failure);
    set_option(easy, CURLOPT_ERRORBUFFER, t.curl_error, failure);
    set_option(easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1), failure);
    set_option(easy, CURLOPT_HEADERFUNCTION, &on_header, failure);
    set_option(easy, CURLOPT_HEADERDATA, static_cast<void*>(&t), failure);
    set_option(easy, CURLOPT_WRITEFUNCTION, &on_body, failure);
    set_option(easy, CURLOPT_WRITEDATA, static_cast<void*>(&t), failure);
    set_option(easy, CURLOPT_PREREQFUNCTION, &on_prereq, failure);
    set_option(easy, CURLOPT_PREREQDATA, static_cast<void*>(&t), failure);
    set_option(easy, CURLOPT_OPENSOCKETFUNCTION, &EventLoop::on_open_socket, failure);
    set_option(easy, CURLOPT_OPENSOCKETDATA, static_cast<void*>(this), failure);
    set_option(easy, CURLOPT_CLOSESOCKETFUNCTION, &EventLoop::on_close_socket, failure);
    set_option(easy, CURLOPT_CLOSESOCKETDATA, static_cast<void*>(this), failure);
    if (r.timeouts.connect.count() > 0) {
      set_option(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(r.timeouts.connect.count()),
                 failure);
    }
    if (r.method == "GET") {
      set_option(easy, CURLOPT_HTTPGET, 1L, failure);
    } else {
      if (r.method != "POST") set_option(easy, CURLOPT_CUSTOMREQUEST, r.method.c_str(), failure);
      if (r.method == "POST" || !r.body.empty()) {
        // The body stays in the request, which outlives the transfer: libcurl reads it in place.
        set_option(easy, CURLOPT_POSTFIELDS, r.body.data(), failure);
        set_option(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()),
                   failure);
      }
    }
    if (!proxy_from_environment) {
      set_option(easy, CURLOPT_PROXY, "", failure);
      set_option(easy, CURLOPT_NOPROXY, "", failure);
    }
    set_option(easy, CURLOPT_SSL_VERIFYPEER, r.verify_tls ? 1L : 0L, failure);
    set_option(easy, CURLOPT_SSL_VERIFYHOST, r.verify_tls ? 2L : 0L, failure);
    if (!r.ca_bundle.empty()) set_option(easy, CURLOPT_CAINFO, r.ca_bundle.c_str(), failure);
    if (options.verbose) {
      set_option(easy, CURLOPT_DEBUGFUNCTION, &on_curl_debug, failure);
      set_option(easy, CURLOPT_VERBOSE, 1L, failure);
    }
    set_option(easy, CURLOPT_HTTPHEADER, header_list(t), failure);
    return failure;
  }

  // The header lines libcurl adds to or replaces in its own, kept in `t`.
  static curl_slist* header_list(Transfer& t) {
    // "Expect:" stops libcurl from waiting for "100 Continue" before sending larger bodies.
    static constexpr std::string_view kNoExpect = "Expect:";
    // libcurl sends "Name;" as a header with an empty value ("Name:" would remove it).
    const auto line_size = [](const std::string& name, const std::string& value) {
      return name.size() + (value.empty() ? 1 : 2 + value.size());
    };
    std::string& text = t.header_text;
    text.clear();
    text.append(kNoExpect).push_back('\0');
    for (const auto& [name, value] : t.request.headers) {
      text.append(name);
      if (value.empty()) {
        text.push_back(';');
      } else {
        text.append(": ").append(value);
      }
      text.push_back('\0');
    }
    // The text is complete (it moves no more): point the nodes into it, one line each.
    t.header_nodes.assign(t.request.headers.size() + 1, curl_slist{});
    char* line = text.data();
    t.header_nodes[0].data = line;
    line += kNoExpect.size() + 1;
    for (std::size_t i = 0; i < t.request.headers.size(); ++i) {
      const auto& [name, value] = t.request.headers[i];
      t.header_nodes[i].next = &t.header_nodes[i + 1];
      t.header_nodes[i + 1].data = line;
      line += line_size(name, value) + 1;
    }
    return t.header_nodes.data();
  }

  void begin(std::unique_ptr<Transfer> transfer) {
    Transfer& t = *transfer;
    t.easy = take_handle();
    if (t.easy == nullptr) {
      complete_unstarted(std::move(transfer), Outcome::transport_error, "curl_easy_init failed");
      return;
    }
    if (const CURLcode code = configure(t); code != CURLE_OK) {
      const std::string error =
          std::string("cannot set up the request: ") + curl_easy_strerror(code);
      release(t);
      complete_unstarted(std::move(transfer), Outcome::transport_error, error);
      return;
    }
    t.result.sent = Clock::now();
    t.last_byte = t.result.sent;
    if (const CURLMcode code = curl_multi_add_handle(multi, t.easy); code != CURLM_OK) {
      const std::string error =
          std::string("cannot start the request: ") + curl_multi_strerror(code);
      release(t);
      complete_unstarted(std::move(transfer), Outcome::transport_error, error);
      return;
    }
    t.slot = active.size();
    active.push_back(std::move(transfer));
  }

  void release(Transfer& t) {
    if (t.easy != nullptr) return_handle(t.easy);
    t.easy = nullptr;
  }

  void collect_finished() {
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(multi, &left)) {
      if (message->msg != CURLMSG_DONE) continue;
      void* user = nullptr;
      curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &user);
      const CURLcode code = message->data.result;  // read before the handle is removed
      finish(*static_cast<Transfer*>(user), code);
    }
  }

  void check_timeouts() {
    const TimePoint now = Clock::now();
    if (now < next_timeout_check) return;
    next_timeout_check = now + kTimeoutCheckInterval;
    std::vector<std::pair<Transfer*, std::string>> expired;
    for (const auto& transfer : active) {
      const HttpTimeouts& limits = transfer->request.timeouts;
      const auto since_sent = now - transfer->result.sent;
      if (limits.total.count() > 0 && since_sent >= limits.total) {
        expired.emplace_back(transfer.get(), "total timeout: no complete response within " +
                                                 milliseconds_text(limits.total));
      } else if (transfer->result.first_byte == TimePoint{}) {
        if (limits.first_byte.count() > 0 && since_sent >= limits.first_byte) {
          expired.emplace_back(transfer.get(), "first-byte timeout: no response byte within " +
                                                   milliseconds_text(limits.first_byte));
        }
      } else if (limits.idle.count() > 0 && now - transfer->last_byte >= limits.idle) {
        expired.emplace_back(transfer.get(), "idle timeout: no data for " +
                                                 milliseconds_text(limits.idle) + " after " +
                                                 std::to_string(transfer->parser.events_parsed()) +
                                                 " events");
      }
    }
    for (auto& [transfer, error] : expired) abort(*transfer, Outcome::timeout, std::move(error));
  }

  // Ends an active transfer from the I/O loop (never from inside a libcurl callback).
  void abort(Transfer& t, Outcome outcome, std::string error) {
    t.fail(outcome, std::move(error));
    finish(t, CURLE_ABORTED_BY_CALLBACK);
  }

  std::string describe_curl_failure(const Transfer& t, CURLcode code) const {
    std::string detail =
        t.curl_error[0] != '\0' ? std::string(t.curl_error) : std::string(curl_easy_strerror(code));
    if (code == CURLE_OPERATION_TIMEDOUT) {
      return "connect timeout (" + milliseconds_text(t.request.timeouts.connect) + "): " + detail;
    }
    return detail;
  }

  void finish(Transfer& t, CURLcode code) {
    curl_multi_remove_handle(multi, t.easy);
    HttpResult& result = t.result;
    result.finished = Clock::now();
    long status = 0;
    curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
    result.status = static_cast<int>(status);
    if (t.mode == BodyMode::undecided && status > 0 && t.abort_outcome == Outcome::ok) {
      t.decide_body_mode();  // a response without a body still has a kind
    }
    result.sse = t.mode == BodyMode::events;
    result.sse_events = t.parser.events_parsed();
    if (t.abort_outcome != Outcome::ok) {
      result.outcome = t.abort_outcome;
      result.error = std::move(t.abort_error);
    } else if (t.cut) {
      result.outcome = Outcome::ok;  // ended here on purpose (libcurl says a write error)
      result.cut = true;
    } else if (code == CURLE_OK) {
      result.outcome = Outcome::ok;
      result.sse_truncated = result.sse && t.parser.has_partial_event();
    } else {
      result.outcome =
          code == CURLE_OPERATION_TIMEDOUT ? Outcome::timeout : Outcome::transport_error;
      result.error = describe_curl_failure(t, code);
      result.unreachable = is_unreachable(code);
    }
    release(t);
    // Take the transfer out of the active list before any callback can start new work.
    std::unique_ptr<Transfer> owned = std::move(active[t.slot]);
    if (t.slot + 1 != active.size()) {
      active[t.slot] = std::move(active.back());
      active[t.slot]->slot = t.slot;
    }
    active.pop_back();
    deliver(*owned);
  }

  // Finishes a transfer that never reached libcurl (cancelled in the queue, or set-up failed).
  void complete_unstarted(std::unique_ptr<Transfer> t, Outcome outcome = Outcome::cancelled,
                          std::string error = "cancelled") {
    t->result.outcome = outcome;
    t->result.error = std::move(error);
    t->result.finished = Clock::now();
    deliver(*t);
  }

  void deliver(Transfer& t) {
    // Counted out first, so a caller woken by on_complete sees this loop free again.
    in_hand.fetch_sub(1, std::memory_order_relaxed);
    if (!t.exchange) return;
    try {
      t.exchange->on_complete(std::move(t.result));
    } catch (const std::exception& error) {
      std::fprintf(stderr, "medsafe: error: http: an on_complete callback threw: %s\n",
                   error.what());
    } catch (...) {
      std::fprintf(stderr, "medsafe: error: http: an on_complete callback threw\n");
    }
  }
};

std::size_t loop_count(const HttpTransportOptions& options) {
  // A connection cap is kept exactly only by a single loop.
  if (options.max_connections > 0 || options.max_host_connections > 0) return 1;
  if (options.io_threads > 0) return static_cast<std::size_t>(options.io_threads);
  const unsigned cores = std::thread::hardware_concurrency();
  return std::clamp<std::size_t>(cores, 1, kMaxDefaultLoops);
}

}  // namespace

struct HttpTransport::Impl {
  std::vector<std::unique_ptr<EventLoop>> loops;

  explicit Impl(HttpTransportOptions options) {
    init_curl_once();
    const std::size_t count = loop_count(options);
    HttpTransportOptions each = options;
    each.max_idle_connections =
        std::max(options.max_idle_connections / static_cast<long>(count), 1L);
    loops.reserve(count);
    try {
      for (std::size_t i = 0; i < count; ++i) loops.push_back(std::make_unique<EventLoop>(each));
    } catch (...) {
      stop_all();
      throw;
    }
  }

  ~Impl() { stop_all(); }

  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void stop_all() {
    for (auto& loop : loops) loop->request_stop();
    for (auto& loop : loops) {
      if (loop->io.joinable()) loop->io.join();
    }
    loops.clear();
  }

  // The loop with the fewest exchanges in hand, the first of equals: one request at a time
  // keeps to one loop (and its warm connection), a load spreads evenly.
  void start(std::unique_ptr<Transfer> transfer) {
    EventLoop* chosen = loops.front().get();
    std::int64_t fewest = chosen->in_hand.load(std::memory_order_relaxed);
    for (std::size_t i = 1; i < loops.size() && fewest > 0; ++i) {
      const std::int64_t n = loops[i]->in_hand.load(std::memory_order_relaxed);
      if (n < fewest) {
        fewest = n;
        chosen = loops[i].get();
      }
    }
    chosen->start(std::move(transfer));
  }

  void cancel(bool all, const void* owner) {
    // From any loop's thread nothing waits: a loop waiting on another could wait on one that is
    // waiting on it. The cancellations are queued and done before each loop next sleeps.
    const bool from_a_loop = std::any_of(loops.begin(), loops.end(),
                                         [](const auto& loop) { return loop->on_io_thread(); });
    std::vector<std::uint64_t> tickets;
    tickets.reserve(loops.size());
    for (auto& loop : loops) tickets.push_back(loop->request_cancel(all, owner));
    if (from_a_loop) return;
    for (std::size_t i = 0; i < loops.size(); ++i) {
      if (tickets[i] != 0) loops[i]->await_cancel(tickets[i]);
    }
  }
};

HttpTransport::HttpTransport(HttpTransportOptions options)
    : impl_(std::make_unique<Impl>(options)) {}

HttpTransport::~HttpTransport() = default;

void HttpTransport::start(HttpRequest request, std::shared_ptr<HttpExchange> exchange) {
  impl_->start(std::make_unique<Transfer>(std::move(request), std::move(exchange)));
}

void HttpTransport::cancel_all() { impl_->cancel(true, nullptr); }

void HttpTransport::cancel(const void* owner) { impl_->cancel(false, owner); }

}  // namespace medsafe
