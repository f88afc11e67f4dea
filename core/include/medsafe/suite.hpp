#pragma once
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

/// A set of prompts. load() is called once per run, before any request.
class MEDSAFE_API Suite {
 public:
  virtual ~Suite();
  /// All items, in a stable order. Throws a data Error naming file and line for a bad row.
  virtual std::vector<PromptItem> load() = 0;
  /// The categories the items use, in report order. Default: none declared.
  [[nodiscard]] virtual std::vector<Category> categories() const;
  /// "medical" selects the AMA-principles usage policy in LLM judges; otherwise "general".
  [[nodiscard]] virtual std::string domain() const;
};

}  // namespace medsafe
