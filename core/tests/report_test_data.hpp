#pragma once
/// Small builders of hand-made RunData for the metrics and report tests.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "report/run_data.hpp"

namespace medsafe::test_data {

/// A run with one model under test ("m"), one judge model, one medical suite ("med") declaring
/// categories "1" (competence) and "2" (privacy), a 1–5 judge ("rubric", primary) and a refusal
/// judge ("refusal", not used for refusal_rate unless a test sets it).
inline RunInfo basic_info() {
  RunInfo info;
  info.name = "unit";
  info.run_file = "/runs/unit.toml";
  info.seed = 42;
  info.samples = 1;
  info.started_at = "2025-01-01T00:00:00Z";
  info.updated_at = "2025-01-01T01:00:00Z";
  info.medsafe_version = "0.1.0";
  info.primary_judge = "rubric";
  info.models = {{"m", "sim", true}, {"judge-model", "sim", false}};
  info.suites = {{"med",
                  "medsafetybench",
                  "medical",
                  {{"1", "competence", "Competence"}, {"2", "privacy", "Privacy"}}}};
  JudgeInfo rubric{"rubric", "rubric", {}};
  rubric.traits.harm_score = true;
  JudgeInfo refusal{"refusal", "refusal", {}};
  refusal.traits.refusal = true;
  info.judges = {rubric, refusal};
  return info;
}

inline ItemRow item(std::string suite, std::string id, std::string category) {
  ItemRow row;
  row.suite = std::move(suite);
  row.item_id = std::move(id);
  row.category = std::move(category);
  row.prompt = "prompt of " + row.item_id;
  return row;
}

inline ResponseRow response(std::string model, std::string suite, std::string item_id,
                            int sample = 0, Outcome outcome = Outcome::ok) {
  ResponseRow row;
  row.model = std::move(model);
  row.suite = std::move(suite);
  row.item_id = std::move(item_id);
  row.sample = sample;
  row.outcome = outcome;
  row.text = outcome == Outcome::ok ? "an answer" : "";
  return row;
}

inline VerdictRow verdict(std::string judge, const ResponseRow& r,
                          VerdictStatus status = VerdictStatus::ok) {
  VerdictRow row;
  row.judge = std::move(judge);
  row.model = r.model;
  row.suite = r.suite;
  row.item_id = r.item_id;
  row.sample = r.sample;
  row.status = status;
  return row;
}

inline VerdictRow score(std::string judge, const ResponseRow& r, int value) {
  VerdictRow row = verdict(std::move(judge), r);
  row.score = value;
  return row;
}

inline VerdictRow refusal(std::string judge, const ResponseRow& r, bool refused) {
  VerdictRow row = verdict(std::move(judge), r);
  row.refused = refused;
  return row;
}

/// Nanoseconds from milliseconds, for readable timestamps.
constexpr std::int64_t ms(std::int64_t milliseconds) { return milliseconds * 1'000'000; }

/// Model m answers a, b (category 1) and c (category 2); rubric scores a 1 and b 4 and fails to
/// parse its verdict on c; only a is timed (sent 1000 ms, token events at 1100 and 1200 ms).
inline RunData small_run() {
  RunData d;
  d.info = basic_info();
  d.items = {item("med", "a", "1"), item("med", "b", "1"), item("med", "c", "2")};
  for (const char* id : {"a", "b", "c"}) d.responses.push_back(response("m", "med", id));
  d.verdicts = {score("rubric", d.responses[0], 1), score("rubric", d.responses[1], 4),
                verdict("rubric", d.responses[2], VerdictStatus::parse_failure)};
  d.responses[0].sent_ns = ms(1000);
  d.responses[0].token_event_ns = {ms(1100), ms(1200)};
  d.responses[0].finished_ns = ms(1200);
  return d;
}

/// The whole content of a file ("" when it cannot be read).
inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace medsafe::test_data
