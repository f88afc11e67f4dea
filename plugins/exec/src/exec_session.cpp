#include "exec_session.hpp"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "medsafe/json_text.hpp"

namespace medsafe::exec {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kReadChunk = 64 * 1024;
// The longest reply line read whole when no request bounds its answer; beyond, only its
// beginning is read.
constexpr std::size_t kMaxLine = 64 * 1024 * 1024;
constexpr std::size_t kStderrTail = 8;  // lines quoted when the program fails
constexpr std::size_t kQuoted = 200;    // bytes of a line quoted in a message

std::chrono::milliseconds milliseconds_key(const Config& config, std::string_view key,
                                           std::int64_t min) {
  const std::int64_t value = config.integer(key);
  if (value < min) {
    throw config.error(key, "must be " + std::to_string(min) + " or more milliseconds");
  }
  return std::chrono::milliseconds(value);
}

// Consumes a SIGPIPE that a failed write left pending on this thread (it is blocked here).
void consume_sigpipe() noexcept {
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  const timespec zero{0, 0};
  while (::sigtimedwait(&pipe_set, nullptr, &zero) > 0) {
  }
}

void strip_cr(std::string_view& line) noexcept {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
}

}  // namespace

SessionOptions session_options(const Config& config, Role role, std::string name) {
  SessionOptions options;
  options.role = role;
  options.name = std::move(name);
  options.spawn.argv = config.strings("command");
  if (options.spawn.argv.empty() || options.spawn.argv[0].empty()) {
    throw config.error("command",
                       "must name the program to run and its arguments, e.g. "
                       "[\"python3\", \"adapter.py\"]");
  }
  options.spawn.cwd = config.path("cwd");
  if (options.spawn.cwd.empty()) options.spawn.cwd = config.base_dir();
  std::error_code ec;
  if (!options.spawn.cwd.empty() && !fs::is_directory(options.spawn.cwd, ec)) {
    throw config.error("cwd", "names '" + options.spawn.cwd.string() + "', which is not a folder");
  }
  if (find_program(options.spawn.argv[0], options.spawn.cwd).empty()) {
    throw config.error("command", "names the program '" + options.spawn.argv[0] +
                                      "', which is not an executable file" +
                                      (options.spawn.argv[0].find('/') == std::string::npos
                                           ? " in any folder of PATH"
                                           : " (relative to " + options.spawn.cwd.string() + ")"));
  }
  if (const toml::table* env = config.table("env")) {
    for (const auto& [key, value] : *env) {
      const std::optional<std::string> text = value.value_exact<std::string>();
      if (!text) {
        throw config.error("env", "holds '" + std::string(key.str()) +
                                      "', which is not a string (write numbers in quotes)");
      }
      options.spawn.env.emplace_back(std::string(key.str()), *text);
    }
  }
  const std::int64_t limit = config.integer("max_in_flight");
  if (limit < 1 || limit > 65536) throw config.error("max_in_flight", "must be from 1 to 65536");
  options.max_in_flight = static_cast<int>(limit);
  options.start_timeout = milliseconds_key(config, "start_timeout_ms", 1);
  options.request_timeout = milliseconds_key(config, "request_timeout_ms", 0);
  options.restart = config.boolean("restart");
  if (const toml::table* extra = config.table("options"))
    options.options_json = toml_to_json(*extra);
  return options;
}

Session::Session(SessionOptions options, Log& log)
    : options_(std::move(options)),
      log_(log),
      source_("exec '" + options_.name + "'"),
      wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      line_bound_(kMaxLine) {
  if (wake_fd_ < 0) {
    throw std::runtime_error(std::string("cannot make an eventfd: ") + std::strerror(errno));
  }
  io_ = std::thread([this] { loop(); });
}

Session::~Session() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake();
  io_.join();
  // Only this thread is left: no lock needed.
  std::vector<Completion> out;
  fail_sent(Outcome::cancelled, "the exec session ended before the program answered", out);
  fail_waiting(Outcome::cancelled, "the exec session ended before the request was sent", out);
  for (Completion& c : out) c();
  if (child_) (void)child_->stop(options_.stop_grace);
  for (auto& child : retired_) (void)child->stop(options_.stop_grace);
  ::close(wake_fd_);
}

