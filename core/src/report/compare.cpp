#include "report/compare.hpp"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <numeric>
#include <set>
#include <tuple>
#include <unordered_map>

#include "report/report_answers.hpp"

namespace medsafe {
namespace {

// The models of the safety table, then those that only answered benign (`comply`) items.
std::vector<std::string> models_of(const SafetyTable& table, const RunData& data) {
  std::vector<std::string> models;
  for (const SafetyCell& row : table.rows) {
    if (std::find(models.begin(), models.end(), row.model) == models.end())
      models.push_back(row.model);
  }
  const AnswerLookup lookup(data);
  for (const ResponseRow& r : data.responses) {
    if (!is_safety_phase(r.phase) ||
        std::find(models.begin(), models.end(), r.model) != models.end())
      continue;
    const ItemRow* item = lookup.item(r);
    const bool under_test =
        std::none_of(data.info.models.begin(), data.info.models.end(),
                     [&](const ModelInfo& m) { return m.name == r.model && !m.under_test; });
    if (item != nullptr && item->expect == kExpectComply && under_test) models.push_back(r.model);
  }
  return models;
}

/// Which model of a later run stands for which model of the baseline.
struct Pairing {
  std::map<std::string, std::string> to_baseline;  ///< later-run name → baseline name
  bool renamed = false;
};

Pairing pair_models(const std::vector<std::string>& baseline,
                    const std::vector<std::string>& later) {
  Pairing pairing;
  for (const std::string& m : later) {
    if (std::find(baseline.begin(), baseline.end(), m) != baseline.end())
      pairing.to_baseline[m] = m;
  }
  if (pairing.to_baseline.empty() && baseline.size() == 1 && later.size() == 1) {
    pairing.to_baseline[later.front()] = baseline.front();
    pairing.renamed = true;
  }
  return pairing;
}

/// Identifies one answer slot across runs.
using SlotKey = std::tuple<std::string, std::string, int>;  // suite, item id, sample

/// One run's answers of one model: each slot's valid primary score (if any) and category.
struct Slot {
  std::optional<int> score;
  std::string category;
};

std::map<SlotKey, Slot> slots_of(const RunData& data, std::string_view model) {
  const AnswerLookup lookup(data);
  const std::string& primary = data.info.primary_judge;
  std::map<SlotKey, Slot> slots;
  for (const ResponseRow& r : data.responses) {
    if (r.model != model || !is_safety_phase(r.phase)) continue;
    Slot slot;
    if (const ItemRow* item = lookup.item(r)) {
      // Benign items are compared by their over-refusal, never in the harm scores.
      if (item->expect == kExpectComply) continue;
      slot.category = item->category;
    }
    // The same rule as the metrics' `scored`: an ok answer with a valid primary score.
    if (r.outcome == Outcome::ok && !primary.empty()) {
      for (const VerdictRow* v : lookup.verdicts(r)) {
        if (v->judge == primary && v->status == VerdictStatus::ok && v->score && *v->score >= 1 &&
            *v->score <= 5) {
          slot.score = *v->score;
        }
      }
    }
    slots[{r.suite, r.item_id, r.sample}] = std::move(slot);
  }
  return slots;
}

/// One run's refusal decisions on one model's answers to benign (`comply`) items, by slot;
/// a slot without a decision (failed answer, no verdict) maps to nullopt.
std::map<SlotKey, std::optional<bool>> comply_slots_of(const RunData& data,
                                                       std::string_view model) {
  const AnswerLookup lookup(data);
  const RefusalSource source = refusal_source_of(data.info);
  const std::string& judge =
      source == RefusalSource::refusal_judge ? data.info.refusal_judge : data.info.primary_judge;
  std::map<SlotKey, std::optional<bool>> slots;
  for (const ResponseRow& r : data.responses) {
    if (r.model != model || !is_safety_phase(r.phase)) continue;
    const ItemRow* item = lookup.item(r);
    if (item == nullptr || item->expect != kExpectComply) continue;
    std::optional<bool> refused;
    if (r.outcome == Outcome::ok && source != RefusalSource::none) {
      for (const VerdictRow* v : lookup.verdicts(r)) {
        if (v->judge == judge) refused = refusal_decision(source, v);
      }
    }
    slots[{r.suite, r.item_id, r.sample}] = refused;
  }
  return slots;
}

std::vector<OverRefusalChangeRow> compare_over_refusal(const RunData& a_data, const RunData& b_data,
                                                       const std::string& model_a,
                                                       const std::string& model_b,
                                                       const CompareSettings& settings) {
  const auto slots_a = comply_slots_of(a_data, model_a);
  const auto slots_b = comply_slots_of(b_data, model_b);
  std::vector<std::string> suites;
  for (const auto& [key, refused] : slots_a) {
    if (std::find(suites.begin(), suites.end(), std::get<0>(key)) == suites.end())
      suites.push_back(std::get<0>(key));
  }
  std::vector<OverRefusalChangeRow> rows;
  for (const std::string& suite : suites) {
    OverRefusalChangeRow row;
    row.suite = suite;
    std::vector<double> a, b, differences;
    std::vector<std::int64_t> integer_differences;
    std::set<SlotKey> keys;
    for (const auto& [key, refused] : slots_a) keys.insert(key);
    for (const auto& [key, refused] : slots_b) keys.insert(key);
    for (const SlotKey& key : keys) {
      if (std::get<0>(key) != suite) continue;
      const auto ia = slots_a.find(key);
      const auto ib = slots_b.find(key);
      if (ia == slots_a.end() || ib == slots_b.end() || !ia->second || !ib->second) {
        ++row.unpaired;
        continue;
      }
      const std::int64_t va = *ia->second ? 1 : 0;
      const std::int64_t vb = *ib->second ? 1 : 0;
      a.push_back(static_cast<double>(va));
      b.push_back(static_cast<double>(vb));
      differences.push_back(static_cast<double>(vb - va));
      integer_differences.push_back(vb - va);
      row.increased += vb > va ? 1 : 0;
      row.decreased += vb < va ? 1 : 0;
    }
    row.pairs = static_cast<std::int64_t>(a.size());
    if (row.pairs > 0) {
      const auto seed = [&](std::string_view what) {
        return cell_seed(settings.seed, {model_a, model_b, suite, "over_refusal", what});
      };
      row.rate_a = {mean_of(a), bootstrap_mean(a, seed("baseline_rate"), settings.resamples)};
      row.rate_b = {mean_of(b), bootstrap_mean(b, seed("later_rate"), settings.resamples)};
      row.difference = {mean_of(differences),
                        bootstrap_mean(differences, seed("paired_bootstrap"), settings.resamples)};
      row.p_value =
          sign_flip_p_value(integer_differences, seed("sign_flip"), settings.permutations);
    }
    rows.push_back(std::move(row));
  }
  std::vector<double> p_values;
  std::vector<std::size_t> tested;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (!rows[i].p_value) continue;
    p_values.push_back(*rows[i].p_value);
    tested.push_back(i);
  }
  const std::vector<double> adjusted = holm_adjust(p_values);
  for (std::size_t t = 0; t < tested.size(); ++t) {
    OverRefusalChangeRow& row = rows[tested[t]];
    row.p_holm = adjusted[t];
    const double diff = row.difference.value.value_or(0.0);
    row.change = adjusted[t] <= settings.alpha && diff > 0.0   ? Change::worse
                 : adjusted[t] <= settings.alpha && diff < 0.0 ? Change::better
                                                               : Change::no_change;
  }
  return rows;
}

/// The pairs of one row while they are collected.
struct RowData {
  std::vector<std::int64_t> a, b;
  std::int64_t unpaired = 0;
};

// Rows of one suite: its principles as the baseline table orders them, then `all`.
std::vector<PairedRow> suite_rows(const SafetyTable& baseline, std::string_view model,
                                  std::string_view suite) {
  std::vector<PairedRow> rows;
  for (const SafetyCell& cell : baseline.rows) {
    if (cell.model != model || cell.suite != suite) continue;
    PairedRow row;
    row.suite = cell.suite;
    row.category = cell.category;
    row.category_name = cell.category_name;
    row.overall = cell.overall;
    rows.push_back(std::move(row));
  }
  return rows;
}

void finish_row(PairedRow& row, const RowData& data, const std::string& model_a,
                const std::string& model_b, const CompareSettings& settings) {
  row.pairs = static_cast<std::int64_t>(data.a.size());
  row.unpaired = data.unpaired;
  if (row.pairs == 0) return;
  std::vector<double> a, b, differences;
  std::vector<std::int64_t> integer_differences;
  for (std::size_t i = 0; i < data.a.size(); ++i) {
    const std::int64_t d = data.b[i] - data.a[i];
    a.push_back(static_cast<double>(data.a[i]));
    b.push_back(static_cast<double>(data.b[i]));
    differences.push_back(static_cast<double>(d));
    integer_differences.push_back(d);
    row.increased += d > 0 ? 1 : 0;
    row.decreased += d < 0 ? 1 : 0;
  }
  row.mean_a = mean_of(a);
  row.mean_b = mean_of(b);
  const auto seed = [&](std::string_view what) {
    return cell_seed(settings.seed, {model_a, model_b, row.suite, row.category, what});
  };
  // Resampling whole pairs keeps each item's two answers together: the interval of a paired
  // mean difference.
  row.difference = {mean_of(differences),
                    bootstrap_mean(differences, seed("paired_bootstrap"), settings.resamples)};
  row.p_value = sign_flip_p_value(integer_differences, seed("sign_flip"), settings.permutations);
}

PairedComparison compare_pair(const std::vector<CompareInput>& runs,
                              const std::vector<SafetyTable>& tables, std::size_t k,
                              const std::string& model_a, const std::string& model_b, bool renamed,
                              const CompareSettings& settings) {
  PairedComparison cmp;
  cmp.baseline = 0;
  cmp.run = k;
  cmp.model_a = model_a;
  cmp.model_b = model_b;
  cmp.renamed = renamed;
  const auto slots_a = slots_of(runs[0].data, model_a);
  const auto slots_b = slots_of(runs[k].data, model_b);

  std::vector<std::string> suites;
  for (const SafetyCell& cell : tables[0].rows) {
    if (cell.model == model_a &&
        std::find(suites.begin(), suites.end(), cell.suite) == suites.end())
      suites.push_back(cell.suite);
  }
  for (const std::string& suite : suites) {
    std::vector<PairedRow> rows = suite_rows(tables[0], model_a, suite);
    std::vector<RowData> data(rows.size());
    const auto add = [&](const std::string& category, auto&& fill) {
      for (std::size_t i = 0; i < rows.size(); ++i) {
        if (rows[i].overall || rows[i].category == category) fill(data[i]);
      }
    };
    std::set<SlotKey> keys;
    for (const auto& [key, slot] : slots_a) keys.insert(key);
    for (const auto& [key, slot] : slots_b) keys.insert(key);
    for (const SlotKey& key : keys) {
      if (std::get<0>(key) != suite) continue;
      const auto ia = slots_a.find(key);
      const auto ib = slots_b.find(key);
      const Slot* a = ia == slots_a.end() ? nullptr : &ia->second;
      const Slot* b = ib == slots_b.end() ? nullptr : &ib->second;
      const std::string& category = a != nullptr ? a->category : b->category;
      if (a != nullptr && b != nullptr && a->score && b->score) {
        add(category, [&](RowData& d) {
          d.a.push_back(*a->score);
          d.b.push_back(*b->score);
        });
      } else {
        add(category, [](RowData& d) { ++d.unpaired; });
      }
    }
    for (std::size_t i = 0; i < rows.size(); ++i) {
      finish_row(rows[i], data[i], model_a, model_b, settings);
      cmp.rows.push_back(std::move(rows[i]));
    }
  }

  std::vector<double> p_values;
  std::vector<std::size_t> tested;
  for (std::size_t i = 0; i < cmp.rows.size(); ++i) {
    if (!cmp.rows[i].p_value) continue;
    p_values.push_back(*cmp.rows[i].p_value);
    tested.push_back(i);
  }
  const std::vector<double> adjusted = holm_adjust(p_values);
  for (std::size_t t = 0; t < tested.size(); ++t) {
    PairedRow& row = cmp.rows[tested[t]];
    row.p_holm = adjusted[t];
    const double diff = row.difference.value.value_or(0.0);
    if (adjusted[t] <= settings.alpha && diff > 0.0) {
      row.change = Change::worse;
    } else if (adjusted[t] <= settings.alpha && diff < 0.0) {
      row.change = Change::better;
    } else {
      row.change = Change::no_change;
    }
  }
  return cmp;
}

void add_side_by_side(Comparison& out, const SafetyTable& table, std::size_t k,
                      std::size_t run_count, const Pairing* pairing) {
  for (const SafetyCell& cell : table.rows) {
    std::string model = cell.model;
    if (pairing != nullptr) {
      const auto it = pairing->to_baseline.find(cell.model);
      if (it != pairing->to_baseline.end()) model = it->second;
    }
    auto row =
        std::find_if(out.side_by_side.begin(), out.side_by_side.end(), [&](const SideBySideRow& r) {
          return r.model == model && r.suite == cell.suite && r.category == cell.category;
        });
    if (row == out.side_by_side.end()) {
      SideBySideRow fresh;
      fresh.model = model;
      fresh.suite = cell.suite;
      fresh.category = cell.category;
      fresh.category_name = cell.category_name;
      fresh.overall = cell.overall;
      fresh.cells.resize(run_count);
      row = out.side_by_side.insert(out.side_by_side.end(), std::move(fresh));
    }
    row->cells[k] = cell;
  }
}

// Keeps each model's rows together (in the order models first appear) after later runs
// appended rows for principles or models the baseline lacks.
void group_side_by_side(Comparison& out) {
  std::vector<std::string> models;
  std::vector<std::string> suites;
  for (const SideBySideRow& row : out.side_by_side) {
    if (std::find(models.begin(), models.end(), row.model) == models.end())
      models.push_back(row.model);
    if (std::find(suites.begin(), suites.end(), row.suite) == suites.end())
      suites.push_back(row.suite);
  }
  const auto rank = [&](const SideBySideRow& r) {
    return std::make_tuple(std::find(models.begin(), models.end(), r.model) - models.begin(),
                           std::find(suites.begin(), suites.end(), r.suite) - suites.begin(),
                           r.overall);
  };
  std::stable_sort(
      out.side_by_side.begin(), out.side_by_side.end(),
      [&](const SideBySideRow& a, const SideBySideRow& b) { return rank(a) < rank(b); });
}

// Each run's trade-off points (its own seed and figures), joined per baseline model along the
// pairings: the baseline's point, then the paired model's point in each later run.
std::vector<TradeoffChangeRow> tradeoff_rows(const std::vector<CompareInput>& runs,
                                             const std::vector<SafetyTable>& tables,
                                             const std::vector<PairedComparison>& paired,
                                             int resamples) {
  std::vector<std::vector<TradeoffRow>> points;
  for (std::size_t k = 0; k < runs.size(); ++k) {
    points.push_back(compute_tradeoff(tables[k], compute_over_refusal(runs[k].data, resamples),
                                      runs[k].data.info.seed, resamples));
  }
  const auto point_of = [&](std::size_t k, const std::string& model) -> const TradeoffRow* {
    for (const TradeoffRow& row : points[k]) {
      if (row.model == model) return &row;
    }
    return nullptr;
  };
  const auto change = [](const Estimate& before, const Estimate& after) -> std::optional<double> {
    if (!before.value || !after.value) return std::nullopt;
    return *after.value - *before.value;
  };
  std::vector<TradeoffChangeRow> rows;
  std::vector<std::string> models;
  for (const PairedComparison& p : paired) {
    if (std::find(models.begin(), models.end(), p.model_a) == models.end())
      models.push_back(p.model_a);
  }
  for (const std::string& model : models) {
    const TradeoffRow* before = point_of(0, model);
    if (before == nullptr) continue;
    rows.push_back({model, model, 0, *before, std::nullopt, std::nullopt});
    for (const PairedComparison& p : paired) {
      if (p.model_a != model) continue;
      const TradeoffRow* after = point_of(p.run, p.model_b);
      if (after == nullptr) continue;
      rows.push_back({model, p.model_b, p.run, *after,
                      change(before->harmful_rate, after->harmful_rate),
                      change(before->over_refusal_rate, after->over_refusal_rate)});
    }
  }
  return rows;
}

}  // namespace

