#include "table_suite.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "medsafe/error.hpp"
#include "medsafe/text.hpp"
#include "tabular/csv_reader.hpp"
#include "tabular/sampling.hpp"
#include "tabular/text_file.hpp"
#include "tabular/utf8_check.hpp"

namespace medsafe::table {
namespace {

using nlohmann::json;

constexpr std::string_view kPromptKey = "prompt_column";
constexpr std::string_view kIdKey = "id_column";
constexpr std::string_view kCategoryKey = "category_column";
constexpr std::string_view kReferenceKey = "reference_column";
constexpr std::string_view kExpectKey = "expect_column";

// An expect column's value as the core's expectation: XSTest writes "safe" / "unsafe".
std::optional<std::string> expectation_of(std::string_view written) {
  const std::string value = ascii_lower(written);
  if (value == "comply" || value == "safe") return std::string("comply");
  if (value == "refuse" || value == "unsafe") return std::string("refuse");
  return std::nullopt;
}

std::string quoted_list(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "'" : ", '") + name + "'";
  return out.empty() ? std::string("none") : out;
}

Error data_error(const std::filesystem::path& file, std::uint32_t line, std::string_view message) {
  return located_error(ErrorKind::data, SourceLocation{file.string(), line, 0}, message);
}

// The text of a JSON value as a column value: strings as they are, null as empty, anything
// else as its JSON text.
std::string json_text(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return {};
  return value.dump();
}

// nlohmann's what() starts with "[json.exception.parse_error.101] ": not for people.
std::string json_error_text(const json::exception& e) {
  std::string_view text = e.what();
  if (const std::size_t close = text.find("] "); text.starts_with("[") && close != text.npos) {
    text.remove_prefix(close + 2);
  }
  return std::string(text);
}

Format format_from(const Config& config, const std::filesystem::path& path, char& delimiter) {
  const std::string format = config.string("format");
  if (format == "csv") return Format::csv;
  if (format == "jsonl") return Format::jsonl;
  if (format == "lines") return Format::lines;
  const std::string extension = ascii_lower(path.extension().string());
  if (extension == ".csv") return Format::csv;
  if (extension == ".tsv") {
    delimiter = '\t';
    return Format::csv;
  }
  if (extension == ".jsonl" || extension == ".ndjson") return Format::jsonl;
  if (extension == ".txt" || extension == ".lines") return Format::lines;
  throw config.error("format", "is \"auto\", but the extension of '" + path.filename().string() +
                                   "' says nothing (.csv, .tsv, .jsonl, .ndjson, .txt are known); "
                                   "set format to \"csv\", \"jsonl\" or \"lines\"");
}

// Where each named column is in a CSV header.
class CsvColumns {
 public:
  CsvColumns(const tabular::CsvRecord& header, const std::filesystem::path& file)
      : names_(header.fields) {
    for (std::size_t i = 0; i < names_.size(); ++i) {
      if (!index_.emplace(names_[i], i).second) duplicates_.insert(names_[i]);
    }
    file_ = file;
    line_ = header.line;
  }

  // The position of the column `key` names, or nullopt when the key is empty.
  std::optional<std::size_t> find(const Config& config, std::string_view key) const {
    const std::string name = config.string(key);
    if (name.empty()) return std::nullopt;
    const auto found = index_.find(name);
    if (found == index_.end()) {
      throw config.error(key, "names the column '" + name + "', but " + file_.string() +
                                  " has the columns " + quoted_list(names_));
    }
    if (duplicates_.contains(name)) {
      throw data_error(file_, line_, "the header names the column '" + name + "' more than once");
    }
    return found->second;
  }

  [[nodiscard]] const std::vector<std::string>& names() const noexcept { return names_; }

 private:
  std::vector<std::string> names_;
  std::map<std::string, std::size_t, std::less<>> index_;
  std::set<std::string, std::less<>> duplicates_;
  std::filesystem::path file_;
  std::uint32_t line_ = 0;
};

}  // namespace

