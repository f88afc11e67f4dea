#include "medsafetybench_suite.hpp"

#include <algorithm>
#include <set>
#include <string_view>
#include <system_error>
#include <utility>

#include "ama_principles.hpp"
#include "downloader.hpp"
#include "medsafe/error.hpp"
#include "medsafe/text.hpp"
#include "sha256.hpp"
#include "tabular/csv_reader.hpp"
#include "tabular/sampling.hpp"
#include "tabular/text_file.hpp"
#include "tabular/utf8_check.hpp"

namespace medsafe::medsafetybench {
namespace {

constexpr std::string_view kKnownSources[] = {"gpt4", "llama2"};
constexpr std::string_view kLlama3Split = "llama3";
constexpr std::string_view kLlama3Folder = "med_harm_llama3";
// The end-of-turn token Llama-3 left at the end of some generated requests: chat-template
// syntax, not part of the request (some servers would read it as the special token).
constexpr std::string_view kEndOfTurn = "<|eot_id|>";
constexpr std::string_view kHowToGet =
    "get the data with 'git clone https://github.com/AI4LIFE-GROUP/med-safety-bench' and set "
    "path to its datasets/ folder, or set download = true";

std::vector<std::string> sources_from(const Config& config) {
  std::vector<std::string> sources;
  for (std::string& source : config.strings("sources")) {
    if (std::find(std::begin(kKnownSources), std::end(kKnownSources), source) ==
        std::end(kKnownSources)) {
      throw config.error("sources", "holds \"" + source +
                                        "\"; the sources are \"gpt4\" and "
                                        "\"llama2\"");
    }
    if (std::find(sources.begin(), sources.end(), source) == sources.end()) {
      sources.push_back(std::move(source));
    }
  }
  if (sources.empty()) throw config.error("sources", "must name at least one source");
  return sources;
}

std::vector<int> categories_from(const Config& config) {
  std::set<int> categories;
  for (const std::string& text : config.strings("categories")) {
    if (text.size() != 1 || text[0] < '1' || text[0] > '9') {
      throw config.error("categories", "holds \"" + text +
                                           "\"; the categories are the AMA principles \"1\" to "
                                           "\"9\"");
    }
    categories.insert(text[0] - '0');
  }
  if (categories.empty()) throw config.error("categories", "must name at least one principle");
  return {categories.begin(), categories.end()};
}

std::map<std::string, std::string, std::less<>> digests_from(const Config& config) {
  std::map<std::string, std::string, std::less<>> digests;
  const toml::table* table = config.table("sha256");
  if (table == nullptr) return digests;
  for (const auto& [file, value] : *table) {
    const auto* text = value.as_string();
    if (text == nullptr || !is_sha256_hex(text->get())) {
      throw config.error("sha256", "entry '" + std::string(file.str()) +
                                       "' must be a SHA-256 digest (64 hex digits)");
    }
    std::string digest = text->get();
    std::transform(digest.begin(), digest.end(), digest.begin(),
                   [](char c) { return (c >= 'A' && c <= 'F') ? static_cast<char>(c + 32) : c; });
    digests.emplace(std::string(file.str()), std::move(digest));
  }
  return digests;
}

bool is_folder(const std::filesystem::path& path) {
  std::error_code ec;
  return std::filesystem::is_directory(path, ec);
}

bool is_file(const std::filesystem::path& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

Error data_error(const std::string& file, std::uint32_t line, std::string_view message) {
  return located_error(ErrorKind::data, SourceLocation{file, line, 0}, message);
}

// The file's row index: a non-negative decimal integer.
bool is_row_index(std::string_view text) noexcept {
  return !text.empty() && text.size() <= 9 &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::string category_file_name(int category) {
  return "med_safety_demonstrations_category_" + std::to_string(category) + ".csv";
}

std::string llama3_file_name(int category) {
  return "category_" + std::to_string(category) + ".txt";
}

MedSafetyBenchSuite::MedSafetyBenchSuite(const Config& config, std::filesystem::path cache_dir,
                                         Log* log)
    : root_(config.path("path")),
      split_(config.string("split")),
      sources_(sources_from(config)),
      categories_(categories_from(config)),
      download_(config.boolean("download")),
      url_(config.string("url")),
      sha256_(digests_from(config)),
      cache_dir_(config.path("cache_dir")),
      log_(log),
      owner_(config.owner()),
      path_where_(config.where("path")) {
  const std::int64_t limit = config.integer("limit_per_category");
  if (limit < 0) {
    throw config.error("limit_per_category", "must be 0 (all) or a positive number of items");
  }
  limit_ = static_cast<std::size_t>(limit);
  seed_ = static_cast<std::uint64_t>(config.integer("sample_seed"));
  if (cache_dir_.empty()) cache_dir_ = std::move(cache_dir);
  if (split_ == kLlama3Split) {
    if (download_) {
      throw config.error("download",
                         "is not available for split \"llama3\" (its files have no pinned "
                         "digests yet): set path to a local copy of the dataset");
    }
    if (sources_ != std::vector<std::string>{"gpt4", "llama2"}) {
      throw config.error("sources",
                         "selects request sets of the test and train splits; split \"llama3\" "
                         "has one set: leave sources out");
    }
  }
  if (download_) {
    if (!root_.empty()) {
      throw config.error("path",
                         "is set, but so is download = true: use a local copy (path) or "
                         "a download into the cache, not both");
    }
    if (!url_.starts_with("http://") && !url_.starts_with("https://")) {
      throw config.error("url", "must start with http:// or https://, got \"" + url_ + "\"");
    }
    while (url_.ends_with('/')) url_.pop_back();
    if (cache_dir_.empty()) {
      throw config.error("cache_dir", "must name a folder for the download (the run gives none)");
    }
  } else if (root_.empty()) {
    throw config.error("path", std::string("must name the MedSafetyBench datasets folder (or set "
                                           "download = true); ") +
                                   std::string(kHowToGet));
  }
}

std::filesystem::path MedSafetyBenchSuite::download_folder() const {
  // One folder per URL prefix: another commit never mixes with a cached one.
  return cache_dir_ / "medsafetybench" / sha256_hex(url_).substr(0, 16);
}

MedSafetyBenchSuite::DataFolder MedSafetyBenchSuite::local_folder() const {
  if (is_folder(root_ / split_)) return {root_ / split_, split_};
  // A split folder itself (holding gpt4/ and llama2/): its name is the split, when it is one.
  for (const std::string& source : sources_) {
    if (is_folder(root_ / source)) {
      const std::string name = root_.filename().string();
      return {root_, (name == "test" || name == "train") ? name : split_};
    }
  }
  std::error_code ec;
  const std::string what = is_folder(root_) ? "holds neither " + (root_ / split_).string() +
                                                  "/ nor a " + sources_.front() + "/ folder"
                           : std::filesystem::exists(root_, ec) ? "is not a folder"
                                                                : "does not exist";
  // At the key that names it: the folder is what to fix, the run file is where.
  const std::string key = owner_.empty() ? "path" : owner_ + ".path";
  throw located_error(ErrorKind::data, path_where_,
                      "'" + key + "' names the MedSafetyBench data folder " + root_.string() +
                          ", which " + what + "; " + std::string(kHowToGet));
}

MedSafetyBenchSuite::DataFolder MedSafetyBenchSuite::downloaded_folder() {
  const std::filesystem::path folder = download_folder();
  for (const std::string& source : sources_) {
    for (const int category : categories_) {
      const std::string name = split_ + "/" + source + "/" + category_file_name(category);
      const std::filesystem::path dest = folder / name;
      const auto digest = sha256_.find(name);
      const std::string expected = digest == sha256_.end() ? std::string() : digest->second;
      if (is_file(dest)) {
        // Cached files were verified when written; check again against the configured digest,
        // which may have changed since.
        if (expected.empty() || sha256_file_hex(dest) == expected) continue;
        if (log_ != nullptr) {
          log_->warn("medsafetybench", dest.string() +
                                           " does not match its sha256; downloading "
                                           "it again");
        }
      }
      if (log_ != nullptr) {
        if (expected.empty()) {
          log_->warn("medsafetybench", "no sha256 configured for " + name + "; it is not verified");
        }
        log_->info("medsafetybench", "downloading " + url_ + "/" + name);
      }
      download_file(Download{url_ + "/" + name, dest, expected, name});
    }
  }
  return {folder / split_, split_};
}

std::vector<PromptItem> MedSafetyBenchSuite::read_file(const DataFolder& folder,
                                                       const std::string& source,
                                                       int category) const {
  const std::filesystem::path path = folder.path / source / category_file_name(category);
  const std::string file = path.string();
  const std::string text = tabular::read_text_file(path, kHowToGet);
  tabular::CsvReader reader(text, file);
  tabular::CsvRecord record;
  const std::vector<std::string> header = {"", "harmful_medical_request", "safe_response"};
  if (!reader.next(record) || record.fields != header) {
    throw data_error(file, record.line,
                     "expected the header ',harmful_medical_request,safe_response' (a row "
                     "index, the request and a safe response)");
  }
  std::vector<PromptItem> items;
  std::map<std::string, std::uint32_t, std::less<>> rows;
  const std::string prefix = folder.split + "/" + source + "/" + std::to_string(category) + "/";
  tabular::Utf8Warnings utf8(owner_, file);
  while (reader.next(record)) {
    if (record.fields.size() != header.size()) {
      throw data_error(file, record.line,
                       "this row has " + std::to_string(record.fields.size()) +
                           " fields, expected 3 (row index, harmful_medical_request, "
                           "safe_response)");
    }
    const std::string& index = record.fields[0];
    if (!is_row_index(index)) {
      throw data_error(file, record.line, "the row index '" + index + "' is not a number");
    }
    if (const auto [at, added] = rows.emplace(index, record.line); !added) {
      throw data_error(
          file, record.line,
          "the row index " + index + " repeats (first on line " + std::to_string(at->second) + ")");
    }
    if (record.fields[1].find_first_not_of(" \t\r\n") == std::string::npos) {
      throw data_error(file, record.line, "the harmful_medical_request is empty");
    }
    utf8.check(record.line, "harmful_medical_request", record.fields[1]);
    utf8.check(record.line, "safe_response", record.fields[2]);
    PromptItem item;
    item.id = prefix + index;
    item.category = std::to_string(category);
    item.prompt = std::move(record.fields[1]);
    item.reference = std::move(record.fields[2]);
    item.fields = {{"source", source}, {"split", folder.split}};
    items.push_back(std::move(item));
  }
  utf8.report(log_);
  return items;
}

std::filesystem::path MedSafetyBenchSuite::llama3_folder() const {
  if (is_folder(root_ / kLlama3Folder)) return root_ / kLlama3Folder;
  // The split's folder itself.
  if (root_.filename() == kLlama3Folder || is_file(root_ / llama3_file_name(categories_.front()))) {
    return root_;
  }
  const std::string what =
      is_folder(root_) ? "holds no " + std::string(kLlama3Folder) + "/ folder" : "is not a folder";
  throw located_error(
      ErrorKind::data, SourceLocation{root_.string(), 0, 0},
      "the MedSafetyBench data folder " + what + " (split \"llama3\"); " + std::string(kHowToGet));
}

std::vector<PromptItem> MedSafetyBenchSuite::read_llama3_file(const std::filesystem::path& folder,
                                                              int category) const {
  const std::filesystem::path path = folder / llama3_file_name(category);
  const std::string file = path.string();
  const std::string text = tabular::read_text_file(path, kHowToGet);
  std::vector<PromptItem> items;
  const std::string prefix = std::string(kLlama3Split) + "/" + std::to_string(category) + "/";
  std::size_t pos = text.starts_with("\xEF\xBB\xBF") ? 3 : 0;
  std::uint32_t line = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view request = std::string_view(text).substr(pos, end - pos);
    pos = end + 1;
    ++line;
    if (request.find('\0') != std::string_view::npos) {
      throw data_error(file, line, "holds a NUL byte: this is not a text file of requests");
    }
    request = trim(request);
    if (request.ends_with(kEndOfTurn))
      request = trim(request.substr(0, request.size() - kEndOfTurn.size()));
    if (request.empty()) {
      // Ids are line numbers: a blank line is not skipped silently, it is a damaged file.
      throw data_error(file, line,
                       "the line is blank; the file holds one harmful request per line");
    }
    PromptItem item;
    item.id = prefix + std::to_string(line);
    item.category = std::to_string(category);
    item.prompt = std::string(request);
    item.fields = {{"source", std::string(kLlama3Split)}, {"split", std::string(kLlama3Split)}};
    items.push_back(std::move(item));
  }
  if (items.empty())
    throw data_error(file, 0, "the file is empty; it should hold one request per line");
  return items;
}

std::vector<PromptItem> MedSafetyBenchSuite::load_all() {
  std::vector<PromptItem> all;
  if (split_ == kLlama3Split) {
    const std::filesystem::path folder = llama3_folder();
    for (const int category : categories_) {
      std::vector<PromptItem> items = read_llama3_file(folder, category);
      std::move(items.begin(), items.end(), std::back_inserter(all));
    }
    return all;
  }
  const DataFolder folder = download_ ? downloaded_folder() : local_folder();
  for (const std::string& source : sources_) {
    for (const int category : categories_) {
      std::vector<PromptItem> items = read_file(folder, source, category);
      std::move(items.begin(), items.end(), std::back_inserter(all));
    }
  }
  return all;
}

std::vector<PromptItem> MedSafetyBenchSuite::load() {
  std::vector<PromptItem> all = load_all();
  if (limit_ == 0) return all;

  // Sample each principle over all sources, then restore the overall order.
  std::vector<std::size_t> keep;
  for (const int category : categories_) {
    const std::string id = std::to_string(category);
    std::vector<std::size_t> positions;
    std::vector<std::string_view> ids;
    for (std::size_t i = 0; i < all.size(); ++i) {
      if (all[i].category != id) continue;
      positions.push_back(i);
      ids.push_back(all[i].id);
    }
    for (const std::size_t k : tabular::sample_positions(ids, limit_, seed_)) {
      keep.push_back(positions[k]);
    }
  }
  std::sort(keep.begin(), keep.end());
  std::vector<PromptItem> sample;
  sample.reserve(keep.size());
  for (const std::size_t i : keep) sample.push_back(std::move(all[i]));
  return sample;
}

std::vector<Category> MedSafetyBenchSuite::categories() const {
  std::vector<Category> selected;
  for (const int category : categories_) {
    selected.push_back(ama_principles().at(static_cast<std::size_t>(category - 1)));
  }
  return selected;
}

std::string MedSafetyBenchSuite::domain() const { return "medical"; }

}  // namespace medsafe::medsafetybench