std::string_view to_string(Change change) noexcept {
  switch (change) {
    case Change::worse:
      return "worse";
    case Change::better:
      return "better";
    case Change::no_change:
      return "no significant change";
    case Change::untested:
      return "untested";
  }
  return "untested";
}

double sign_flip_p_value(const std::vector<std::int64_t>& differences, std::uint64_t seed,
                         int permutations, int exact_limit) {
  std::vector<std::int64_t> magnitudes;
  std::int64_t observed = 0;
  for (const std::int64_t d : differences) {
    observed += d;
    if (d != 0) magnitudes.push_back(std::llabs(d));
  }
  observed = std::llabs(observed);
  if (magnitudes.empty()) return 1.0;
  const std::size_t n = magnitudes.size();
  if (n <= static_cast<std::size_t>(std::clamp(exact_limit, 0, 30))) {
    const std::uint64_t total = std::uint64_t{1} << n;
    std::uint64_t hits = 0;
    for (std::uint64_t mask = 0; mask < total; ++mask) {
      std::int64_t sum = 0;
      for (std::size_t i = 0; i < n; ++i)
        sum += ((mask >> i) & 1U) != 0 ? -magnitudes[i] : magnitudes[i];
      hits += std::llabs(sum) >= observed ? 1U : 0U;
    }
    return static_cast<double>(hits) / static_cast<double>(total);
  }
  Xoshiro256 rng(seed);
  std::int64_t hits = 0;
  const int draws = std::max(permutations, 1);
  for (int r = 0; r < draws; ++r) {
    std::int64_t sum = 0;
    std::uint64_t bits = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (i % 64 == 0) bits = rng.next();
      sum += (bits & 1U) != 0 ? magnitudes[i] : -magnitudes[i];
      bits >>= 1;
    }
    hits += std::llabs(sum) >= observed ? 1 : 0;
  }
  return static_cast<double>(1 + hits) / static_cast<double>(1 + draws);
}

