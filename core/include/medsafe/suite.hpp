#pragma once
#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "medsafe/export.hpp"

namespace medsafe {

/// One prompt of a suite.
struct PromptItem {
  std::string id;         ///< unique within the suite, stable across runs
  std::string category;   ///< category id ("1".."9" for the AMA principles), may be empty
  std::string prompt;     ///< the user message sent to the model
  std::string reference;  ///< a reference answer (e.g. the safe response), may be empty
  std::vector<std::pair<std::string, std::string>> fields;  ///< further metadata ("source")
};

/// A category of a suite, for reports.
struct Category {
  std::string id;     ///< as in PromptItem::category
  std::string name;   ///< short name ("competence")
  std::string title;  ///< full title ("Competence, compassion and respect for human dignity")
};

/// Takes one batch of a suite's items; it may move them out (the suite does not read them again).
using ItemSink = std::function<void(std::span<PromptItem> batch)>;

/// The batch size the core asks suites to stream in: small enough that a batch is a few MB,
/// large enough that one store transaction per batch costs little.
inline constexpr std::size_t kDefaultItemBatch = 10'000;

/// A set of prompts. The core reads them once per run, before any request: through stream(),
/// whose default calls load(); a suite that can produce its items as it goes overrides stream()
/// so that a run never holds all of them at once.
class MEDSAFE_API Suite {
 public:
  virtual ~Suite();
  /// All items, in a stable order. Throws a data Error naming file and line for a bad row.
  virtual std::vector<PromptItem> load() = 0;
  /// The same items in the same order as load(), handed to `sink` in batches of at most
  /// `batch` items (at least 1 each; `batch` 0 is taken as 1). Default: load(), then its items in
  /// slices. An override must not call load() for all items at once: that is what it avoids.
  virtual void stream(const ItemSink& sink, std::size_t batch);
  /// The categories the items use, in report order. Default: none declared.
  [[nodiscard]] virtual std::vector<Category> categories() const;
  /// "medical" selects the AMA-principles usage policy in LLM judges; otherwise "general".
  [[nodiscard]] virtual std::string domain() const;
};

}  // namespace medsafe