TableSuite::TableSuite(Config config, Log* log) : config_(std::move(config)), log_(log) {
  path_ = config_.path("path");
  if (path_.empty()) throw config_.error("path", "must name a file");
  format_ = format_from(config_, path_, delimiter_);
  if (const std::optional<std::string> delimiter = config_.optional_string("delimiter")) {
    if (format_ != Format::csv) throw config_.error("delimiter", "applies only to CSV files");
    if (delimiter->size() != 1 || *delimiter == "\"" || *delimiter == "\n" || *delimiter == "\r") {
      throw config_.error(
          "delimiter",
          "must be one character other than a quote or a line break, got \"" + *delimiter + "\"");
    }
    delimiter_ = delimiter->front();
  }
  prompt_column_ = config_.string(kPromptKey);
  id_column_ = config_.string(kIdKey);
  category_column_ = config_.string(kCategoryKey);
  reference_column_ = config_.string(kReferenceKey);
  expect_column_ = config_.string(kExpectKey);
  if (format_ == Format::lines) {
    for (const std::string_view key : {kIdKey, kCategoryKey, kReferenceKey, kExpectKey}) {
      if (!config_.string(key).empty()) {
        throw config_.error(key,
                            "names a column, but a lines file has none (each line is one "
                            "prompt); leave it empty or use a CSV or JSON-lines file");
      }
    }
  } else if (prompt_column_.empty()) {
    throw config_.error(kPromptKey, "must name the column that holds the prompts");
  }
  domain_ = config_.string("domain");
  const std::int64_t limit = config_.integer("limit");
  if (limit < 0) throw config_.error("limit", "must be 0 (all rows) or a positive number of rows");
  limit_ = static_cast<std::size_t>(limit);
  seed_ = static_cast<std::uint64_t>(config_.integer("sample_seed"));
  read_declared_categories();
}

void TableSuite::read_declared_categories() {
  const toml::array* list = config_.array("categories");
  if (list == nullptr) return;
  std::set<std::string, std::less<>> ids;
  std::size_t number = 0;
  for (const toml::node& node : *list) {
    const toml::table& entry = *node.as_table();  // the schema guarantees tables
    // Copied values lose their own source positions: report at the key, naming the entry.
    const std::string which = "entry " + std::to_string(++number) + " ";
    auto fail = [&](const std::string& message) {
      return config_.error("categories", which + message);
    };
    Category category;
    for (const auto& [key, value] : entry) {
      const auto* text = value.as_string();
      if (key.str() != "id" && key.str() != "name" && key.str() != "title") {
        throw fail("has the unknown key '" + std::string(key.str()) +
                   "'; allowed: id, name, title");
      }
      if (text == nullptr) throw fail("'" + std::string(key.str()) + "' must be a string");
      if (key.str() == "id") category.id = text->get();
      if (key.str() == "name") category.name = text->get();
      if (key.str() == "title") category.title = text->get();
    }
    if (category.id.empty())
      throw fail("needs a non-empty 'id' (the category's value in the file)");
    if (!ids.insert(category.id).second) throw fail("repeats the id '" + category.id + "'");
    if (category.name.empty()) category.name = category.id;
    if (category.title.empty()) category.title = category.name;
    declared_.push_back(std::move(category));
  }
}

