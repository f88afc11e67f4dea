#include "report/report_json.hpp"

#include <algorithm>
#include <string>

#include "medsafe/version.hpp"
#include "report/report_calibration.hpp"
#include "report/report_flags.hpp"
#include "report/report_io.hpp"

namespace medsafe {
namespace {

using Json = nlohmann::ordered_json;

Json optional_number(const std::optional<double>& value) {
  return value ? Json(*value) : Json(nullptr);
}

Json estimate_json(const Estimate& e) {
  Json j = Json::object();
  j["value"] = optional_number(e.value);
  j["ci_low"] = e.ci ? Json(e.ci->low) : Json(nullptr);
  j["ci_high"] = e.ci ? Json(e.ci->high) : Json(nullptr);
  return j;
}

Json distribution_json(const Distribution& d) {
  Json j = Json::object();
  j["n"] = d.n;
  j["mean"] = optional_number(d.mean);
  j["min"] = optional_number(d.min);
  j["max"] = optional_number(d.max);
  j["p50"] = optional_number(d.p50);
  j["p90"] = optional_number(d.p90);
  j["p95"] = optional_number(d.p95);
  j["p99"] = optional_number(d.p99);
  return j;
}

Json counts_json(const NamedCounts& counts) {
  Json j = Json::object();
  for (const auto& [name, n] : counts) j[name] = n;
  return j;
}

Json run_json(const RunInfo& info, const Completeness& completeness) {
  Json j = Json::object();
  j["name"] = info.name;
  j["run_file"] = info.run_file;
  j["seed"] = info.seed;
  j["samples"] = info.samples;
  j["started_at"] = info.started_at;
  j["updated_at"] = info.updated_at;
  j["medsafe_version"] = info.medsafe_version;
  j["primary_judge"] = info.primary_judge;
  j["refusal_judge"] = info.refusal_judge;
  j["sessions"] = completeness.sessions;
  j["resumed"] = completeness.resumed;
  j["shards"] = completeness.shards;
  j["missing_shards"] = completeness.missing_shards;
  return j;
}

Json completeness_json(const RunInfo& info, const Completeness& c) {
  Json by_judge = Json::object();
  for (const JudgeBacklog& backlog : c.missing_by_judge) by_judge[backlog.judge] = backlog.missing;
  Json j = Json::object();
  j["planned_answers"] = c.planned_answers;
  j["missing_answers"] = c.missing_answers;
  j["cancelled_answers"] = c.cancelled_answers;
  j["missing_verdicts"] = c.missing_verdicts;
  j["missing_verdicts_by_judge"] = std::move(by_judge);
  j["planned_load_points"] = c.planned_load_points;
  j["missing_load_points"] = c.missing_load_points;
  j["retired_items"] = c.retired_items;
  j["retired_answers"] = c.retired_answers;
  j["resume_command"] = info.resume_command;
  return j;
}

Json models_json(const RunInfo& info) {
  Json models = Json::array();
  for (const auto& m : info.models) {
    models.push_back({{"name", m.name},
                      {"backend", m.backend},
                      {"under_test", m.under_test},
                      {"model_id", m.model_id},
                      {"host", m.host}});
  }
  return models;
}

std::int64_t items_in(const std::vector<ItemRow>& items, std::string_view suite,
                      const std::string* category) {
  return std::count_if(items.begin(), items.end(), [&](const ItemRow& item) {
    return item.suite == suite && (category == nullptr || item.category == *category);
  });
}

Json suites_json(const RunData& data) {
  Json suites = Json::array();
  for (const auto& s : data.info.suites) {
    Json categories = Json::array();
    for (const auto& c : s.categories) {
      categories.push_back({{"id", c.id},
                            {"name", c.name},
                            {"title", c.title},
                            {"items", items_in(data.items, s.name, &c.id)}});
    }
    const auto comply = std::count_if(data.items.begin(), data.items.end(), [&](const ItemRow& i) {
      return i.suite == s.name && i.expect == kExpectComply;
    });
    suites.push_back({{"name", s.name},
                      {"plugin", s.plugin},
                      {"domain", s.domain},
                      {"expect", s.expect},
                      {"items", items_in(data.items, s.name, nullptr)},
                      {"comply_items", comply},
                      {"categories", std::move(categories)}});
  }
  return suites;
}

Json judges_json(const RunInfo& info) {
  Json judges = Json::array();
  for (const auto& j : info.judges) {
    Json roles = Json::array();
    if (j.name == info.primary_judge) roles.push_back("primary");
    if (j.name == info.refusal_judge) roles.push_back("refusal");
    judges.push_back(
        {{"name", j.name},
         {"plugin", j.plugin},
         {"traits", {{"harm_score", j.traits.harm_score}, {"refusal", j.traits.refusal}}},
         {"roles", std::move(roles)}});
  }
  return judges;
}

Json judge_cell_json(const JudgeCell& c) {
  Json j = Json::object();
  j["judge"] = c.judge;
  j["verdicts"] = c.verdicts;
  j["missing"] = c.missing;
  j["failures"] = c.failures;
  j["scored"] = c.scored;
  j["refusal_flags"] = c.refusal_flags;
  j["harm_mean"] = estimate_json(c.harm_mean);
  j["refusal_rate"] = estimate_json(c.refusal_rate);
  return j;
}

Json safety_row_json(const SafetyCell& row) {
  Json j = Json::object();
  j["model"] = row.model;
  j["suite"] = row.suite;
  j["category"] = row.category;
  j["category_name"] = row.category_name;
  j["overall"] = row.overall;
  j["n"] = row.n;
  j["errors"] = row.errors;
  j["scored"] = row.scored;
  j["unjudged"] = row.unjudged;
  j["judge_failures"] = row.judge_failures;
  j["harm_mean"] = estimate_json(row.harm_mean);
  j["harmful_rate"] = estimate_json(row.harmful_rate);
  j["share_5"] = estimate_json(row.share_5);
  j["corrected_harmful_rate"] = estimate_json(row.corrected_harmful_rate);
  Json refusal = estimate_json(row.refusal_rate);
  refusal["n"] = row.refusal_n;
  j["refusal_rate"] = std::move(refusal);
  Json histogram = Json::object();
  for (std::size_t s = 0; s < row.histogram.size(); ++s)
    histogram[std::to_string(s + 1)] = row.histogram[s];
  j["histogram"] = std::move(histogram);
  Json judges = Json::array();
  for (const auto& c : row.judges) judges.push_back(judge_cell_json(c));
  j["judges"] = std::move(judges);
  return j;
}

Json safety_json(const RunInfo& info, const SafetyTable& safety) {
  Json j = Json::object();
  j["primary_judge"] = safety.primary_judge;
  j["refusal_judge"] = safety.refusal_judge;
  j["refusal_source"] = to_string(safety.refusal_source);
  j["bootstrap"] = {{"method", "percentile"},
                    {"resamples", safety.resamples},
                    {"confidence", kConfidence},
                    {"seed", info.seed}};
  Json rows = Json::array();
  for (const auto& row : safety.rows) rows.push_back(safety_row_json(row));
  j["rows"] = std::move(rows);
  return j;
}

Json over_refusal_json(const OverRefusalTable& table) {
  Json rows = Json::array();
  for (const OverRefusalCell& c : table.rows) {
    rows.push_back({{"model", c.model},
                    {"suite", c.suite},
                    {"n", c.n},
                    {"errors", c.errors},
                    {"judged", c.judged},
                    {"refused", c.refused},
                    {"unjudged", c.unjudged},
                    {"over_refusal_rate", estimate_json(c.over_refusal_rate)}});
  }
  return {{"source", to_string(table.source)}, {"judge", table.judge}, {"rows", std::move(rows)}};
}

Json tradeoff_json(const std::vector<TradeoffRow>& tradeoff) {
  Json rows = Json::array();
  for (const TradeoffRow& t : tradeoff) {
    rows.push_back({{"model", t.model},
                    {"harm_scored", t.harm_scored},
                    {"harmful_rate", estimate_json(t.harmful_rate)},
                    {"comply_judged", t.comply_judged},
                    {"over_refusal_rate", estimate_json(t.over_refusal_rate)}});
  }
  return rows;
}

Json latency_row_json(const LatencyStats& s) {
  Json j = Json::object();
  j["model"] = s.model;
  j["mode"] = s.phase;
  j["load"] = nullptr;
  j["requests"] = s.requests;
  j["failed"] = s.failed;
  j["succeeded"] = s.succeeded;
  j["output_tokens"] = s.output_tokens;
  j["token_counts_unknown"] = s.token_counts_unknown;
  j["duration_s"] = optional_number(s.duration_s);
  j["sessions"] = s.sessions;
  j["req_per_s"] = optional_number(s.req_per_s);
  j["out_tok_per_s"] = optional_number(s.out_tok_per_s);
  j["goodput_req_per_s"] = nullptr;
  j["ttft_ms"] = distribution_json(s.ttft_ms);
  j["ttft_from_intended_ms"] = distribution_json(s.ttft_from_intended_ms);
  j["tpot_ms"] = distribution_json(s.tpot_ms);
  j["itl_ms"] = distribution_json(s.itl_ms);
  j["e2e_ms"] = distribution_json(s.e2e_ms);
  j["tokens_per_event"] = distribution_json(s.tokens_per_event);
  j["send_lag_ms"] = distribution_json(s.send_lag_ms);
  return j;
}

Json latency_json(const std::vector<LatencyStats>& latency) {
  Json rows = Json::array();
  for (const auto& s : latency) rows.push_back(latency_row_json(s));
  return {{"percentile_method", "linear"}, {"rows", std::move(rows)}};
}

Json run_counts_json(const RunCounts& counts) {
  Json by_judge = Json::object();
  for (const auto& jc : counts.verdicts_by_judge) by_judge[jc.judge] = counts_json(jc.by_status);
  Json j = Json::object();
  j["items"] = counts.items;
  j["responses"] = counts.responses;
  j["responses_by_outcome"] = counts_json(counts.responses_by_outcome);
  j["verdicts"] = counts.verdicts;
  j["verdicts_by_status"] = counts_json(counts.verdicts_by_status);
  j["verdicts_by_judge"] = std::move(by_judge);
  j["truncated"] = counts.truncated;
  j["truncated_by_model"] = counts_json(counts.truncated_by_model);
  j["guard_blocked"] = counts.guard_blocked;
  j["guard_blocked_by_model"] = counts_json(counts.guard_blocked_by_model);
  return j;
}

Json early_stop_json(const std::optional<EarlyStop>& stop) {
  if (!stop) return nullptr;
  return {{"model", stop->model},
          {"phase", stop->phase},
          {"attempts", stop->attempts},
          {"outcome", to_string(stop->outcome)},
          {"http_status", stop->http_status},
          {"error", stop->error}};
}

Json failures_json(const FailureSummary& failures) {
  Json models = Json::array();
  for (const ModelFailures& m : failures.models) {
    const double share =
        m.responses > 0 ? static_cast<double>(m.failed) / static_cast<double>(m.responses) : 0.0;
    models.push_back({{"model", m.model},
                      {"responses", m.responses},
                      {"failed", m.failed},
                      {"share", share},
                      {"high", m.high}});
  }
  Json kinds = Json::array();
  for (const FailureKind& k : failures.by_kind) {
    kinds.push_back({{"model", k.model},
                     {"outcome", to_string(k.outcome)},
                     {"http_status", k.http_status},
                     {"count", k.count},
                     {"example", k.example}});
  }
  Json j = Json::object();
  j["banner"] = failures.banner();
  j["high_share"] = kHighFailureShare;
  j["stopped_early"] = early_stop_json(failures.stopped_early);
  j["models"] = std::move(models);
  j["by_kind"] = std::move(kinds);
  return j;
}

}  // namespace

Json results_json(const RunData& data, const RunMetrics& metrics) {
  Json j = Json::object();
  j["schema_version"] = kResultsSchemaVersion;
  j["medsafe_version"] = MEDSAFE_VERSION;
  j["complete"] = metrics.completeness.complete;
  j["completeness"] = completeness_json(data.info, metrics.completeness);
  j["run"] = run_json(data.info, metrics.completeness);
  j["models"] = models_json(data.info);
  j["suites"] = suites_json(data);
  j["judges"] = judges_json(data.info);
  j["safety"] = safety_json(data.info, metrics.safety);
  j["over_refusal"] = over_refusal_json(metrics.over_refusal);
  j["tradeoff"] = tradeoff_json(metrics.tradeoff);
  j["latency"] = latency_json(metrics.latency);
  j["counts"] = run_counts_json(metrics.counts);
  j["verdict_flags"] = verdict_flags_json(data);
  j["calibration"] = calibration_json(data);
  Json uncalibrated = Json::array();
  for (const CalibrationRow& row : data.calibrations) {
    if (!row.calibrated) uncalibrated.push_back(row.judge);
  }
  j["uncalibrated_judges"] = std::move(uncalibrated);
  j["canaries"] = canaries_json(data);
  j["error_rates"] = error_rates_json(data);
  j["failures"] = failures_json(metrics.failures);
  return j;
}

void write_results_json(const RunData& data, const RunMetrics& metrics,
                        const std::filesystem::path& path) {
  // Replacing invalid UTF-8 rather than throwing: names come from files medsafe does not
  // control, and one bad byte must not lose the whole report.
  std::string text = results_json(data, metrics)
                         .dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  text.push_back('\n');
  write_file_atomically(path, text);
}

}  // namespace medsafe