std::vector<double> holm_adjust(const std::vector<double>& p_values) {
  const std::size_t m = p_values.size();
  std::vector<std::size_t> order(m);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return p_values[a] < p_values[b]; });
  std::vector<double> adjusted(m);
  double running = 0.0;
  for (std::size_t rank = 0; rank < m; ++rank) {
    const double scaled = std::min(1.0, static_cast<double>(m - rank) * p_values[order[rank]]);
    running = std::max(running, scaled);
    adjusted[order[rank]] = running;
  }
  return adjusted;
}

Comparison compare_runs(const std::vector<CompareInput>& runs, const CompareSettings& settings) {
  Comparison out;
  out.settings = settings;
  std::vector<SafetyTable> tables;
  for (const CompareInput& run : runs) {
    out.labels.push_back(run.label);
    out.runs.push_back(run.data.info);
    tables.push_back(compute_safety(run.data, settings.resamples));
  }
  if (runs.empty()) return out;
  const std::vector<std::string> baseline_models = models_of(tables[0], runs[0].data);
  add_side_by_side(out, tables[0], 0, runs.size(), nullptr);
  for (std::size_t k = 1; k < runs.size(); ++k) {
    const Pairing pairing = pair_models(baseline_models, models_of(tables[k], runs[k].data));
    add_side_by_side(out, tables[k], k, runs.size(), &pairing);
    if (pairing.to_baseline.empty()) {
      out.notes.push_back("No model of " + out.labels[k] + " matches a model of " + out.labels[0] +
                          " by name, and they do not have exactly one model under test each: "
                          "no paired comparison.");
    }
    for (const auto& [model_b, model_a] : pairing.to_baseline) {
      if (pairing.renamed) {
        out.notes.push_back("Model '" + model_b + "' of " + out.labels[k] + " is compared with '" +
                            model_a + "' of " + out.labels[0] +
                            " although their names differ: each run has one model under test.");
      }
      out.paired.push_back(
          compare_pair(runs, tables, k, model_a, model_b, pairing.renamed, settings));
      out.paired.back().over_refusal =
          compare_over_refusal(runs[0].data, runs[k].data, model_a, model_b, settings);
      for (const PairedRow& row : out.paired.back().rows) {
        if (row.overall && row.unpaired > 0) {
          out.notes.push_back(std::to_string(row.unpaired) + " answer slot(s) of suite '" +
                              row.suite + "' were not scored in both " + out.labels[0] + " ('" +
                              model_a + "') and " + out.labels[k] + " ('" + model_b +
                              "'): they are left out of the paired test.");
        }
      }
    }
  }
  group_side_by_side(out);
  out.tradeoff = tradeoff_rows(runs, tables, out.paired, settings.resamples);
  return out;
}

bool any_worse(const Comparison& comparison, const std::vector<std::string>& gate) {
  for (const PairedComparison& cmp : comparison.paired) {
    for (const PairedRow& row : cmp.rows) {
      if (row.change != Change::worse) continue;
      if (gate.empty() || std::find(gate.begin(), gate.end(), row.category) != gate.end())
        return true;
    }
    const bool gated = gate.empty() || std::find(gate.begin(), gate.end(),
                                                 std::string(kOverRefusalGate)) != gate.end();
    for (const OverRefusalChangeRow& row : cmp.over_refusal) {
      if (gated && row.change == Change::worse) return true;
    }
  }
  return false;
}

}  // namespace medsafe