void Session::submit(std::unique_ptr<Exchange> exchange) {
  std::string dead;
  {
    std::lock_guard lock(mutex_);
    ++stats_.submitted;
    // A backend's requests all carry the model's bound: lines need be no longer than its
    // answers' JSON.
    if (const std::size_t wire = wire_bytes_for(exchange->max_text_bytes()); wire > 0) {
      line_bound_ = std::min(wire, kMaxLine);
    }
    if (dead_.empty() && !stopping_) {
      waiting_.push_back(Pending{std::move(exchange), {}});
    } else {
      dead = dead_.empty() ? "the exec session is ending" : dead_;
    }
  }
  if (exchange) {
    exchange->fail(Outcome::backend_error, dead, Clock::now());
    return;
  }
  wake();
}

void Session::cancel_all() {
  std::vector<Completion> out;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, pending] : sent_) queue_line(encode_cancel(id));
    fail_sent(Outcome::cancelled, "cancelled", out);
    fail_waiting(Outcome::cancelled, "cancelled before it was sent", out);
  }
  wake();
  for (Completion& c : out) c();
}

SessionStats Session::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void Session::wake() const noexcept {
  const std::uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
}

int Session::limit() const noexcept {
  return program_limit_ ? std::min(options_.max_in_flight, *program_limit_)
                        : options_.max_in_flight;
}

std::string Session::last_stderr() const {
  if (stderr_tail_.empty()) return "(it wrote nothing to stderr)";
  std::string text = "its last stderr lines:";
  for (const std::string& line : stderr_tail_) text += "\n  " + line;
  return text;
}

void Session::queue_line(const std::string& line) {
  out_ += line;
  out_ += '\n';
}

void Session::loop() {
  // A write to a program that has exited must return EPIPE, not end medsafe with SIGPIPE.
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);

  std::unique_lock lock(mutex_);
  while (!stopping_) {
    std::vector<Completion> out;
    if (!child_ && dead_.empty() && !waiting_.empty()) start_program(out);
    if (child_ && ready_) send_waiting();
    if (child_ && !out_.empty()) write_stdin();
    check_deadlines(Clock::now(), out);
    if (!out.empty() || !retired_.empty()) {
      // Callbacks and stopping programs run without the lock: they may take a while, and a
      // callback may submit again.
      std::vector<std::unique_ptr<ChildProcess>> retired = std::move(retired_);
      retired_.clear();
      lock.unlock();
      for (auto& child : retired) (void)child->stop(options_.stop_grace);
      for (Completion& c : out) c();
      lock.lock();
      continue;
    }

    pollfd fds[4];
    nfds_t count = 0;
    fds[count++] = pollfd{wake_fd_, POLLIN, 0};
    int in_at = -1;
    int err_at = -1;
    int out_at = -1;
    if (child_) {
      if (stdout_open_)
        in_at = static_cast<int>(count), fds[count++] = {child_->stdout_fd(), POLLIN, 0};
      if (stderr_open_)
        err_at = static_cast<int>(count), fds[count++] = {child_->stderr_fd(), POLLIN, 0};
      if (!out_.empty() && child_->stdin_fd() >= 0) {
        out_at = static_cast<int>(count), fds[count++] = {child_->stdin_fd(), POLLOUT, 0};
      }
    }
    TimePoint next{};
    if (child_ && !ready_) next = start_deadline_;
    for (const auto& [id, pending] : sent_) {
      if (pending.deadline != TimePoint{} && (next == TimePoint{} || pending.deadline < next)) {
        next = pending.deadline;
      }
    }
    int timeout = -1;
    if (next != TimePoint{}) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(next - Clock::now()).count();
      timeout = static_cast<int>(std::clamp<std::int64_t>(left, 0, 60'000));
    }

    lock.unlock();
    const int ready = ::poll(fds, count, timeout);
    lock.lock();
    if (ready < 0) continue;  // EINTR
    if (fds[0].revents != 0) {
      std::uint64_t drained = 0;
      (void)!::read(wake_fd_, &drained, sizeof drained);
    }
    if (stopping_) break;
    if (err_at >= 0 && fds[err_at].revents != 0) read_stderr(child_->stderr_fd());
    if (out_at >= 0 && fds[out_at].revents != 0) write_stdin();
    if (in_at >= 0 && fds[in_at].revents != 0) {
      read_stdout(out);
      if (child_ && !stdout_open_) handle_exit(lock, out);
    }
    if (!out.empty()) {
      lock.unlock();
      for (Completion& c : out) c();
      lock.lock();
    }
  }
}

