#include "support/child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "support/test_folder.hpp"

extern char** environ;

namespace medsafe::testing {
namespace {

std::vector<std::string> environment_with(const Environment& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    const std::string name = entry.substr(0, entry.find('='));
    const bool replaced =
        std::any_of(extra.begin(), extra.end(), [&](const auto& kv) { return kv.first == name; });
    if (!replaced) env.push_back(entry);
  }
  for (const auto& [name, value] : extra) env.push_back(name + "=" + value);
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

Child::Child(const std::vector<std::string>& argv, const Environment& env,
             const std::filesystem::path& scratch) {
  static int serial = 0;
  const std::string stem = "child-" + std::to_string(++serial);
  out_file_ = scratch / (stem + ".out");
  err_file_ = scratch / (stem + ".err");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_file_.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_file_.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  // Its own group (a timeout also ends its helpers, Chromium's), no signal blocked.
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
  posix_spawnattr_setpgroup(&attributes, 0);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attributes, &none);
  std::vector<std::string> args = argv;
  std::vector<std::string> envs = environment_with(env);
  auto arg_pointers = pointers(args);
  auto env_pointers = pointers(envs);
  const int spawned = posix_spawn(&pid_, args.front().c_str(), &actions, &attributes,
                                  arg_pointers.data(), env_pointers.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (spawned != 0) {
    pid_ = -1;
    throw std::runtime_error("cannot start " + args.front() + ": " + std::strerror(spawned));
  }
}

Child::~Child() {
  if (pid_ > 0 && !reaped_) {
    ::kill(-pid_, SIGKILL);
    ::waitpid(pid_, &status_, 0);
  }
}

void Child::signal(int signal) const { ::kill(pid_, signal); }

bool Child::running() {
  if (reaped_) return false;
  // wait4, not waitpid: the child's own resource usage comes with it (its peak memory).
  rusage usage{};
  const pid_t done = ::wait4(pid_, &status_, WNOHANG, &usage);
  if (done == pid_) {
    reaped_ = true;
    peak_rss_kib_ = usage.ru_maxrss;
  }
  return !reaped_;
}

ChildResult Child::wait(std::chrono::milliseconds timeout) {
  ChildResult result;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() > deadline) {
      result.timed_out = true;
      ::kill(-pid_, SIGKILL);
      ::waitpid(pid_, &status_, 0);
      reaped_ = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (WIFEXITED(status_)) result.exit_code = WEXITSTATUS(status_);
  if (WIFSIGNALED(status_)) result.signal = WTERMSIG(status_);
  result.peak_rss_kib = peak_rss_kib_;
  result.out = read_file(out_file_);
  result.err = read_file(err_file_);
  return result;
}

ChildResult run_child(const std::vector<std::string>& argv, const Environment& env,
                      const std::filesystem::path& scratch, std::chrono::milliseconds timeout) {
  try {
    Child child(argv, env, scratch);
    return child.wait(timeout);
  } catch (const std::runtime_error& error) {
    ChildResult result;
    result.err = error.what();
    return result;
  }
}

}  // namespace medsafe::testing
