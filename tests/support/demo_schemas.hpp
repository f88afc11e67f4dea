#pragma once
/// Checks demonstration files against docs/demos/*.schema.json (core and end-to-end tests).
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/json_schema_checker.hpp"

namespace medsafe::testing {

/// Every way `text`, a file of `format` ("openai", "alpaca" or "sharegpt"), breaks its schema in
/// `docs` (the docs folder): the OpenAI format is checked line by line ("line N: ..."), the
/// others as one JSON array. Text that is not JSON is one error.
inline std::vector<std::string> demo_schema_errors(std::string_view format, const std::string& text,
                                                   const std::filesystem::path& docs) {
  const std::string name = format == "openai"   ? "openai-chat.schema.json"
                           : format == "alpaca" ? "alpaca.schema.json"
                                                : "sharegpt.schema.json";
  std::ifstream in(docs / "demos" / name);
  std::stringstream schema_text;
  schema_text << in.rdbuf();
  SchemaChecker checker(nlohmann::json::parse(schema_text.str()));
  std::vector<std::string> errors;
  auto check = [&](std::string_view document, const std::string& where) {
    const nlohmann::json value = nlohmann::json::parse(document, nullptr, false);
    if (value.is_discarded()) {
      errors.push_back(where + "not JSON");
      return;
    }
    for (const std::string& e : checker.check(value, checker.root())) errors.push_back(where + e);
  };
  if (format != "openai") {
    check(text, "");
    return errors;
  }
  std::size_t line = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    ++line;
    check(std::string_view(text).substr(pos, end - pos), "line " + std::to_string(line) + ": ");
    pos = end + 1;
  }
  return errors;
}

}  // namespace medsafe::testing
