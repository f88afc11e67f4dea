#pragma once
/// A run's components, made from a run file: plugins found and loaded, configurations checked
/// against manifests, backends, suites and judges constructed and guarded.
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/plugin/plugin_catalog.hpp"
#include "engine/plugin/run_file.hpp"
#include "engine/run/flow_control.hpp"
#include "engine/store/rows.hpp"
#include "medsafe/http/transport.hpp"
#include "medsafe/plugin.hpp"

namespace medsafe {

/// Values from the environment shorter than this are not secrets: ports, flags and the like,
/// which would otherwise be replaced wherever the same digits occur in any text.
inline constexpr std::size_t kMinEnvironmentSecretLength = 6;

/// Registers with `log` every value that "${NAME}" expansion put into `config` (of at least
/// kMinEnvironmentSecretLength bytes), so that no log line, stored text or report shows it.
void add_environment_secrets(Log& log, const Config& config);

/// What a model of the run actually is, for reports: never a secret, a URL path or a query.
struct ModelTarget {
  std::string model_id;  ///< its `model` key, else the manifest's `target` ("simulated"); may be ""
  std::string host;      ///< host[:port] of its `base_url`, without user info; "" when none
};

/// The target of a model configured by `config` for a backend whose manifest is `manifest`,
/// with `log`'s secrets redacted.
[[nodiscard]] ModelTarget model_target(const Config& config, const Manifest& manifest,
                                       const Log& log);

struct ModelSlot {
  const ModelSpec* spec = nullptr;
  Config config;
  std::unique_ptr<Backend> backend;  ///< guarded: plugin exceptions become failed responses
  FlowSettings flow;                 ///< concurrency, rate limits, retries, fail_fast_after
  bool under_test = true;
  ModelTarget target;
  std::size_t max_response_bytes = 0;  ///< its max_response_bytes, checked (0: no limit)
};

/// How many of a suite's items a run keeps in memory (SuiteSlot::items): its memory must not
/// grow with the suite.
inline constexpr std::size_t kItemWindow = 1'000;

struct SuiteSlot {
  const SuiteSpec* spec = nullptr;
  Config config;
  std::unique_ptr<Suite> suite;
  /// load_suites(): every item. A run (record_run) keeps only kItemWindow of those it asks (a
  /// seeded uniform sample, in suite order; record_items), for the load phases and the few prompts
  /// sent before the safety phase: the safety phase reads its items from the store, page by page.
  std::vector<PromptItem> items;
  /// With a shard (engine/shard.hpp): each item's position in the whole suite; empty: its index.
  std::vector<std::size_t> positions;
  /// How many items the run asks of this suite (a shard's share), however many `items` holds.
  std::size_t item_count = 0;
  /// True once load_suites() filled `items` whole (or use_stored_suites() marked the suite as
  /// the store's): record_run records
  /// them as they are (a caller may have taken some out) instead of streaming the suite.
  bool loaded = false;
  std::vector<Category> categories;
  std::string domain;
};

/// What a stored run recorded of one of its suites beside its items: use_stored_suites() takes it
/// instead of the suite's own (its data set may since have changed or gone).
struct StoredSuite {
  std::string name;
  std::string domain;
  std::vector<Category> categories;
};

struct JudgeSlot {
  const JudgeSpec* spec = nullptr;
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
  /// Which components are made.
  enum class Parts : std::uint8_t {
    all,
    suites,  ///< only the suites: reads datasets, makes no backend or judge (`medsafe doctor`)
  };

  /// Finds plugins (run file folders, `extra_plugin_paths`, the standard path), validates every
  /// component's keys against its manifest, loads the plugins and makes the components.
  Assembly(RunFile run, const std::vector<std::filesystem::path>& extra_plugin_paths, Log& log,
           const std::filesystem::path& cache_dir, Parts parts = Parts::all);
  ~Assembly() override;

  /// Loads every suite's items (once).
  void load_suites();
  /// Hands the items of every suite not loaded (SuiteSlot::loaded) to `sink` batch by batch as
  /// the suite streams them (keeping none), then takes its categories and domain. A suite
  /// without items is an error.
  void stream_suites(const std::function<void(SuiteSlot&, std::span<PromptItem>)>& sink);
  /// Takes every suite's categories and domain from a stored run instead of loading the suite
  /// (for judging a stored run: the data set may since have changed or gone), and holds none of
  /// its items: the judges read the stored answers with their items from the store, page by
  /// page. `suites` is what the run recorded of each.
  void use_stored_suites(std::span<const StoredSuite> suites);
  /// Frees every suite's items (and their positions) once nothing more will be asked: the
  /// reports read the items back from the store, and holding both doubled a large run's peak.
  void release_items();

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
  /// When a --set changed the plugin of `spec`, drops (with an info line) the keys only the
  /// plugin it replaced takes: those of `schema` (the new plugin's) and `core` stay.
  void drop_replaced_plugin_keys(ComponentSpec& spec, const ConfigSchema& schema,
                                 const ConfigSchema& core);

  /// What a model, a suite and a judge slot differ in (assembly.cpp): the component kind, its
  /// core keys, its slots and how the made component is kept. The rest is one template.
  template <typename Slot>
  struct Kind;

  /// A model, suite or judge whose configuration is checked but which may not be made yet.
  struct Pending {
    const ComponentFactory* factory = nullptr;
    bool making = false;  ///< being made now: naming it again is a cycle
  };

  /// Checks `spec`'s configuration against its manifest and adds its slot (not made yet).
  template <typename Slot, typename Spec>
  Slot& add(Spec& spec);
  /// Makes slot `index` (and, through model() and judge(), whatever it names first).
  template <typename Slot>
  void make(std::size_t index);
  /// The slot named `name`, made first if need be (a cycle is an error at `where`); null when
  /// there is none.
  template <typename Slot>
  Slot* made(std::string_view name, const SourceLocation& where);
  /// Streams `slot`'s items to `sink`, then takes its categories and domain.
  void stream_suite(SuiteSlot& slot, const std::function<void(std::span<PromptItem>)>& sink);
  /// "models.a -> models.b -> models.a": the components being made from `owner` on, then it.
  [[nodiscard]] std::string cycle_through(const std::string& owner) const;

  RunFile run_;
  Log& log_;
  std::filesystem::path cache_dir_;
  PluginCatalog catalog_;
  std::unique_ptr<HttpTransport> http_;
  std::deque<ModelSlot> models_;
  std::deque<SuiteSlot> suites_;
  std::deque<JudgeSlot> judges_;
  // While the constructor makes components (empty after): one per slot, and the owners
  // ("models.x") being made, outermost first.
  std::vector<Pending> pending_models_;
  std::vector<Pending> pending_suites_;
  std::vector<Pending> pending_judges_;
  std::vector<std::string> making_;
};

}  // namespace medsafe
