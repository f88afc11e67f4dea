#include "report/report_io.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <system_error>
#include <utility>

#include "medsafe/error.hpp"

namespace medsafe {
namespace {

[[noreturn]] void fail(const std::filesystem::path& path, std::string_view what, int err) {
  throw Error(ErrorKind::io,
              path.string() + ": error: cannot " + std::string(what) + ": " + std::strerror(err));
}

// Writes all of `content` to the descriptor, retrying short writes and signal interruptions.
bool write_all(int fd, std::string_view content) {
  while (!content.empty()) {
    const ssize_t written = ::write(fd, content.data(), content.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    content.remove_prefix(static_cast<std::size_t>(written));
  }
  return true;
}

}  // namespace

AtomicFileWriter::AtomicFileWriter(std::filesystem::path path)
    : path_(std::move(path)), tmp_(path_) {
  tmp_ += ".tmp";
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) fail(tmp_, "create", errno);
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ < 0) return;
  ::close(fd_);
  ::unlink(tmp_.c_str());
}

void AtomicFileWriter::write(std::string_view content) {
  if (fd_ >= 0 && write_all(fd_, content)) return;
  const int err = errno;
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  ::unlink(tmp_.c_str());
  fail(tmp_, "write", err);
}

void AtomicFileWriter::commit() {
  // fsync before rename: otherwise a crash can leave the new name pointing at empty data.
  const bool ok = ::fsync(fd_) == 0;
  const int sync_errno = errno;
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0 || !ok) {
    const int err = ok ? errno : sync_errno;
    ::unlink(tmp_.c_str());
    fail(tmp_, "write", err);
  }
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp_.c_str());
    fail(path_, "replace", err);
  }
}

void write_file_atomically(const std::filesystem::path& path, std::string_view content) {
  AtomicFileWriter file(path);
  file.write(content);
  file.commit();
}

std::string format_fixed(double value, int decimals) {
  if (!std::isfinite(value)) return {};
  std::array<char, 64> buffer{};
  // to_chars is locale-independent and exact, unlike printf and iostreams.
  const auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value,
                                       std::chars_format::fixed, decimals);
  if (ec != std::errc{}) return {};
  std::string text(buffer.data(), end);
  if (text.front() == '-' && text.find_first_not_of("-0.") == std::string::npos) text.erase(0, 1);
  return text;
}

std::string format_fixed(const std::optional<double>& value, int decimals) {
  return value ? format_fixed(*value, decimals) : std::string();
}

std::string target_text(const ModelInfo& model) {
  if (model.host.empty()) return model.model_id;
  return model.model_id.empty() ? "at " + model.host : model.model_id + " at " + model.host;
}

}  // namespace medsafe
