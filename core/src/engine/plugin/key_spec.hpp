#pragma once
/// Core's own configuration keys (run file sections, calibration tables, flow control, judge-eval
/// mapping files) are declared with one builder: a KeySpec from its name, type, doc and default.
#include <memory>
#include <string>
#include <utility>

#include <toml++/toml.h>

#include "medsafe/config.hpp"

namespace medsafe {

/// A documented key; `default_value` (copied into the config when absent) may be null, and a
/// `required` key has none.
[[nodiscard]] inline KeySpec make_key(std::string name, ValueType type, std::string doc,
                                      std::shared_ptr<const toml::node> default_value = nullptr,
                                      bool required = false) {
  KeySpec k;
  k.name = std::move(name);
  k.type = type;
  k.doc = std::move(doc);
  k.default_value = std::move(default_value);
  k.required = required;
  return k;
}

/// A key's default: one TOML value (a string, an int64_t, a double or a bool).
template <typename T>
[[nodiscard]] std::shared_ptr<const toml::node> key_default(T v) {
  return std::make_shared<toml::value<T>>(std::move(v));
}

}  // namespace medsafe
