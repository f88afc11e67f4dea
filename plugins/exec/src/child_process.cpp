#include "child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace medsafe::exec {
namespace {

namespace fs = std::filesystem;

void close_fd(int& fd) noexcept {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

bool is_executable_file(const fs::path& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode) &&
         ::access(path.c_str(), X_OK) == 0;
}

// The environment of the child: medsafe's, with `extra` set on top (later entries win).
std::vector<std::string> child_environment(
    const std::vector<std::pair<std::string, std::string>>& extra) {
  std::map<std::string, std::string> values;
  std::vector<std::string> order;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string text(*entry);
    const std::size_t eq = text.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = text.substr(0, eq);
    if (values.emplace(key, text.substr(eq + 1)).second) order.push_back(key);
  }
  for (const auto& [key, value] : extra) {
    if (values.count(key) == 0) order.push_back(key);
    values[key] = value;
  }
  std::vector<std::string> out;
  out.reserve(order.size());
  for (const std::string& key : order) out.push_back(key + "=" + values[key]);
  return out;
}

// posix_spawn's parts, released whatever happens.
struct SpawnParts {
  posix_spawn_file_actions_t actions{};
  posix_spawnattr_t attributes{};
  SpawnParts() {
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawnattr_init(&attributes);
  }
  ~SpawnParts() {
    ::posix_spawn_file_actions_destroy(&actions);
    ::posix_spawnattr_destroy(&attributes);
  }
  SpawnParts(const SpawnParts&) = delete;
  SpawnParts& operator=(const SpawnParts&) = delete;
};

}  // namespace

fs::path find_program(const std::string& program, const fs::path& cwd) {
  if (program.empty()) return {};
  if (program.find('/') != std::string::npos) {
    fs::path path(program);
    if (path.is_relative() && !cwd.empty()) path = cwd / path;
    return is_executable_file(path) ? path : fs::path();
  }
  const char* env = std::getenv("PATH");
  const std::string search = env != nullptr ? env : "/usr/local/bin:/usr/bin:/bin";
  std::size_t begin = 0;
  while (begin <= search.size()) {
    const std::size_t end = std::min(search.find(':', begin), search.size());
    const fs::path folder = end > begin ? fs::path(search.substr(begin, end - begin)) : ".";
    if (is_executable_file(folder / program)) return folder / program;
    begin = end + 1;
  }
  return {};
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int signal = WTERMSIG(status);
    const char* name = ::strsignal(signal);
    return "was killed by signal " + std::to_string(signal) +
           (name != nullptr ? " (" + std::string(name) + ")" : std::string());
  }
  return "ended with wait status " + std::to_string(status);
}

ChildProcess::ChildProcess(const SpawnSpec& spec) {
  if (spec.argv.empty()) throw std::runtime_error("no program to run");
  int in[2] = {-1, -1};
  int out[2] = {-1, -1};
  int err[2] = {-1, -1};
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    const int error = errno;
    for (int* fds : {in, out, err}) close_fd(fds[0]), close_fd(fds[1]);
    throw std::runtime_error(std::string("cannot make pipes: ") + std::strerror(error));
  }

  SpawnParts parts;
  ::posix_spawn_file_actions_adddup2(&parts.actions, in[0], STDIN_FILENO);
  ::posix_spawn_file_actions_adddup2(&parts.actions, out[1], STDOUT_FILENO);
  ::posix_spawn_file_actions_adddup2(&parts.actions, err[1], STDERR_FILENO);
  if (!spec.cwd.empty()) ::posix_spawn_file_actions_addchdir_np(&parts.actions, spec.cwd.c_str());
  // Its own process group: a Ctrl-C at the terminal reaches medsafe, which ends the program in
  // order, and stop() can signal the program together with anything it started.
  short flags = POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  ::posix_spawnattr_setflags(&parts.attributes, flags);
  ::posix_spawnattr_setpgroup(&parts.attributes, 0);
  sigset_t none;
  sigemptyset(&none);
  ::posix_spawnattr_setsigmask(&parts.attributes, &none);  // the I/O thread blocks SIGPIPE
  sigset_t defaults;
  sigemptyset(&defaults);
  for (const int s : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&defaults, s);
  ::posix_spawnattr_setsigdefault(&parts.attributes, &defaults);

  std::vector<char*> argv;
  for (const std::string& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> environment = child_environment(spec.env);
  std::vector<char*> envp;
  for (std::string& e : environment) envp.push_back(e.data());
  envp.push_back(nullptr);

  const int rc =
      ::posix_spawnp(&pid_, argv[0], &parts.actions, &parts.attributes, argv.data(), envp.data());
  close_fd(in[0]);
  close_fd(out[1]);
  close_fd(err[1]);
  if (rc != 0) {
    close_fd(in[1]);
    close_fd(out[0]);
    close_fd(err[0]);
    pid_ = -1;
    throw std::runtime_error("cannot run '" + spec.argv[0] + "': " + std::strerror(rc));
  }
  stdin_ = in[1];
  stdout_ = out[0];
  stderr_ = err[0];
  for (const int fd : {stdin_, stdout_, stderr_}) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
}

ChildProcess::~ChildProcess() {
  (void)stop(std::chrono::milliseconds(500));
  close_outputs();
}

void ChildProcess::close_stdin() noexcept { close_fd(stdin_); }

void ChildProcess::close_outputs() noexcept {
  close_fd(stdout_);
  close_fd(stderr_);
}

std::optional<int> ChildProcess::try_wait() noexcept {
  if (status_ || pid_ < 0) return status_;
  int status = 0;
  const pid_t done = ::waitpid(pid_, &status, WNOHANG);
  if (done == pid_) status_ = status;
  if (done < 0 && errno == ECHILD) status_ = 0;  // reaped elsewhere (SIGCHLD ignored)
  return status_;
}

bool ChildProcess::wait_for(std::chrono::milliseconds limit) noexcept {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!try_wait()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

int ChildProcess::stop(std::chrono::milliseconds grace) noexcept {
  if (pid_ < 0) return 0;
  close_stdin();
  if (!wait_for(grace)) {
    ::kill(-pid_, SIGTERM);
    if (!wait_for(grace)) {
      ::kill(-pid_, SIGKILL);
      int status = 0;
      pid_t done = -1;
      do {
        done = ::waitpid(pid_, &status, 0);
      } while (done < 0 && errno == EINTR);
      status_ = done == pid_ ? status : 0;
    }
  }
  return *status_;
}

}  // namespace medsafe::exec
