#pragma once
/// Programs that tests run as child processes (the `medsafe` binary, Chromium): started without
/// a shell or PATH lookup, their output captured in files of a scratch folder, each in its own
/// process group so that a timeout also ends what they started.
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace medsafe::testing {

/// Environment variables given to a child on top of the test's own (replacing same names).
using Environment = std::vector<std::pair<std::string, std::string>>;

/// How a child process ended.
struct ChildResult {
  int exit_code = -1;  ///< -1 when it did not exit normally
  int signal = 0;      ///< the signal that ended it, or 0
  bool timed_out = false;
  /// Its peak resident memory in KiB (getrusage's ru_maxrss, from wait4); -1 when unknown (it
  /// was killed at the timeout).
  long peak_rss_kib = -1;
  std::string out;  ///< its standard output
  std::string err;  ///< its standard error
};

/// A running child. argv[0] is an absolute path. Throws std::runtime_error when it cannot be
/// started. The destructor kills its group (SIGKILL) if it still runs.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const Environment& env,
        const std::filesystem::path& scratch);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  /// Sends `signal` to the process.
  void signal(int signal) const;
  /// True while it has not ended.
  [[nodiscard]] bool running();
  /// Waits for its end; kills its group after `timeout`.
  ChildResult wait(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  long peak_rss_kib_ = -1;
  std::filesystem::path out_file_;
  std::filesystem::path err_file_;
};

/// Runs `argv` to its end (at most `timeout`). A child that cannot be started gives a result
/// with exit code -1 and the reason in `err`.
ChildResult run_child(const std::vector<std::string>& argv, const Environment& env,
                      const std::filesystem::path& scratch, std::chrono::milliseconds timeout);

}  // namespace medsafe::testing
