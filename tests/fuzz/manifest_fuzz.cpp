// Fuzzes the manifest parser (medsafe::parse_manifest). Invariants: the only exception is
// medsafe::Error; a parsed manifest has a positive ABI and an absolute library path; and its
// schema is usable: validating an empty table fails exactly when a key is required, and
// otherwise every default comes back through the accessor of its key's type (and, for a key
// with choices, is one of them).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "medsafe/config.hpp"
#include "medsafe/error.hpp"
#include "medsafe/manifest.hpp"

namespace {

void check_default(const medsafe::Config& config, const medsafe::KeySpec& key) {
  using medsafe::ValueType;
  MEDSAFE_FUZZ_CHECK(config.has(key.name));
  MEDSAFE_FUZZ_CHECK(!key.default_text().empty());
  switch (key.type) {
    case ValueType::string:
    case ValueType::path: {
      const std::string value = config.string(key.name);
      if (!key.choices.empty() && key.type == ValueType::string) {
        MEDSAFE_FUZZ_CHECK(std::find(key.choices.begin(), key.choices.end(), value) !=
                           key.choices.end());
      }
      break;
    }
    case ValueType::integer:
      static_cast<void>(config.integer(key.name));
      break;
    case ValueType::number:
      static_cast<void>(config.number(key.name));
      break;
    case ValueType::boolean:
      static_cast<void>(config.boolean(key.name));
      break;
    case ValueType::string_list:
      static_cast<void>(config.strings(key.name));
      break;
    case ValueType::number_list:
      static_cast<void>(config.numbers(key.name));
      break;
    case ValueType::table:
      MEDSAFE_FUZZ_CHECK(config.table(key.name) != nullptr);
      break;
    case ValueType::table_list: {
      const toml::array* list = config.array(key.name);
      MEDSAFE_FUZZ_CHECK(list != nullptr);
      for (const toml::node& entry : *list) MEDSAFE_FUZZ_CHECK(entry.is_table());
      break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::filesystem::path file = "/medsafe-fuzz/plugins/fuzz/plugin.toml";
  medsafe::Manifest manifest;
  try {
    manifest = medsafe::parse_manifest(text, file);
  } catch (const medsafe::Error&) {
    return 0;  // a located error: the expected outcome for a bad manifest
  }
  MEDSAFE_FUZZ_CHECK(manifest.abi >= 1);
  MEDSAFE_FUZZ_CHECK(manifest.library.is_absolute());
  MEDSAFE_FUZZ_CHECK(manifest.file == file);

  const bool any_required = std::any_of(manifest.config.keys.begin(), manifest.config.keys.end(),
                                        [](const medsafe::KeySpec& key) { return key.required; });
  medsafe::Config config;
  try {
    config = medsafe::Config::validate("fuzz", toml::table{}, manifest.config, file.parent_path());
  } catch (const medsafe::Error&) {
    MEDSAFE_FUZZ_CHECK(any_required);
    return 0;
  }
  MEDSAFE_FUZZ_CHECK(!any_required);
  // Outside the try: an accessor that throws here is a default the manifest should have refused.
  for (const medsafe::KeySpec& key : manifest.config.keys) {
    if (key.default_value) check_default(config, key);
  }
  static_cast<void>(config.fingerprint());
  static_cast<void>(manifest.config.key_list());
  return 0;
}
