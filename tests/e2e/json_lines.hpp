#pragma once
/// Reading the JSON-lines files medsafe writes (demonstrations.jsonl, *.openai.jsonl).
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/test_folder.hpp"

namespace medsafe::e2e {

/// Every non-empty line of `file`, parsed (throws on a line that is not JSON).
inline std::vector<nlohmann::json> read_json_lines(const std::filesystem::path& file) {
  std::vector<nlohmann::json> lines;
  const std::string text = testing::read_file(file);
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    if (end > pos) lines.push_back(nlohmann::json::parse(text.substr(pos, end - pos)));
    pos = end + 1;
  }
  return lines;
}

}  // namespace medsafe::e2e
