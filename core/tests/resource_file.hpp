#pragma once
/// The bytes of one of the report library's resource files (core/src/report/resources), as the
/// build embeds them: the tests compare the pages with them.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace medsafe::test_data {

inline std::string resource_file(const char* name) {
  std::ifstream in(std::filesystem::path(MEDSAFE_SOURCE_DIR) / "core/src/report/resources" / name,
                   std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace medsafe::test_data
