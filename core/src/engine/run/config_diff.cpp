#include "engine/run/config_diff.hpp"

#include <set>

#include <nlohmann/json.hpp>

namespace medsafe {
namespace {

using nlohmann::json;
constexpr std::string_view kAbsent = "(absent)";

std::string text_of(const json* value) {
  return value == nullptr ? std::string(kAbsent)
                          : value->dump(-1, ' ', false, json::error_handler_t::replace);
}

void compare(const json& before, const json& after, const std::string& prefix,
             std::vector<ConfigChange>& out) {
  std::set<std::string> keys;
  for (const auto& [key, ignored] : before.items()) keys.insert(key);
  for (const auto& [key, ignored] : after.items()) keys.insert(key);
  for (const std::string& key : keys) {
    const json* b = before.contains(key) ? &before.at(key) : nullptr;
    const json* a = after.contains(key) ? &after.at(key) : nullptr;
    const std::string path = prefix.empty() ? key : prefix + "." + key;
    if (b != nullptr && a != nullptr && b->is_object() && a->is_object()) {
      compare(*b, *a, path, out);
    } else if (b == nullptr || a == nullptr || *b != *a) {
      out.push_back({path, text_of(b), text_of(a)});
    }
  }
}

}  // namespace

std::vector<ConfigChange> diff_fingerprints(std::string_view before, std::string_view after) {
  const json b = json::parse(before, nullptr, false);
  const json a = json::parse(after, nullptr, false);
  std::vector<ConfigChange> changes;
  if (!b.is_object() || !a.is_object()) return changes;
  compare(b, a, "", changes);
  return changes;
}

std::string describe_changes(std::string_view owner, const std::vector<ConfigChange>& changes) {
  std::string text;
  for (const ConfigChange& c : changes) {
    if (!text.empty()) text += "; ";
    text += std::string(owner) + "." + c.key + ": " + c.before + " before, " + c.after + " now";
  }
  return text;
}

}  // namespace medsafe
