#pragma once
/// One program speaking the exec protocol: started on first use, fed requests with ids, read by
/// one I/O thread, restarted after a crash when allowed. Shared by the exec backend and judge.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "child_process.hpp"
#include "exec_protocol.hpp"
#include "medsafe/clock.hpp"
#include "medsafe/config.hpp"
#include "medsafe/log.hpp"

namespace medsafe::exec {

/// How a session runs its program.
struct SessionOptions {
  Role role = Role::backend;
  std::string name;  ///< the component's name, for the hello and for messages
  SpawnSpec spawn;
  int max_in_flight = 8;
  std::chrono::milliseconds start_timeout{60'000};     ///< spawn to the program's hello
  std::chrono::milliseconds request_timeout{600'000};  ///< sent to final reply; 0: none
  bool restart = true;
  std::string options_json = "{}";              ///< the hello's "options" object
  std::chrono::milliseconds stop_grace{2'000};  ///< per step of stopping the program
};

/// The session's options from a validated exec or exec-judge configuration (keys command, env,
/// cwd, max_in_flight, start_timeout_ms, request_timeout_ms, restart, options). Throws a config
/// Error naming the key for an empty command, a program that cannot be found, a non-string env
/// value or a limit out of range.
[[nodiscard]] SessionOptions session_options(const Config& config, Role role, std::string name);

/// One request or judgement in a session. Callbacks come from the session's I/O thread, except
/// fail(), which may also come from the thread that calls submit() or cancel_all(). After
/// finish() or fail() no other call comes.
class Exchange {
 public:
  virtual ~Exchange() = default;
  /// The line to send (without newline) for session id `id`.
  [[nodiscard]] virtual std::string encode(std::string_view id) const = 0;
  /// The line was handed to the program's stdin.
  virtual void sent(TimePoint at) = 0;
  /// A delta arrived (backends only), at `at` (when its line ended).
  virtual void delta(std::string_view text, TimePoint at) = 0;
  /// The final reply: answer (backend), verdict (judge) or error.
  virtual void finish(Reply&& reply, TimePoint at) = 0;
  /// No reply will come: the program failed, wrote a malformed line, timed out, or the session
  /// was cancelled.
  virtual void fail(Outcome outcome, std::string message, TimePoint at) = 0;
  /// The most answer text this exchange keeps (Request::max_response_bytes; 0: no limit). The
  /// session reads no longer line than that needs (wire_bytes_for).
  [[nodiscard]] virtual std::size_t max_text_bytes() const { return 0; }
};

/// What a session has done, for tests and logs.
struct SessionStats {
  std::uint64_t started = 0;        ///< programs started (1 + restarts)
  std::uint64_t submitted = 0;      ///< exchanges submitted
  std::uint64_t max_in_flight = 0;  ///< the most exchanges sent and unanswered at once
  std::uint64_t malformed_lines = 0;
  std::uint64_t cut_lines = 0;  ///< lines longer than the bound, read only as far as it
};

/// A program and its exchanges. submit() never blocks on the program: lines are written by the
/// I/O thread from a buffer (the pipe may be full). The destructor fails what is left with
/// Outcome::cancelled, closes the program's stdin, and stops and reaps it.
class Session {
 public:
  Session(SessionOptions options, Log& log);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  /// Queues one exchange; it is sent when the program has said hello and fewer than
  /// max_in_flight exchanges wait for replies. Thread-safe.
  void submit(std::unique_ptr<Exchange> exchange);
  /// Fails every exchange, queued or sent, with Outcome::cancelled and tells the program
  /// (cancel lines). Thread-safe.
  void cancel_all();

  [[nodiscard]] SessionStats stats() const;

 private:
  struct Pending {
    std::unique_ptr<Exchange> exchange;
    TimePoint deadline{};  ///< epoch: none
  };
  /// A callback to run after the lock is released.
  using Completion = std::function<void()>;

  using SentMap = std::map<std::string, Pending, std::less<>>;

  void loop();
  void start_program(std::vector<Completion>& out);
  void send_waiting();
  void read_stdout(std::vector<Completion>& out);
  void read_stderr(int fd);
  void log_stderr_line(std::string_view line);
  void write_stdin();
  void handle_line(std::string_view line, TimePoint at, std::vector<Completion>& out);
  /// A line that outgrew line_bound_: `head` is its beginning. An answer or delta whose id can
  /// be read ends its request with the text that arrived, truncated; others fail as malformed.
  void handle_cut_line(std::string_view head, TimePoint at, std::vector<Completion>& out);
  /// The program closed its stdout: reap it (without the lock), fail what it had, and decide
  /// whether it may be started again.
  void handle_exit(std::unique_lock<std::mutex>& lock, std::vector<Completion>& out);
  void check_deadlines(TimePoint now, std::vector<Completion>& out);
  void fail_one(SentMap::iterator it, Outcome outcome, std::string message, TimePoint at,
                std::vector<Completion>& out);
  void fail_sent(Outcome outcome, const std::string& message, std::vector<Completion>& out);
  void fail_waiting(Outcome outcome, const std::string& message, std::vector<Completion>& out);
  /// The program cannot be used again: fails everything now and later with `message`.
  void give_up(const std::string& message, std::vector<Completion>& out);
  /// The running program broke the protocol: fails what it had with `outcome`, retires it, and
  /// gives up unless it may be restarted (and the failure is not `permanent`).
  void give_up_program(const std::string& message, Outcome outcome, std::vector<Completion>& out,
                       bool permanent = false);
  void queue_line(const std::string& line);
  void wake() const noexcept;
  [[nodiscard]] std::string last_stderr() const;
  [[nodiscard]] int limit() const noexcept;

  SessionOptions options_;
  Log& log_;
  std::string source_;  ///< "exec 'name'", for log lines
  int wake_fd_ = -1;    ///< eventfd: submit() and the destructor wake the I/O thread

  mutable std::mutex mutex_;
  bool stopping_ = false;
  std::unique_ptr<ChildProcess> child_;
  bool ready_ = false;  ///< the running program said hello
  bool stdout_open_ = false;
  bool stderr_open_ = false;
  std::vector<std::unique_ptr<ChildProcess>> retired_;  ///< to stop, without the lock
  TimePoint start_deadline_{};                          ///< while waiting for the hello
  std::string dead_;                  ///< set when the program cannot be used again: why
  std::optional<int> program_limit_;  ///< max_in_flight from the program's hello
  std::deque<Pending> waiting_;
  SentMap sent_;
  std::uint64_t next_id_ = 1;
  std::string out_;  ///< bytes for the program's stdin
  std::string in_;   ///< an unfinished stdout line
  /// The longest stdout line read whole; the rest of a longer one is skipped (its beginning
  /// kept in cut_line_ until its newline arrives).
  std::size_t line_bound_;
  bool skipping_line_ = false;
  std::string cut_line_;
  std::string err_;  ///< an unfinished stderr line
  std::deque<std::string> stderr_tail_;
  SessionStats stats_;

  std::thread io_;
};

}  // namespace medsafe::exec