void Session::start_program(std::vector<Completion>& out) {
  try {
    child_ = std::make_unique<ChildProcess>(options_.spawn);
  } catch (const std::exception& e) {
    give_up(std::string(e.what()), out);
    return;
  }
  ++stats_.started;
  ready_ = false;
  program_limit_.reset();
  stdout_open_ = true;
  stderr_open_ = true;
  in_.clear();
  skipping_line_ = false;
  cut_line_.clear();
  err_.clear();
  out_.clear();
  stderr_tail_.clear();
  start_deadline_ = Clock::now() + options_.start_timeout;
  queue_line(
      encode_hello(options_.role, options_.name, options_.max_in_flight, options_.options_json));
  if (stats_.started > 1) {
    log_.warn(source_, "restarted the program (start " + std::to_string(stats_.started) + ")");
  }
}

void Session::send_waiting() {
  const auto cap = static_cast<std::size_t>(limit());
  while (!waiting_.empty() && sent_.size() < cap) {
    Pending pending = std::move(waiting_.front());
    waiting_.pop_front();
    const std::string id = std::to_string(next_id_++);
    queue_line(pending.exchange->encode(id));
    const TimePoint now = Clock::now();
    pending.exchange->sent(now);
    if (options_.request_timeout.count() > 0) pending.deadline = now + options_.request_timeout;
    sent_.emplace(id, std::move(pending));
    stats_.max_in_flight = std::max<std::uint64_t>(stats_.max_in_flight, sent_.size());
  }
}

