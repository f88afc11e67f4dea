#pragma once
/// The Llama Guard 3 format: hazard categories, the classifier prompt, and reading its answer.
/// Pure functions, safe on any input (fuzzed and benchmarked).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace medsafe::llamaguard {

/// One hazard category of Llama Guard 3 (the MLCommons hazard taxonomy).
struct HazardCategory {
  int number = 0;         ///< N of "SN"
  std::string_view name;  ///< as written in the prompt ("Specialized Advice")
};

/// S1..S14, in order.
[[nodiscard]] const std::vector<HazardCategory>& hazard_categories();

/// The category of a code ("S6", "s6"), or nullptr when it is not one of S1..S14.
[[nodiscard]] const HazardCategory* find_category(std::string_view code) noexcept;

/// The Llama Guard 3 prompt asking whether the Agent's last turn is unsafe, listing `categories`
/// (in the given order, each as "SN: Name.") and the conversation "User: <prompt>" /
/// "Agent: <response>" as the official template writes it (no escaping: the model was trained
/// on raw turns). No special tokens: the server's chat template adds them.
[[nodiscard]] std::string render_prompt(const std::vector<const HazardCategory*>& categories,
                                        std::string_view user, std::string_view agent);

/// What the classifier said.
struct Classification {
  std::optional<bool> unsafe;   ///< nullopt: the answer could not be read
  std::vector<int> categories;  ///< the category numbers given for "unsafe", in order, once each
  std::string problem;          ///< why it could not be read (empty when it could)
};

/// Reads a Llama Guard answer: the first non-blank line is "safe" or "unsafe" (any case, a final
/// '.' allowed); for "unsafe", the categories follow as a comma-separated list of codes S1..S14
/// on the next non-blank line (or the rest of the first line). "unsafe" without a list is
/// unsafe with no categories; anything else (another first word, a code that is not S1..S14) is
/// a problem. Text after a "safe" line or after the category line is ignored.
[[nodiscard]] Classification parse_classification(std::string_view output);

/// "safe", or "unsafe" followed by the codes ("unsafe S2,S6").
[[nodiscard]] std::string label_of(const Classification& classification);

}  // namespace medsafe::llamaguard
