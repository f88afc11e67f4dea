// Fuzzes the `table` suite's readers (CSV, JSON lines, plain lines) through TableSuite::load on a
// file, configured as a run file would configure it (validated against plugins/table/plugin.toml).
// The first byte picks the format and which optional columns, limit and categories are set.
// Invariants: the only exception is medsafe::Error; every item has a non-blank prompt and a
// unique non-empty id; a limit is respected; every category an item has is in categories().
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "medsafe/config.hpp"
#include "medsafe/error.hpp"
#include "medsafe/manifest.hpp"
#include "table_suite.hpp"

#ifndef MEDSAFE_TABLE_MANIFEST
#error "define MEDSAFE_TABLE_MANIFEST as the path of plugins/table/plugin.toml"
#endif

namespace {

struct Options {
  std::string format;     // "csv", "jsonl", "lines" or "auto" (with a .tsv file)
  std::string file_name;  // the extension matters for "auto"
  bool columns = false;   // id, category and reference columns (not for lines)
  std::int64_t limit = 0;
  bool declared_categories = false;
};

Options options_from(std::uint8_t byte) {
  static constexpr const char* kFormats[] = {"csv", "jsonl", "lines", "auto"};
  static constexpr const char* kFiles[] = {"prompts.csv", "prompts.jsonl", "prompts.txt",
                                           "prompts.tsv"};
  Options o;
  o.format = kFormats[byte & 3];
  o.file_name = kFiles[byte & 3];
  o.columns = (byte & 4) != 0 && o.format != "lines";
  o.limit = (byte >> 3) & 3;
  o.declared_categories = (byte & 0x20) != 0 && o.columns;
  return o;
}

toml::table config_table(const Options& o, const std::filesystem::path& file) {
  toml::table t;
  t.insert("path", file.string());
  t.insert("format", o.format);
  if (o.columns) {
    t.insert("id_column", "id");
    t.insert("category_column", "category");
    t.insert("reference_column", "reference");
  }
  t.insert("limit", o.limit);
  if (o.declared_categories) {
    toml::array categories;
    for (const char* id : {"1", "2", "3"}) categories.push_back(toml::table{{"id", id}});
    t.insert("categories", std::move(categories));
  }
  return t;
}

bool blank(std::string_view text) {
  return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const medsafe::Manifest manifest = medsafe::read_manifest(MEDSAFE_TABLE_MANIFEST);
  medsafe::fuzz::FuzzInput input(data, size);
  const Options options = options_from(input.take_byte());
  const std::filesystem::path file =
      medsafe::fuzz::write_scratch_file(options.file_name, input.rest());

  std::vector<medsafe::PromptItem> items;
  std::vector<medsafe::Category> categories;
  try {
    medsafe::table::TableSuite suite(medsafe::Config::validate(
        "suites.fuzz", config_table(options, file), manifest.config, file.parent_path()));
    items = suite.load();
    categories = suite.categories();
  } catch (const medsafe::Error&) {
    return 0;  // a located data or config error: the expected outcome for a bad file
  }
  if (options.limit > 0)
    MEDSAFE_FUZZ_CHECK(items.size() <= static_cast<std::size_t>(options.limit));
  std::set<std::string> ids;
  std::set<std::string> category_ids;
  for (const medsafe::Category& c : categories) category_ids.insert(c.id);
  for (const medsafe::PromptItem& item : items) {
    MEDSAFE_FUZZ_CHECK(!blank(item.prompt));
    MEDSAFE_FUZZ_CHECK(!item.id.empty());
    MEDSAFE_FUZZ_CHECK(ids.insert(item.id).second);
    if (!item.category.empty()) MEDSAFE_FUZZ_CHECK(category_ids.count(item.category) == 1);
  }
  return 0;
}