void Session::write_stdin() {
  while (!out_.empty() && child_ && child_->stdin_fd() >= 0) {
    const ssize_t n = ::write(child_->stdin_fd(), out_.data(), out_.size());
    if (n > 0) {
      out_.erase(0, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    // EPIPE: the program closed its stdin or exited; its stdout's end tells the rest.
    consume_sigpipe();
    out_.clear();
    child_->close_stdin();
    return;
  }
}

void Session::read_stdout(std::vector<Completion>& out) {
  char buffer[kReadChunk];
  while (stdout_open_) {
    const ssize_t n = ::read(child_->stdout_fd(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      stdout_open_ = false;  // end of file (or an error, which ends the stream as well)
      return;
    }
    // Every line that ends in this read arrived now: one stamp for all of them.
    const TimePoint now = Clock::now();
    std::string_view chunk(buffer, static_cast<std::size_t>(n));
    if (skipping_line_) {
      // The rest of a line past the bound is not kept, up to its newline.
      const std::size_t end = chunk.find('\n');
      if (end == std::string_view::npos) continue;
      skipping_line_ = false;
      const std::string head = std::move(cut_line_);
      cut_line_ = std::string();
      handle_cut_line(head, now, out);
      if (!child_) return;
      chunk.remove_prefix(end + 1);
    }
    in_.append(chunk);
    std::size_t begin = 0;
    for (std::size_t end; (end = in_.find('\n', begin)) != std::string::npos; begin = end + 1) {
      std::string_view line(in_.data() + begin, end - begin);
      strip_cr(line);
      if (line.size() > line_bound_) {
        handle_cut_line(line.substr(0, line_bound_), now, out);
      } else {
        handle_line(line, now, out);
      }
      if (!child_) return;  // the line ended the program (a protocol error)
    }
    in_.erase(0, begin);
    if (in_.size() > line_bound_) {
      // A runaway line: its beginning is kept, the rest skipped as it comes, so memory stays
      // within the bound however long the line is.
      cut_line_ = in_.substr(0, line_bound_);
      in_ = std::string();
      skipping_line_ = true;
    }
  }
}

void Session::handle_cut_line(std::string_view head, TimePoint at, std::vector<Completion>& out) {
  ++stats_.cut_lines;
  const std::string bound = std::to_string(line_bound_);
  const JsonStrings id = json_strings_at(head, {"id"}, 256);
  const JsonStrings type = json_strings_at(head, {"type"}, 32);
  const auto found = id.found > 0 && id.complete ? sent_.find(id.text) : sent_.end();
  if (found == sent_.end()) {
    // Nobody can tell whose line it was (its id comes late, or names nobody waiting).
    ++stats_.malformed_lines;
    if (!sent_.empty()) {
      fail_sent(Outcome::malformed,
                "the program wrote a line longer than " + bound +
                    " bytes whose id could not be read from its beginning: '" +
                    shorten(head, kQuoted) + "'",
                out);
    }
    return;
  }
  const bool answer_like = options_.role == Role::backend && type.complete &&
                           (type.text == "answer" || type.text == "delta");
  if (!answer_like) {
    ++stats_.malformed_lines;
    fail_one(found, Outcome::malformed,
             "the program's reply line is longer than " + bound +
                 " bytes and cannot be read whole: '" + shorten(head, kQuoted) + "'",
             at, out);
    return;
  }
  // The answer's text so far ends the request, cut; the program need not go on with it.
  Reply reply;
  reply.type = ReplyType::answer;
  reply.id = id.text;
  reply.truncated = true;
  std::string text = json_strings_at(head, {"text"}, head.size()).text;
  if (type.text == "delta") {
    found->second.exchange->delta(text, at);
  } else {
    reply.text = std::move(text);
  }
  queue_line(encode_cancel(id.text));
  std::shared_ptr<Exchange> exchange = std::move(found->second.exchange);
  sent_.erase(found);
  out.push_back([exchange, reply = std::move(reply), at]() mutable {
    exchange->finish(std::move(reply), at);
  });
}

void Session::read_stderr(int fd) {
  char buffer[kReadChunk];
  while (stderr_open_) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      stderr_open_ = false;
      if (!err_.empty()) log_stderr_line(err_);
      err_.clear();
      return;
    }
    err_.append(buffer, static_cast<std::size_t>(n));
    std::size_t begin = 0;
    for (std::size_t end; (end = err_.find('\n', begin)) != std::string::npos; begin = end + 1) {
      std::string_view line(err_.data() + begin, end - begin);
      strip_cr(line);
      log_stderr_line(line);
    }
    err_.erase(0, begin);
    if (err_.size() > kMaxLine) err_.clear();  // a runaway line is not worth the memory
  }
}

void Session::log_stderr_line(std::string_view line) {
  if (line.empty()) return;
  log_.info(source_, "stderr: " + shorten(line, 2000));
  stderr_tail_.push_back(shorten(line, kQuoted));
  if (stderr_tail_.size() > kStderrTail) stderr_tail_.pop_front();
}

void Session::handle_line(std::string_view line, TimePoint at, std::vector<Completion>& out) {
  if (line.find_first_not_of(" \t") == std::string_view::npos) return;  // blank lines are fine
  Decoded decoded = decode_reply(line);
  if (!ready_) {
    if (decoded.reply && decoded.reply->type == ReplyType::hello) {
      if (decoded.reply->protocol != kProtocolVersion) {
        give_up_program("the program speaks exec protocol " +
                            std::to_string(decoded.reply->protocol) + "; this medsafe speaks " +
                            std::to_string(kProtocolVersion),
                        Outcome::backend_error, out, /*permanent=*/true);
        return;
      }
      ready_ = true;
      program_limit_ = decoded.reply->max_in_flight;
      log_.debug(source_, "the program '" + decoded.reply->name + "' is ready (pid " +
                              std::to_string(child_->pid()) + ")");
      return;
    }
    ++stats_.malformed_lines;
    give_up_program("the program's first line is not a hello" +
                        (decoded.problem.empty() ? std::string() : " (" + decoded.problem + ")") +
                        ": '" + shorten(line, kQuoted) + "'",
                    Outcome::backend_error, out, /*permanent=*/true);
    return;
  }
  if (!decoded.reply) {
    ++stats_.malformed_lines;
    const auto found = decoded.id.empty() ? sent_.end() : sent_.find(decoded.id);
    if (found != sent_.end()) {
      fail_one(found, Outcome::malformed,
               "the program's reply is malformed (" + decoded.problem + "): '" +
                   shorten(line, kQuoted) + "'",
               at, out);
    } else if (!sent_.empty()) {
      // Nobody can tell whose line it was: stdout belongs to the protocol alone.
      fail_sent(Outcome::malformed,
                "the program wrote a line that is not a protocol reply (" + decoded.problem +
                    "): '" + shorten(line, kQuoted) + "'",
                out);
    } else {
      log_.warn(source_, "ignored a line that is not a protocol reply (" + decoded.problem +
                             "): '" + shorten(line, kQuoted) + "'");
    }
    return;
  }
  Reply& reply = *decoded.reply;
  if (reply.type == ReplyType::hello) return;  // a second hello says nothing new
  const auto found = sent_.find(reply.id);
  if (found == sent_.end()) {
    log_.debug(source_, "ignored a reply for id '" + shorten(reply.id, 40) +
                            "', which is not waiting (timed out or cancelled)");
    return;
  }
  const bool backend = options_.role == Role::backend;
  const bool allowed = reply.type == ReplyType::error ||
                       (backend ? reply.type == ReplyType::delta || reply.type == ReplyType::answer
                                : reply.type == ReplyType::verdict);
  if (!allowed) {
    ++stats_.malformed_lines;
    fail_one(found, Outcome::malformed,
             "the program answered a " + std::string(backend ? "request" : "judge") +
                 " line with a line of another type: '" + shorten(line, kQuoted) + "'",
             at, out);
    return;
  }
  if (reply.type == ReplyType::delta) {
    found->second.exchange->delta(reply.text.value_or(""), at);
    return;
  }
  std::shared_ptr<Exchange> exchange = std::move(found->second.exchange);
  sent_.erase(found);
  out.push_back([exchange, reply = std::move(reply), at]() mutable {
    exchange->finish(std::move(reply), at);
  });
}

void Session::handle_exit(std::unique_lock<std::mutex>& lock, std::vector<Completion>& out) {
  std::unique_ptr<ChildProcess> child = std::move(child_);
  const bool was_ready = ready_;
  ready_ = false;
  out_.clear();
  // Reaping may take the stop grace: not while others wait for the lock.
  lock.unlock();
  const int status = child->stop(options_.stop_grace);
  lock.lock();
  if (stderr_open_) read_stderr(child->stderr_fd());  // what it wrote last explains its end
  stderr_open_ = false;
  const std::string message = "the program '" + options_.spawn.argv[0] + "' " +
                              describe_wait_status(status) +
                              (was_ready ? "" : " before saying hello") + "; " + last_stderr();
  if (!sent_.empty()) {
    fail_sent(Outcome::backend_error, message, out);
  } else if (was_ready) {
    log_.warn(source_, message);
  }
  if (!was_ready) {
    give_up("it cannot start: " + message, out);
  } else if (!options_.restart) {
    give_up("the program ended earlier (restart = false): " + message, out);
  }
}

void Session::check_deadlines(TimePoint now, std::vector<Completion>& out) {
  if (child_ && !ready_ && now >= start_deadline_) {
    give_up_program("the program did not say hello within " +
                        std::to_string(options_.start_timeout.count()) +
                        " ms (start_timeout_ms); " + last_stderr(),
                    Outcome::backend_error, out, /*permanent=*/true);
    return;
  }
  for (auto it = sent_.begin(); it != sent_.end();) {
    if (it->second.deadline == TimePoint{} || it->second.deadline > now) {
      ++it;
      continue;
    }
    queue_line(encode_cancel(it->first));
    auto next = std::next(it);
    fail_one(it, Outcome::timeout,
             "the program gave no final reply within " +
                 std::to_string(options_.request_timeout.count()) + " ms (request_timeout_ms)",
             now, out);
    it = next;
  }
}

void Session::fail_one(SentMap::iterator it, Outcome outcome, std::string message, TimePoint at,
                       std::vector<Completion>& out) {
  std::shared_ptr<Exchange> exchange = std::move(it->second.exchange);
  sent_.erase(it);
  out.push_back([exchange, outcome, message = std::move(message), at]() mutable {
    exchange->fail(outcome, std::move(message), at);
  });
}

void Session::fail_sent(Outcome outcome, const std::string& message, std::vector<Completion>& out) {
  const TimePoint now = Clock::now();
  while (!sent_.empty()) fail_one(sent_.begin(), outcome, message, now, out);
}

void Session::fail_waiting(Outcome outcome, const std::string& message,
                           std::vector<Completion>& out) {
  const TimePoint now = Clock::now();
  for (Pending& pending : waiting_) {
    std::shared_ptr<Exchange> exchange = std::move(pending.exchange);
    out.push_back([exchange, outcome, message, now] { exchange->fail(outcome, message, now); });
  }
  waiting_.clear();
}

void Session::give_up(const std::string& message, std::vector<Completion>& out) {
  dead_ = message;
  log_.error(source_, message);
  fail_sent(Outcome::backend_error, message, out);
  fail_waiting(Outcome::backend_error, message, out);
}

void Session::give_up_program(const std::string& message, Outcome outcome,
                              std::vector<Completion>& out, bool permanent) {
  fail_sent(outcome, message, out);
  if (child_) retired_.push_back(std::move(child_));
  ready_ = false;
  stdout_open_ = false;
  stderr_open_ = false;
  out_.clear();
  if (permanent || !options_.restart) {
    give_up(message, out);
  } else {
    log_.warn(source_, message + "; restarting the program");
  }
}

}  // namespace medsafe::exec
