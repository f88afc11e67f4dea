#include "engine/run/run_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <sstream>

#include "engine/store/store.hpp"
#include "medsafe/error.hpp"

namespace medsafe {
namespace {

namespace fs = std::filesystem;

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "?";
  return name;
}

// The holder's "key=value" lines; what is missing reads as "?" (a holder may be between
// taking the lock and writing them).
std::map<std::string, std::string> read_holder(int fd) {
  std::string text;
  char buffer[4096];
  ssize_t n = 0;
  off_t offset = 0;
  while ((n = ::pread(fd, buffer, sizeof buffer, offset)) > 0) {
    text.append(buffer, static_cast<std::size_t>(n));
    offset += n;
  }
  std::map<std::string, std::string> fields;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const std::size_t eq = line.find('=');
    if (eq != std::string::npos) fields[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return fields;
}

std::string field(const std::map<std::string, std::string>& fields, const std::string& key) {
  const auto found = fields.find(key);
  return found == fields.end() || found->second.empty() ? "?" : found->second;
}

}  // namespace

RunLock::RunLock(const fs::path& dir, const std::string& command) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    throw Error(ErrorKind::io,
                dir.string() + ": error: cannot create the run directory: " + ec.message());
  }
  const fs::path file = dir / kFileName;
  // CLOEXEC: a child process (an exec plugin's program) must not inherit, and so outlive us
  // holding, the lock.
  fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw Error(ErrorKind::io,
                file.string() + ": error: cannot open the lock file: " + std::strerror(errno));
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    const auto holder = read_holder(fd_);
    ::close(fd_);
    fd_ = -1;
    if (error == EWOULDBLOCK) {
      throw Error(ErrorKind::io, "run directory " + dir.string() + " is in use by medsafe pid " +
                                     field(holder, "pid") + " on host " + field(holder, "host") +
                                     " since " + field(holder, "since") + " (command " +
                                     field(holder, "command") +
                                     "); wait for it to end, or use another --out directory");
    }
    throw Error(ErrorKind::io,
                file.string() + ": error: cannot lock the run directory: " + std::strerror(error));
  }
  std::string one_line = command;
  std::replace(one_line.begin(), one_line.end(), '\n', ' ');
  // One write after truncating, so a reader sees the old text, nothing, or the new text.
  const std::string text = "pid=" + std::to_string(::getpid()) + "\nhost=" + host_name() +
                           "\nsince=" + utc_now() + "\ncommand=" + one_line + "\n";
  const bool written = ::ftruncate(fd_, 0) == 0 && ::pwrite(fd_, text.data(), text.size(), 0) ==
                                                       static_cast<ssize_t>(text.size());
  (void)written;  // the lock is held all the same; only the description of its holder is lost
}

RunLock::~RunLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

}  // namespace medsafe
