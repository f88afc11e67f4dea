#pragma once
/// A child process with its stdin, stdout and stderr connected to pipes: started with
/// posix_spawn (no shell), in its own process group, stopped and reaped on destruction.
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace medsafe::exec {

/// How to start a program.
struct SpawnSpec {
  std::vector<std::string> argv;  ///< argv[0] is searched in PATH when it has no '/'
  std::vector<std::pair<std::string, std::string>> env;  ///< set on top of medsafe's environment
  std::filesystem::path cwd;                             ///< empty: medsafe's working folder
};

/// The program's path as posix_spawnp would find it, or an empty path when there is none that
/// can be executed (for early, readable configuration errors).
[[nodiscard]] std::filesystem::path find_program(const std::string& program,
                                                 const std::filesystem::path& cwd);

/// "exited with status 3", "was killed by signal 11 (Segmentation fault)".
[[nodiscard]] std::string describe_wait_status(int status);

/// A running program. The parent's ends of the pipes are non-blocking and close-on-exec.
class ChildProcess {
 public:
  /// Starts the program; throws std::runtime_error naming it and the reason when it cannot.
  explicit ChildProcess(const SpawnSpec& spec);
  /// Stops the program if it still runs: see stop().
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  [[nodiscard]] int stdin_fd() const noexcept { return stdin_; }
  [[nodiscard]] int stdout_fd() const noexcept { return stdout_; }
  [[nodiscard]] int stderr_fd() const noexcept { return stderr_; }

  /// Closes the program's stdin (end of input: the protocol's request to exit).
  void close_stdin() noexcept;
  /// Closes the parent's ends of stdout and stderr.
  void close_outputs() noexcept;

  /// Reaps the program if it has exited: its wait status, or nothing while it runs.
  [[nodiscard]] std::optional<int> try_wait() noexcept;
  /// Waits up to `grace` for the program to exit by itself (after closing its stdin), then sends
  /// SIGTERM to its process group, waits up to `grace` again, then SIGKILL; reaps it. Returns the
  /// wait status. Idempotent.
  int stop(std::chrono::milliseconds grace) noexcept;

 private:
  bool wait_for(std::chrono::milliseconds limit) noexcept;

  pid_t pid_ = -1;
  int stdin_ = -1;
  int stdout_ = -1;
  int stderr_ = -1;
  std::optional<int> status_;
};

}  // namespace medsafe::exec