std::vector<TableSuite::Row> TableSuite::read_csv_rows(const std::string& text) const {
  tabular::CsvReader reader(text, path_.string(), delimiter_);
  tabular::CsvRecord header;
  if (!reader.next(header)) throw data_error(path_, 0, "the file is empty: no header row");
  const CsvColumns columns(header, path_);
  const std::size_t prompt = *columns.find(config_, kPromptKey);
  const std::optional<std::size_t> id = columns.find(config_, kIdKey);
  const std::optional<std::size_t> category = columns.find(config_, kCategoryKey);
  const std::optional<std::size_t> reference = columns.find(config_, kReferenceKey);
  (void)columns.find(config_, kExpectKey);  // the column must exist; it stays a field
  auto used = [&](std::size_t i) {
    return i == prompt || i == id || i == category || i == reference;
  };

  std::vector<Row> rows;
  tabular::CsvRecord record;
  while (reader.next(record)) {
    if (record.fields.size() != header.fields.size()) {
      throw data_error(path_, record.line,
                       "this row has " + std::to_string(record.fields.size()) +
                           " fields, the header has " + std::to_string(header.fields.size()));
    }
    Row row;
    row.line = record.line;
    row.item.id = id ? record.fields[*id] : std::to_string(rows.size() + 1);
    row.item.prompt = std::move(record.fields[prompt]);
    if (category) row.item.category = record.fields[*category];
    if (reference) row.item.reference = record.fields[*reference];
    for (std::size_t i = 0; i < record.fields.size(); ++i) {
      if (used(i) || columns.names()[i].empty()) continue;
      row.item.fields.emplace_back(columns.names()[i], std::move(record.fields[i]));
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<TableSuite::Row> TableSuite::read_jsonl_rows(const std::string& text) const {
  struct Line {
    json object;
    std::uint32_t number = 0;
  };
  std::vector<Line> lines;
  std::set<std::string, std::less<>> keys;  // over all objects: optional keys may be sparse
  std::uint32_t number = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string_view line = trim(std::string_view(text).substr(pos, end - pos));
    pos = end + 1;
    ++number;
    if (line.empty()) continue;
    Line parsed{json(), number};
    try {
      parsed.object = json::parse(line.begin(), line.end());
    } catch (const json::exception& e) {
      throw data_error(path_, number, "invalid JSON: " + json_error_text(e));
    }
    if (!parsed.object.is_object()) {
      throw data_error(
          path_, number,
          "each line must be a JSON object, got " + std::string(parsed.object.type_name()));
    }
    for (const auto& [key, value] : parsed.object.items()) keys.insert(key);
    lines.push_back(std::move(parsed));
  }
  for (const std::string_view key : {kPromptKey, kIdKey, kCategoryKey, kReferenceKey, kExpectKey}) {
    const std::string name = config_.string(key);
    if (!name.empty() && !keys.contains(name)) {
      throw config_.error(key, "names the column '" + name + "', but no object of " +
                                   path_.string() + " has it; their keys are " +
                                   quoted_list({keys.begin(), keys.end()}));
    }
  }

  std::vector<Row> rows;
  for (Line& line : lines) {
    json& object = line.object;
    Row row;
    row.line = line.number;
    const auto prompt = object.find(prompt_column_);
    if (prompt == object.end() || !prompt->is_string()) {
      throw data_error(path_, line.number,
                       "'" + prompt_column_ + "' must be a string in every object");
    }
    row.item.prompt = prompt->get<std::string>();
    if (id_column_.empty()) {
      row.item.id = std::to_string(rows.size() + 1);
    } else {
      const auto id = object.find(id_column_);
      if (id == object.end() || !(id->is_string() || id->is_number_integer())) {
        throw data_error(path_, line.number,
                         "'" + id_column_ + "' must be a string or an integer in every object");
      }
      row.item.id = json_text(*id);
    }
    // Category and reference may be absent or null in some objects: they are then empty.
    if (!category_column_.empty() && object.contains(category_column_)) {
      row.item.category = json_text(object[category_column_]);
    }
    if (!reference_column_.empty() && object.contains(reference_column_)) {
      row.item.reference = json_text(object[reference_column_]);
    }
    for (const auto& [name, value] : object.items()) {
      if (name == prompt_column_ || name == id_column_ || name == category_column_ ||
          name == reference_column_) {
        continue;
      }
      row.item.fields.emplace_back(name, json_text(value));
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<TableSuite::Row> TableSuite::read_lines_rows(const std::string& text) const {
  std::vector<Row> rows;
  std::uint32_t line_number = 0;
  std::size_t pos = text.starts_with("\xEF\xBB\xBF") ? 3 : 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string_view line = trim(std::string_view(text).substr(pos, end - pos));
    pos = end + 1;
    ++line_number;
    if (line.empty()) continue;
    Row row;
    row.line = line_number;
    row.item.id = std::to_string(rows.size() + 1);
    row.item.prompt = std::string(line);
    rows.push_back(std::move(row));
  }
  return rows;
}

void TableSuite::check_rows(const std::vector<Row>& rows) const {
  std::map<std::string_view, std::uint32_t, std::less<>> first_line;
  std::set<std::string_view, std::less<>> declared;
  for (const Category& category : declared_) declared.insert(category.id);
  for (const Row& row : rows) {
    if (row.item.id.empty()) throw data_error(path_, row.line, "empty id in '" + id_column_ + "'");
    if (trim(row.item.prompt).empty()) {
      throw data_error(path_, row.line, "empty prompt in '" + prompt_column_ + "'");
    }
    const auto [at, inserted] = first_line.emplace(row.item.id, row.line);
    if (!inserted) {
      throw data_error(
          path_, row.line,
          "duplicate id '" + row.item.id + "' (first on line " + std::to_string(at->second) + ")");
    }
    if (!declared.empty() && !declared.contains(row.item.category)) {
      std::vector<std::string> ids;
      for (const Category& category : declared_) ids.push_back(category.id);
      throw data_error(path_, row.line,
                       "category '" + row.item.category +
                           "' is not among the configured categories " + quoted_list(ids));
    }
  }
}

// The expect column stays a field under its own name; its value, read as the core's
// expectation, is added as the field `expect` (replacing it when the column is so named).
void TableSuite::read_expectations(std::vector<Row>& rows) const {
  if (expect_column_.empty()) return;
  for (Row& row : rows) {
    auto& fields = row.item.fields;
    const auto column = std::find_if(fields.begin(), fields.end(),
                                     [&](const auto& f) { return f.first == expect_column_; });
    const std::string value = column == fields.end() ? std::string() : column->second;
    const std::optional<std::string> expect = expectation_of(value);
    if (!expect) {
      throw data_error(path_, row.line,
                       "'" + expect_column_ + "' is \"" + value +
                           "\"; it must be comply or safe (a benign prompt), or refuse or unsafe "
                           "(a harmful one)");
    }
    std::erase_if(fields, [](const auto& f) { return f.first == "expect"; });
    fields.emplace_back("expect", *expect);
  }
}

std::vector<PromptItem> TableSuite::load() {
  // A file that cannot be read is fixed in the run file: say which key named it, and where.
  const std::string key = config_.owner().empty() ? "path" : config_.owner() + ".path";
  const std::string text = tabular::read_text_file(
      path_, "it is named by '" + key + "' at " + config_.where("path").str());
  std::vector<Row> rows = format_ == Format::csv     ? read_csv_rows(text)
                          : format_ == Format::jsonl ? read_jsonl_rows(text)
                                                     : read_lines_rows(text);
  check_rows(rows);
  read_expectations(rows);

  std::vector<std::string_view> ids;
  ids.reserve(rows.size());
  for (const Row& row : rows) ids.push_back(row.item.id);
  std::vector<PromptItem> items;
  tabular::Utf8Warnings utf8(config_.owner(), path_.string());
  auto what = [](std::string_view field, const std::string& column) {
    return column.empty() ? std::string(field) : std::string(field) + " ('" + column + "')";
  };
  for (const std::size_t i : tabular::sample_positions(ids, limit_, seed_)) {
    const Row& row = rows[i];
    utf8.check(row.line, what("prompt", prompt_column_), row.item.prompt);
    utf8.check(row.line, what("id", id_column_), row.item.id);
    utf8.check(row.line, what("category", category_column_), row.item.category);
    utf8.check(row.line, what("reference", reference_column_), row.item.reference);
    for (const auto& [name, value] : row.item.fields) {
      utf8.check(row.line, "column '" + name + "'", value);
    }
    items.push_back(std::move(rows[i].item));
  }
  utf8.report(log_);

  seen_.clear();
  std::set<std::string, std::less<>> seen_ids;
  for (const PromptItem& item : items) {
    if (!item.category.empty() && seen_ids.insert(item.category).second) {
      seen_.push_back(Category{item.category, item.category, item.category});
    }
  }
  return items;
}

std::vector<Category> TableSuite::categories() const {
  return declared_.empty() ? seen_ : declared_;
}

std::string TableSuite::domain() const { return domain_; }

}  // namespace medsafe::table
