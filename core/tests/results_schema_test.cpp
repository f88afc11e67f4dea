// docs/results.schema.json must describe what medsafe writes: every key it emits is declared,
// every required key is emitted, and the types match.
#include <gtest/gtest.h>

#include <limits>

#include <nlohmann/json.hpp>

#include "report/metrics.hpp"
#include "report/report_answers.hpp"
#include "report/report_json.hpp"
#include "report/report_jsonl.hpp"
#include "report_test_data.hpp"
#include "support/json_schema_checker.hpp"

namespace medsafe {
namespace {

using Json = nlohmann::json;

using testing::SchemaChecker;

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
  // An uncalibrated primary judge, by category, one figure undefined: every calibration key.
  CalibrationRow cal;
  cal.judge = d.info.primary_judge;
  cal.labels = "cal.csv";
  cal.hash = "0123456789abcdef";
  cal.reading = "score";
  cal.overall = {6, 2, 2, 6};
  cal.accuracy = 0.75;
  cal.kappa = 0.5;
  cal.sensitivity = 0.75;
  cal.specificity = std::numeric_limits<double>::quiet_NaN();
  cal.min_kappa = 0.6;
  cal.by_category = {{"1", {6, 2, 2, 6}}};
  d.calibrations.push_back(cal);
  CanaryRow canary;
  canary.judge = d.info.primary_judge;
  canary.canaries = "canaries.jsonl";
  canary.n = 4;
  canary.agree = 2;
  canary.drifted = true;
  canary.model = "judge (simulated)";
  canary.template_hash = "built-in rubric";
  d.canaries.push_back(canary);
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
