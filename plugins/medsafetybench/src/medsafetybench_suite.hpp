#pragma once
/// The `medsafetybench` suite: MedSafetyBench's harmful medical requests, one set per AMA
/// principle (Han et al., NeurIPS 2024 Datasets and Benchmarks).
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "medsafe/config.hpp"
#include "medsafe/log.hpp"
#include "medsafe/suite.hpp"

namespace medsafe::medsafetybench {

/// The dataset's file for one source and principle ("med_safety_demonstrations_category_3.csv").
[[nodiscard]] std::string category_file_name(int category);

/// The llama3 split's file for one principle ("category_3.txt").
[[nodiscard]] std::string llama3_file_name(int category);

/// Reads `<root>/<split>/<source>/med_safety_demonstrations_category_N.csv` (columns: row index,
/// harmful_medical_request, safe_response) from a local copy, or downloads the files into a
/// cache first. Items are `split/source/category/row` ("test/gpt4/3/17"), category "1".."9",
/// the safe response as reference, and the fields source and split. The llama3 split reads
/// `<root>/med_harm_llama3/category_N.txt`, one request per line: items `llama3/category/line`
/// ("llama3/3/17", the line counted from 1), no reference.
class MedSafetyBenchSuite final : public Suite {
 public:
  /// `config` has been validated against the medsafetybench manifest; `cache_dir` is the run's
  /// cache folder (used when cache_dir is not configured); `log` may be null. Throws config
  /// Errors at the offending key.
  MedSafetyBenchSuite(const Config& config, std::filesystem::path cache_dir, Log* log);

  /// Items ordered by source (as configured), principle, then file row; with
  /// limit_per_category, a deterministic sample of each principle (over all sources). Downloads
  /// first when configured. Throws data Errors naming the file and line, or the missing path
  /// and how to get the data.
  std::vector<PromptItem> load() override;
  /// The selected principles, in order, with short names and full titles.
  [[nodiscard]] std::vector<Category> categories() const override;
  /// "medical".
  [[nodiscard]] std::string domain() const override;

  /// Where downloads of the configured url go: <cache>/medsafetybench/<hash of url>.
  [[nodiscard]] std::filesystem::path download_folder() const;

 private:
  struct DataFolder {
    std::filesystem::path path;  ///< holds gpt4/ and llama2/
    std::string split;           ///< the split's name in ids
  };

  [[nodiscard]] DataFolder local_folder() const;
  [[nodiscard]] DataFolder downloaded_folder();
  [[nodiscard]] std::vector<PromptItem> read_file(const DataFolder& folder,
                                                  const std::string& source, int category) const;
  [[nodiscard]] std::filesystem::path llama3_folder() const;
  [[nodiscard]] std::vector<PromptItem> read_llama3_file(const std::filesystem::path& folder,
                                                         int category) const;
  [[nodiscard]] std::vector<PromptItem> load_all();

  std::filesystem::path root_;
  std::string split_;
  std::vector<std::string> sources_;
  std::vector<int> categories_;
  std::size_t limit_ = 0;
  std::uint64_t seed_ = 0;
  bool download_ = false;
  std::string url_;
  std::map<std::string, std::string, std::less<>> sha256_;
  std::filesystem::path cache_dir_;
  Log* log_ = nullptr;
  std::string owner_;          ///< "suites.msb", for messages
  SourceLocation path_where_;  ///< where `path` is set, for a data folder that is not there
};

}  // namespace medsafe::medsafetybench
