// One writer per run directory: a second lock says who holds the first; a lock file left by a
// process that ended never blocks.
#include "engine/run/run_lock.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <optional>

#include "medsafe/error.hpp"
#include "support/temp_dir.hpp"

namespace medsafe {
namespace {

using testing::TempDir;

TEST(RunLock, ASecondLockSaysWhoHoldsTheFirst) {
  TempDir dir;
  const auto run_dir = dir.path() / "runs" / "x";
  std::optional<RunLock> first;
  first.emplace(run_dir, "medsafe run 'a b.toml'");
  try {
    const RunLock second(run_dir, "medsafe run other.toml");
    FAIL() << "two locks on one run directory";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::io);
    const std::string message = e.what();
    EXPECT_NE(message.find("run directory " + run_dir.string() + " is in use by medsafe pid " +
                           std::to_string(::getpid()) + " on host "),
              std::string::npos)
        << message;
    EXPECT_NE(message.find(" since 20"), std::string::npos) << message;
    EXPECT_NE(message.find("(command medsafe run 'a b.toml')"), std::string::npos) << message;
  }
  first.reset();
  EXPECT_NO_THROW(RunLock(run_dir, "medsafe run other.toml"));
}

TEST(RunLock, AStaleLockFileDoesNotBlock) {
  TempDir dir;
  // What a killed run leaves: the file with its text, but no process holding the lock.
  // The name built as a path, not a std::string: GCC 12 -O2 misreads the string concatenation
  // passed on as a path as an over-read (-Wstringop-overread).
  dir.write(std::filesystem::path("runs") / RunLock::kFileName,
            "pid=999999\nhost=gone\nsince=2020-01-01T00:00:00Z\ncommand=medsafe run x\n");
  EXPECT_NO_THROW(RunLock(dir.path() / "runs", "medsafe run y"));
}

}  // namespace
}  // namespace medsafe
