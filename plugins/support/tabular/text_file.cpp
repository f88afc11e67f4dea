#include "tabular/text_file.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <system_error>

#include "medsafe/error.hpp"

namespace medsafe::tabular {

std::string read_text_file(const std::filesystem::path& file, std::string_view hint) {
  std::error_code ec;
  std::string reason;
  if (!std::filesystem::exists(file, ec)) {
    reason = "no such file";
  } else if (std::filesystem::is_directory(file, ec)) {
    reason = "it is a folder, not a file";
  } else {
    std::ifstream in(file, std::ios::binary);
    if (in) {
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (!in.bad()) return text;
    }
    reason = std::strerror(errno);
  }
  std::string message = "cannot read the file: " + reason;
  if (!hint.empty()) message += "; " + std::string(hint);
  throw located_error(ErrorKind::data, SourceLocation{file.string(), 0, 0}, message);
}

}  // namespace medsafe::tabular
