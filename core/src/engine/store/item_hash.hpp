#pragma once
/// The content hash of a suite's item: what the model is asked and the judges are given, so a
/// resume can tell an edited dataset row from the one whose answer is stored.
#include <map>
#include <string>

#include "medsafe/suite.hpp"

namespace medsafe {

/// 16 hex digits over the item's category, prompt, reference and fields (sorted by key; a key
/// given twice counts once, its last value, as the store keeps it). The id is not part of it:
/// it is what the hash is compared under.
[[nodiscard]] std::string item_content_hash(const PromptItem& item);

/// The same hash from an item's stored columns (fields as the store's JSON object holds them).
[[nodiscard]] std::string item_content_hash(const std::string& category, const std::string& prompt,
                                            const std::string& reference,
                                            const std::map<std::string, std::string>& fields);

}  // namespace medsafe
