#include "medsafe/demos/format.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>

#include <nlohmann/json.hpp>

#include "medsafe/error.hpp"

namespace medsafe {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using nlohmann::ordered_json;  // keys in the order the formats show them

std::string dump_line(const ordered_json& value, int indent = -1) {
  return value.dump(indent, ' ', false, json::error_handler_t::replace);
}

ordered_json openai_entry(const DemoPair& pair) {
  return {{"messages",
           {{{"role", "user"}, {"content", pair.prompt}},
            {{"role", "assistant"}, {"content", pair.answer}}}}};
}

ordered_json alpaca_entry(const DemoPair& pair) {
  return {{"instruction", pair.prompt}, {"input", ""}, {"output", pair.answer}};
}

ordered_json sharegpt_entry(const DemoPair& pair) {
  return {
      {"id", pair.id},
      {"conversations",
       {{{"from", "human"}, {"value", pair.prompt}}, {{"from", "gpt"}, {"value", pair.answer}}}}};
}

bool blank(std::string_view text) { return text.find_first_not_of(" \t\r\n") == text.npos; }

// nlohmann's what() starts with "[json.exception.parse_error.101] ": not for people.
std::string without_code(const json::exception& e) {
  std::string_view text = e.what();
  if (const std::size_t close = text.find("] "); text.starts_with("[") && close != text.npos) {
    text.remove_prefix(close + 2);
  }
  return std::string(text);
}

std::uint32_t line_at(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  return static_cast<std::uint32_t>(
      1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
}

// The line on which each element of the top-level array starts (the text parsed as JSON).
std::vector<std::uint32_t> element_lines(std::string_view text) {
  std::vector<std::uint32_t> lines;
  std::uint32_t line = 1;
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  bool expect_element = false;
  for (const char c : text) {
    if (c == '\n') ++line;
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    if (depth == 1 && expect_element && c != ']') {
      lines.push_back(line);
      expect_element = false;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      ++depth;
      if (depth == 1) expect_element = true;
    } else if (c == ']' || c == '}') {
      --depth;
    } else if (c == ',' && depth == 1) {
      expect_element = true;
    }
  }
  return lines;
}

// Checks one entry of a demonstration file and turns it into a pair; throws naming the key.
class EntryReader {
 public:
  EntryReader(const fs::path& file, std::uint32_t line, std::size_t entry)
      : file_(file.string()), line_(line), entry_(entry) {}

  [[nodiscard]] std::string where() const {
    return file_ + ":" + std::to_string(line_) + " (entry " + std::to_string(entry_) + ")";
  }

  [[noreturn]] void fail(const std::string& message) const {
    throw located_error(ErrorKind::data, SourceLocation{file_, line_, 0},
                        "entry " + std::to_string(entry_) + ": " + message);
  }

  void only_keys(const json& object, const std::vector<std::string_view>& allowed,
                 const std::string& owner) const {
    for (const auto& [key, value] : object.items()) {
      if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
      std::string list;
      for (const std::string_view a : allowed)
        list += (list.empty() ? "'" : ", '") + std::string(a) + "'";
      fail(owner + "has the unknown key '" + key + "'; allowed: " + list);
    }
  }

  const json& member(const json& object, std::string_view key, json::value_t type,
                     const std::string& owner) const {
    const auto found = object.find(key);
    const std::string name = owner + "'" + std::string(key) + "'";
    const char* wanted = type == json::value_t::array ? "an array" : "a string";
    if (found == object.end()) fail(name + " is missing (it must be " + wanted + ")");
    if (found->type() != type) {
      fail(name + " must be " + wanted + ", got " + std::string(found->type_name()));
    }
    return *found;
  }

  // A conversation of turns {role_key, text_key}: an optional system turn, one request, one
  // answer.
  DemoPair conversation(const json& turns, std::string_view list, std::string_view role_key,
                        std::string_view text_key, const std::vector<std::string_view>& turn_keys,
                        std::string_view system, std::string_view user,
                        std::string_view assistant) const {
    std::vector<std::string> roles;
    std::vector<std::string> texts;
    for (std::size_t i = 0; i < turns.size(); ++i) {
      const std::string owner = "'" + std::string(list) + "'[" + std::to_string(i) + "].";
      const json& turn = turns[i];
      if (!turn.is_object()) {
        fail("'" + std::string(list) + "'[" + std::to_string(i) + "] must be an object, got " +
             turn.type_name());
      }
      only_keys(turn, turn_keys, owner);
      const std::string role = member(turn, role_key, json::value_t::string, owner);
      if (role != system && role != user && role != assistant) {
        fail(owner + "'" + std::string(role_key) + "' must be \"" + std::string(system) + "\", \"" +
             std::string(user) + "\" or \"" + std::string(assistant) + "\", got \"" + role + "\"");
      }
      roles.push_back(role);
      texts.push_back(member(turn, text_key, json::value_t::string, owner));
    }
    const std::size_t first = !roles.empty() && roles.front() == system ? 1 : 0;
    if (roles.size() != first + 2 || roles[first] != user || roles[first + 1] != assistant) {
      std::string got;
      for (const std::string& r : roles) got += (got.empty() ? "" : ", ") + r;
      fail("'" + std::string(list) + "' must be one request and its answer ([" +
           std::string(system) + ",] " + std::string(user) + ", " + std::string(assistant) +
           "); got [" + got + "] (multi-turn conversations are not demonstrations medsafe reads)");
    }
    DemoPair pair;
    pair.prompt = texts[first];
    pair.answer = texts[first + 1];
    if (blank(pair.prompt)) {
      fail("the request ('" + std::string(list) + "'[" + std::to_string(first) + "]) is empty");
    }
    return pair;
  }

 private:
  std::string file_;
  std::uint32_t line_;
  std::size_t entry_;
};

DemoPair read_entry(DemoFormat format, const json& value, const EntryReader& reader) {
  if (!value.is_object()) {
    reader.fail(std::string("must be a JSON object, got ") + value.type_name());
  }
  DemoPair pair;
  switch (format) {
    case DemoFormat::openai:
      reader.only_keys(value, {"messages"}, "");
      pair = reader.conversation(
          reader.member(value, "messages", json::value_t::array, ""), "messages", "role", "content",
          {"role", "content", "name", "weight"}, "system", "user", "assistant");
      break;
    case DemoFormat::alpaca: {
      reader.only_keys(value, {"instruction", "input", "output"}, "");
      pair.prompt = reader.member(value, "instruction", json::value_t::string, "");
      if (value.contains("input")) {
        const std::string input = reader.member(value, "input", json::value_t::string, "");
        if (!blank(input)) pair.prompt += "\n\n" + input;  // Alpaca's own prompt joins them so
      }
      pair.answer = reader.member(value, "output", json::value_t::string, "");
      if (blank(pair.prompt)) reader.fail("'instruction' is empty");
      break;
    }
    case DemoFormat::sharegpt: {
      reader.only_keys(value, {"id", "conversations"}, "");
      if (value.contains("id")) {
        const json& id = value["id"];
        if (!id.is_string() && !id.is_number_integer()) {
          reader.fail(std::string("'id' must be a string or an integer, got ") + id.type_name());
        }
        pair.id = id.is_string() ? id.get<std::string>() : id.dump();
      }
      const std::string id = pair.id;
      pair = reader.conversation(reader.member(value, "conversations", json::value_t::array, ""),
                                 "conversations", "from", "value", {"from", "value"}, "system",
                                 "human", "gpt");
      pair.id = id;
      break;
    }
  }
  pair.where = reader.where();
  return pair;
}

std::string read_whole(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw Error(ErrorKind::data, file.string() + ": error: cannot read the demonstration file");
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

[[noreturn]] void parse_failure(const fs::path& file, std::string_view text,
                                std::uint32_t first_line, const json::parse_error& e) {
  // e.byte counts from 1 within what was parsed; the line and column go into the location, so
  // nlohmann's own "parse error at line 1, column 15: " (of a JSONL row, not of the file) goes.
  const std::size_t at =
      e.byte > 0 ? std::min(static_cast<std::size_t>(e.byte - 1), text.size()) : 0;
  const std::size_t line_start = text.rfind('\n', at == 0 ? 0 : at - 1);
  const auto column = static_cast<std::uint32_t>(
      line_start == std::string_view::npos || at == 0 ? at + 1 : at - line_start);
  std::string message = without_code(e);
  if (const std::size_t colon = message.find(": "); message.starts_with("parse error at line")) {
    message.erase(0, colon + 2);
  }
  throw located_error(ErrorKind::data,
                      SourceLocation{file.string(), first_line - 1 + line_at(text, at), column},
                      "invalid JSON: " + message);
}

}  // namespace

std::string_view to_string(DemoFormat format) noexcept {
  switch (format) {
    case DemoFormat::openai:
      return "openai";
    case DemoFormat::alpaca:
      return "alpaca";
    case DemoFormat::sharegpt:
      return "sharegpt";
  }
  return "openai";
}

std::optional<DemoFormat> demo_format_named(std::string_view name) noexcept {
  for (const DemoFormat f : kDemoFormats) {
    if (to_string(f) == name) return f;
  }
  return std::nullopt;
}

std::string_view demo_file_suffix(DemoFormat format) noexcept {
  switch (format) {
    case DemoFormat::openai:
      return ".openai.jsonl";
    case DemoFormat::alpaca:
      return ".alpaca.json";
    case DemoFormat::sharegpt:
      return ".sharegpt.json";
  }
  return ".openai.jsonl";
}

std::string render_demos(DemoFormat format, const std::vector<DemoPair>& pairs) {
  if (format == DemoFormat::openai) {
    std::string out;
    for (const DemoPair& pair : pairs) out += dump_line(openai_entry(pair)) + "\n";
    return out;
  }
  ordered_json all = ordered_json::array();
  for (const DemoPair& pair : pairs) {
    all.push_back(format == DemoFormat::alpaca ? alpaca_entry(pair) : sharegpt_entry(pair));
  }
  return dump_line(all, 2) + "\n";
}

std::optional<DemoFormat> demo_format_of(const fs::path& file) {
  const std::string name = file.filename().string();
  for (const DemoFormat f : kDemoFormats) {
    if (name.ends_with(demo_file_suffix(f))) return f;
  }
  const std::string extension = file.extension().string();
  if (extension == ".jsonl" || extension == ".ndjson") return DemoFormat::openai;
  return std::nullopt;
}

std::vector<DemoPair> read_demo_file(const fs::path& file, DemoFormat format, bool skip_empty,
                                     std::size_t* skipped) {
  const std::string text = read_whole(file);
  std::vector<DemoPair> pairs;
  auto keep = [&](DemoPair pair, const EntryReader& reader) {
    if (blank(pair.answer)) {
      if (!skip_empty)
        reader.fail("the answer is empty (use --skip-empty to leave such entries out)");
      if (skipped != nullptr) ++*skipped;
      return;
    }
    pairs.push_back(std::move(pair));
  };
  if (format == DemoFormat::openai) {
    std::uint32_t line = 0;
    std::size_t entry = 0;
    for (std::size_t pos = 0; pos < text.size();) {
      std::size_t end = text.find('\n', pos);
      if (end == std::string::npos) end = text.size();
      const std::string_view row = std::string_view(text).substr(pos, end - pos);
      pos = end + 1;
      ++line;
      if (blank(row)) continue;
      const EntryReader reader(file, line, ++entry);
      json value;
      try {
        value = json::parse(row);
      } catch (const json::parse_error& e) {
        parse_failure(file, row, line, e);
      }
      keep(read_entry(format, value, reader), reader);
    }
    if (entry == 0) {
      throw Error(ErrorKind::data, file.string() + ": error: the file holds no demonstration");
    }
    return pairs;
  }
  json all;
  try {
    all = json::parse(text);
  } catch (const json::parse_error& e) {
    parse_failure(file, text, 1, e);
  }
  if (!all.is_array()) {
    throw located_error(ErrorKind::data, SourceLocation{file.string(), 1, 0},
                        "the file must be a JSON array of entries (" +
                            std::string(to_string(format)) + " format), got " + all.type_name());
  }
  if (all.empty()) {
    throw Error(ErrorKind::data, file.string() + ": error: the file holds no demonstration");
  }
  const std::vector<std::uint32_t> lines = element_lines(text);
  for (std::size_t i = 0; i < all.size(); ++i) {
    const EntryReader reader(file, i < lines.size() ? lines[i] : 0, i + 1);
    keep(read_entry(format, all[i], reader), reader);
  }
  return pairs;
}

}  // namespace medsafe
