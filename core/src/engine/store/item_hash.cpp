#include "engine/store/item_hash.hpp"

#include "medsafe/stable_hash.hpp"

namespace medsafe {
namespace {

// Each part with its length in front, so that no two different items give the same byte chain
// ("ab" + "c" and "a" + "bc" differ).
std::uint64_t fold(std::uint64_t hash, const std::string& part) {
  hash = fnv1a(hash, std::to_string(part.size()));
  hash = fnv1a(hash, ":");
  return fnv1a(hash, part);
}

}  // namespace

std::string item_content_hash(const std::string& category, const std::string& prompt,
                              const std::string& reference,
                              const std::map<std::string, std::string>& fields) {
  std::uint64_t hash = kFnv1aBasis;
  hash = fold(hash, category);
  hash = fold(hash, prompt);
  hash = fold(hash, reference);
  for (const auto& [key, value] : fields) {
    hash = fold(hash, key);
    hash = fold(hash, value);
  }
  return hex16(mix64(hash));
}

std::string item_content_hash(const PromptItem& item) {
  std::map<std::string, std::string> fields;
  for (const auto& [key, value] : item.fields) fields[key] = value;
  return item_content_hash(item.category, item.prompt, item.reference, fields);
}

}  // namespace medsafe
