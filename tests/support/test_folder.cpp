#include "support/test_folder.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <system_error>

namespace medsafe::testing {

namespace fs = std::filesystem;

ScratchDir::ScratchDir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string suite = info != nullptr ? info->test_suite_name() : "none";
  const std::string test = info != nullptr ? info->name() : "none";
  path_ = fs::temp_directory_path() /
          ("medsafe_" + suite + "_" + test + "_" + std::to_string(::getpid()));
  fs::remove_all(path_);
  fs::create_directories(path_);
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;
  if (!::testing::Test::HasFailure()) fs::remove_all(path_, ignored);
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_file(const fs::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::optional<fs::path> medsafetybench_dir() {
  const fs::path dir = fs::path(MEDSAFE_SHARED_DATA) / "medsafetybench";
  if (!fs::is_directory(dir / "test")) return std::nullopt;
  return fs::absolute(dir);
}

std::string toml_string(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

}  // namespace medsafe::testing
