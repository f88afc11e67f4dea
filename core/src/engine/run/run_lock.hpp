#pragma once
/// The exclusive lock of a run directory: one writer (`medsafe run`, `medsafe judge`) at a time,
/// so two invocations never ask the same answers twice or interleave their rows.
#include <filesystem>
#include <string>

namespace medsafe {

/// flock(2) on `<dir>/medsafe.lock`, held while the object lives. The kernel releases it when
/// the process ends, however it ends, so a lock file left by a killed process never blocks: its
/// text (pid, host, start time, command) only says who holds the lock while it is held.
class RunLock {
 public:
  /// The lock file's name in a run directory.
  static constexpr const char* kFileName = "medsafe.lock";

  /// Takes the lock of `dir` (creating the folder and the file), for `command` (shell-quoted).
  /// Throws an io Error when another process holds it: "run directory DIR is in use by medsafe
  /// pid N on host H since T (command ...)".
  RunLock(const std::filesystem::path& dir, const std::string& command);
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace medsafe
