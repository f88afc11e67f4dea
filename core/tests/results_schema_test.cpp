// docs/results.schema.json must describe what medsafe writes: every key it emits is declared,
// every required key is emitted, and the types match.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "engine/metrics.hpp"
#include "engine/report_answers.hpp"
#include "engine/report_json.hpp"
#include "engine/report_jsonl.hpp"
#include "report_test_data.hpp"

namespace medsafe {
namespace {

using Json = nlohmann::json;

/// A small JSON Schema checker: type, const, enum, required, properties, additionalProperties,
/// items, allOf and local $ref. Stricter than the schema in one way: an object key that its
/// schema's `properties` do not declare (and no additionalProperties allows) is an error, so the
/// document cannot fall behind the code.
class SchemaChecker {
 public:
  explicit SchemaChecker(Json root) : root_(std::move(root)) {}

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
    if (schema.is_boolean()) return;
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
    if (schema.contains("items") && value.is_array()) {
      for (std::size_t i = 0; i < value.size(); ++i)
        visit(value[i], schema["items"], where + "[" + std::to_string(i) + "]");
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
  }

  Json root_;
  std::vector<std::string> errors_;
};

SchemaChecker load_schema() {
  const std::string text =
      test_data::read_file(std::filesystem::path(MEDSAFE_SOURCE_DIR) / "docs/results.schema.json");
  EXPECT_FALSE(text.empty());
  return SchemaChecker(Json::parse(text));
}

// A run with every kind of value: scores, refusals, a failure, a parse failure, timing.
RunData varied_run() {
  RunData d = test_data::small_run();
  d.info.refusal_judge = "refusal";
  d.verdicts.push_back(test_data::refusal("refusal", d.responses[0], true));
  d.verdicts.back().flags = {"uncertain"};
  d.items.push_back(test_data::item("med", "d", "2"));
  d.responses.push_back(test_data::response("m", "med", "d", 0, Outcome::http_error));
  d.responses.back().http_status = 500;
  d.responses[0].completion_tokens = 2;
  d.responses[0].token_source = TokenSource::usage;
  return d;
}

TEST(ResultsSchema, DescribesResultsJson) {
  SchemaChecker checker = load_schema();
  const RunData d = varied_run();
  const Json doc = Json::parse(results_json(d, compute_metrics(d)).dump());
  const auto errors = checker.check(doc, checker.root());
  for (const auto& e : errors) ADD_FAILURE() << e;
  EXPECT_EQ(checker.root()["properties"]["schema_version"]["const"], kResultsSchemaVersion);
}

TEST(ResultsSchema, DescribesEveryResponsesJsonlLine) {
  SchemaChecker checker = load_schema();
  const RunData d = varied_run();
  const AnswerLookup lookup(d);
  const Json line_schema = {{"$ref", "#/$defs/response_line"}};
  for (const ResponseRow& r : d.responses) {
    const Json line = Json::parse(response_json(r, lookup.item(r), lookup.verdicts(r)).dump());
    for (const auto& e : checker.check(line, line_schema)) ADD_FAILURE() << e;
  }
}

TEST(ResultsSchema, TheCheckerRejectsWhatTheSchemaForbids) {
  SchemaChecker checker = load_schema();
  const RunData d = varied_run();
  Json doc = Json::parse(results_json(d, compute_metrics(d)).dump());
  doc["safety"]["rows"][0]["judges"][0]["harm_mean"] = 2.5;  // the version-1 shape
  doc["run"]["undocumented"] = 1;
  doc["counts"].erase("items");
  const auto errors = checker.check(doc, checker.root());
  EXPECT_EQ(errors.size(), 3U);
}

}  // namespace
}  // namespace medsafe
