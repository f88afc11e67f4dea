#pragma once
/// A run's components, made from a run file: plugins found and loaded, configurations checked
/// against manifests, backends, suites and judges constructed and guarded.
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "engine/plugin_catalog.hpp"
#include "engine/run_data.hpp"
#include "engine/run_file.hpp"
#include "medsafe/http.hpp"
#include "medsafe/plugin.hpp"

namespace medsafe {

struct ModelSlot {
  const ComponentSpec* spec = nullptr;
  Config config;
  std::unique_ptr<Backend> backend;  ///< guarded: plugin exceptions become failed responses
  int concurrency = 1;
  bool under_test = true;
  std::int64_t fail_fast_after = 0;  ///< its fail_fast_after, checked (0: never)
};

struct SuiteSlot {
  const ComponentSpec* spec = nullptr;
  Config config;
  std::unique_ptr<Suite> suite;
  std::vector<PromptItem> items;  ///< filled by load_suites()
  std::vector<Category> categories;
  std::string domain;
};

struct JudgeSlot {
  const ComponentSpec* spec = nullptr;
  Config config;
  std::unique_ptr<Judge> judge;  ///< guarded: plugin exceptions become error verdicts
  JudgeTraits traits;
  int concurrency = 1;
  std::vector<std::string> suites;  ///< empty: all

  [[nodiscard]] bool judges_suite(const std::string& suite) const;
};

/// Owns everything a run uses. Destruction order matters: judges, then suites, then backends,
/// then the HTTP transport (whose I/O thread calls into backends) — members are declared so.
class Assembly final : public ModelDirectory, public JudgeDirectory {
 public:
  /// Finds plugins (run file folders, `extra_plugin_paths`, the standard path), validates every
  /// component's keys against its manifest, loads the plugins and makes the components.
  Assembly(RunFile run, const std::vector<std::filesystem::path>& extra_plugin_paths, Log& log,
           const std::filesystem::path& cache_dir);
  ~Assembly() override;

  /// Loads every suite's items (once).
  void load_suites();
  /// Takes every suite's items and categories from a stored run instead of loading them (for
  /// judging a stored run: the data set may since have changed or gone).
  void use_stored_items(const RunData& data);

  Backend& model(std::string_view name, const SourceLocation& where) override;
  Judge& judge(std::string_view name, const SourceLocation& where) override;

  [[nodiscard]] const RunFile& run() const noexcept { return run_; }
  [[nodiscard]] PluginCatalog& catalog() noexcept { return catalog_; }
  [[nodiscard]] HttpTransport& http() noexcept { return *http_; }
  std::deque<ModelSlot>& models() noexcept { return models_; }
  std::deque<SuiteSlot>& suites() noexcept { return suites_; }
  std::deque<JudgeSlot>& judges() noexcept { return judges_; }
  /// The judge feeding harm columns and the one feeding refusal_rate ("" when none).
  [[nodiscard]] std::string primary_judge() const;
  [[nodiscard]] std::string refusal_judge() const;

 private:
  RunFile run_;
  Log& log_;
  std::filesystem::path cache_dir_;
  PluginCatalog catalog_;
  std::unique_ptr<HttpTransport> http_;
  std::deque<ModelSlot> models_;
  std::deque<SuiteSlot> suites_;
  std::deque<JudgeSlot> judges_;
};

}  // namespace medsafe
