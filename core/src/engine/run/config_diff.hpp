#pragma once
/// What differs between two configurations of one component, as the store records them
/// (ComponentSpec::fingerprint: canonical JSON of its table before any ${ENV} expansion), so a
/// refused resume can name the keys instead of only saying "configured differently".
#include <string>
#include <string_view>
#include <vector>

namespace medsafe {

/// One key whose value differs. Values are JSON text as written in the run file (a ${VAR}
/// reference stays a reference: no value from the environment is ever in a fingerprint).
struct ConfigChange {
  std::string key;     ///< dotted path below the component's table ("headers.X-Team")
  std::string before;  ///< the stored value, or "(absent)"
  std::string after;   ///< the value now, or "(absent)"
};

/// The keys whose values differ, sorted by key; nested tables are compared key by key, arrays
/// as whole values. Empty when either text is not a JSON object.
[[nodiscard]] std::vector<ConfigChange> diff_fingerprints(std::string_view before,
                                                          std::string_view after);

/// "models.m.refusal_rate: 0.5 before, 0.9 now; models.m.seed: (absent) before, 3 now", each
/// key under `owner` ("models.m").
[[nodiscard]] std::string describe_changes(std::string_view owner,
                                           const std::vector<ConfigChange>& changes);

}  // namespace medsafe
