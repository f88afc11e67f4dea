#include "medsafe/error.hpp"

#include <string>

namespace medsafe {

std::string SourceLocation::str() const {
  std::string out = file.empty() ? std::string("<unknown>") : file;
  if (line > 0) {
    out += ':' + std::to_string(line);
    if (column > 0) out += ':' + std::to_string(column);
  }
  return out;
}

Error::Error(ErrorKind kind, const std::string& message)
    : std::runtime_error(message), kind_(kind) {}

Error::~Error() = default;

Error located_error(ErrorKind kind, const SourceLocation& where, std::string_view message) {
  return Error(kind, where.str() + ": error: " + std::string(message));
}

std::string_view to_string(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::usage:
      return "usage";
    case ErrorKind::config:
      return "config";
    case ErrorKind::plugin:
      return "plugin";
    case ErrorKind::data:
      return "data";
    case ErrorKind::io:
      return "io";
    case ErrorKind::store:
      return "store";
    case ErrorKind::internal:
      return "internal";
  }
  return "internal";
}

}  // namespace medsafe
