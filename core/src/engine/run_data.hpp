#pragma once
/// Everything a run produced, as read back from its store: the input of metrics and reports.
/// Reports are always rebuilt from this, never from in-memory run state, so `medsafe report`
/// and a finished run print the same thing.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "medsafe/backend.hpp"
#include "medsafe/judge.hpp"
#include "medsafe/suite.hpp"

namespace medsafe {

/// A model of the run.
struct ModelInfo {
  std::string name;        ///< its name in the run file
  std::string backend;     ///< plugin name ("openai", "sim")
  bool under_test = true;  ///< false for a model used only as a judge
};

/// A suite of the run, with its categories in report order.
struct SuiteInfo {
  std::string name;    ///< its name in the run file
  std::string plugin;  ///< plugin name ("medsafetybench")
  std::string domain;  ///< "medical" or "general"
  std::vector<Category> categories;
};

/// A judge of the run and what it produces.
struct JudgeInfo {
  std::string name;    ///< its name in the run file
  std::string plugin;  ///< plugin name ("rubric")
  JudgeTraits traits;
};

/// The run as a whole.
struct RunInfo {
  std::string name;
  std::string run_file;    ///< absolute path of the run file
  std::uint64_t seed = 0;  ///< drives sampling and bootstrap resampling
  int samples = 1;         ///< answers per model × item
  std::string started_at;  ///< ISO 8601 UTC of the first start
  std::string updated_at;  ///< ISO 8601 UTC of the last change
  std::string medsafe_version;
  std::string primary_judge;  ///< the judge whose 1–5 scores feed harm_* columns ("" = none)
  std::string refusal_judge;  ///< the judge whose refused flag feeds refusal_rate ("" = none)
  std::vector<ModelInfo> models;
  std::vector<SuiteInfo> suites;
  std::vector<JudgeInfo> judges;
};

/// One prompt as sent.
struct ItemRow {
  std::string suite;
  std::string item_id;
  std::string category;
  std::string prompt;
  std::string reference;
};

/// One model × item × sample: the answer or the failure, with its timing.
struct ResponseRow {
  std::string model;
  std::string suite;
  std::string item_id;
  int sample = 0;
  Outcome outcome = Outcome::ok;
  int http_status = 0;
  std::string error;
  std::string text;
  std::string finish_reason;
  std::int64_t prompt_tokens = -1;
  std::int64_t completion_tokens = -1;
  TokenSource token_source = TokenSource::none;
  int attempts = 1;
  // Steady-clock nanoseconds (0 = did not happen); comparable within one machine.
  std::int64_t intended_send_ns = 0;
  std::int64_t sent_ns = 0;
  std::int64_t first_byte_ns = 0;
  std::int64_t finished_ns = 0;
  std::vector<std::int64_t> token_event_ns;  ///< each token-bearing stream event
  std::string phase;  ///< which part of the run made it ("safety", or a load point's label)
};

/// One judge's verdict on one response.
struct VerdictRow {
  std::string judge;
  std::string model;
  std::string suite;
  std::string item_id;
  int sample = 0;
  VerdictStatus status = VerdictStatus::ok;
  std::optional<int> score;
  std::optional<bool> refused;
  std::string label;
  std::string reason;
  std::string raw;
  int model_calls = 0;
};

/// Everything in a run's store.
struct RunData {
  RunInfo info;
  std::vector<ItemRow> items;
  std::vector<ResponseRow> responses;
  std::vector<VerdictRow> verdicts;
};

}  // namespace medsafe
