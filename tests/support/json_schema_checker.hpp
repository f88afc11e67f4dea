#pragma once
/// A small JSON Schema checker for the schemas in docs/ (results.schema.json, demos/*.schema.json):
/// type, const, enum, required, properties, additionalProperties, items, prefixItems, minItems,
/// maxItems, minLength, allOf, boolean schemas and local $ref. Stricter than JSON Schema in one
/// way: an object key that its schema's `properties` do not declare (and no additionalProperties
/// allows) is an error, so a document cannot fall behind the code that writes it.
#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace medsafe::testing {

class SchemaChecker {
 public:
  using Json = nlohmann::json;

  explicit SchemaChecker(Json root) : root_(std::move(root)) {}

  /// Every way `instance` breaks `schema` ("$.a.b: what"); empty when it conforms.
  std::vector<std::string> check(const Json& instance, const Json& schema) {
    errors_.clear();
    visit(instance, schema, "$");
    return errors_;
  }
  [[nodiscard]] const Json& root() const { return root_; }

 private:
  static bool has_type(const Json& value, const std::string& type) {
    if (type == "object") return value.is_object();
    if (type == "array") return value.is_array();
    if (type == "string") return value.is_string();
    if (type == "integer") return value.is_number_integer();
    if (type == "number") return value.is_number();
    if (type == "boolean") return value.is_boolean();
    if (type == "null") return value.is_null();
    return false;
  }

  // Characters of a UTF-8 string, as minLength counts them.
  static std::size_t code_points(const std::string& text) {
    return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
      return (static_cast<unsigned char>(c) & 0xC0U) != 0x80U;
    }));
  }

  const Json& resolve(const Json& schema) const {
    if (!schema.is_object() || !schema.contains("$ref")) return schema;
    const std::string ref = schema["$ref"];
    return root_.at(Json::json_pointer(ref.substr(1)));
  }

  void fail(const std::string& where, const std::string& what) {
    errors_.push_back(where + ": " + what);
  }

  void visit(const Json& value, const Json& raw_schema, const std::string& where) {
    const Json& schema = resolve(raw_schema);
    if (schema.is_boolean()) {
      if (!schema.get<bool>()) fail(where, "not allowed here");
      return;
    }
    if (schema.contains("allOf")) {
      for (const Json& part : schema["allOf"]) visit_types(value, resolve(part), where);
    }
    visit_types(value, schema, where);
    if (schema.contains("properties") && value.is_object()) {
      for (const auto& [key, child] : value.items()) {
        if (schema["properties"].contains(key)) {
          visit(child, schema["properties"][key], where + "." + key);
        } else if (schema.contains("additionalProperties")) {
          visit(child, schema["additionalProperties"], where + "." + key);
        } else {
          fail(where, "key '" + key + "' is not in the schema");
        }
      }
    } else if (schema.contains("additionalProperties") && value.is_object()) {
      for (const auto& [key, child] : value.items())
        visit(child, schema["additionalProperties"], where + "." + key);
    }
    if (value.is_array()) visit_items(value, schema, where);
  }

  void visit_items(const Json& value, const Json& schema, const std::string& where) {
    std::size_t first = 0;
    if (schema.contains("prefixItems")) {
      const Json& prefix = schema["prefixItems"];
      for (; first < prefix.size() && first < value.size(); ++first) {
        visit(value[first], prefix[first], where + "[" + std::to_string(first) + "]");
      }
    }
    if (schema.contains("items")) {
      for (std::size_t i = first; i < value.size(); ++i)
        visit(value[i], schema["items"], where + "[" + std::to_string(i) + "]");
    }
    if (schema.contains("minItems") && value.size() < schema["minItems"].get<std::size_t>()) {
      fail(where, "fewer than " + schema["minItems"].dump() + " items");
    }
    if (schema.contains("maxItems") && value.size() > schema["maxItems"].get<std::size_t>()) {
      fail(where, "more than " + schema["maxItems"].dump() + " items");
    }
  }

  void visit_types(const Json& value, const Json& schema, const std::string& where) {
    if (schema.contains("type")) {
      const Json& type = schema["type"];
      bool ok = false;
      if (type.is_string()) ok = has_type(value, type);
      for (const Json& t : type.is_array() ? type : Json::array()) ok = ok || has_type(value, t);
      if (!ok) fail(where, "not of type " + type.dump());
    }
    if (schema.contains("const") && value != schema["const"])
      fail(where, "not " + schema["const"].dump());
    if (schema.contains("enum")) {
      const auto& options = schema["enum"];
      if (std::find(options.begin(), options.end(), value) == options.end())
        fail(where, value.dump() + " not in " + options.dump());
    }
    if (schema.contains("required") && value.is_object()) {
      for (const Json& key : schema["required"]) {
        if (!value.contains(key.get<std::string>())) fail(where, "missing " + key.dump());
      }
    }
    if (schema.contains("minLength") && value.is_string() &&
        code_points(value.get<std::string>()) < schema["minLength"].get<std::size_t>()) {
      fail(where, "shorter than " + schema["minLength"].dump() + " characters");
    }
  }

  Json root_;
  std::vector<std::string> errors_;
};

}  // namespace medsafe::testing
