#include "engine/report_io.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <system_error>

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

void write_file_atomically(const std::filesystem::path& path, std::string_view content) {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(tmp, "create", errno);
  // fsync before rename: otherwise a crash can leave the new name pointing at empty data.
  const bool ok = write_all(fd, content) && ::fsync(fd) == 0;
  const int write_errno = errno;
  if (::close(fd) != 0 || !ok) {
    const int err = ok ? errno : write_errno;
    ::unlink(tmp.c_str());
    fail(tmp, "write", err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail(path, "replace", err);
  }
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
