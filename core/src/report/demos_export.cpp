#include "report/demos_export.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "engine/store/store.hpp"
#include "medsafe/error.hpp"
#include "medsafe/stable_hash.hpp"
#include "medsafe/version.hpp"
#include "report/report_io.hpp"

namespace medsafe {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kManifestVersion = 1;
constexpr std::size_t kExamples = 3;

bool blank(std::string_view text) { return text.find_first_not_of(" \t\r\n") == text.npos; }

std::string text_hash(std::string_view text) { return hex16(mix64(stable_hash(text))); }

std::string policy_name(LeakPolicy policy) {
  switch (policy) {
    case LeakPolicy::refuse:
      return "refuse";
    case LeakPolicy::drop:
      return "drop";
    case LeakPolicy::allow:
      return "allow";
  }
  return "refuse";
}

// Where a suite's item is, for a person to find it: its data file and, for a table without an
// id column, its data row (the id then is that row's number).
std::string item_location(const SuiteSlot& suite, const std::string& run_file,
                          const PromptItem& item) {
  std::string where = run_file + ": suite '" + suite.spec->name + "'";
  if (suite.config.has("path") && !suite.config.path("path").empty()) {
    where += " (" + suite.config.path("path").string() + ")";
  }
  const bool numbered = suite.spec->plugin == "table" && suite.config.has("id_column") &&
                        suite.config.string("id_column").empty();
  return where + (numbered ? ", data row " + item.id : ", item '" + item.id + "'");
}

std::string shorten(std::string_view text, std::size_t most = 90) {
  if (text.size() <= most) return std::string(text);
  std::size_t cut = most;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0U) == 0x80U) --cut;
  return std::string(text.substr(0, cut)) + "...";
}

struct Candidate {
  Demonstration demo;
  std::string source;
  std::string kind;
  std::string role;  ///< "primary" or "mix"
  std::optional<LeakageMatch> leak;
  std::string split;
  bool exported = true;  ///< false: leaked and dropped
};

json leak_json(const Candidate& c, const LeakageIndex& index) {
  const LeakageTarget& target = index.targets()[c.leak->target];
  return {{"kind", c.leak->exact ? "exact" : "near"},
          {"similarity", std::round(c.leak->similarity * 10000) / 10000},
          {"demonstration",
           {{"id", c.demo.id},
            {"source", c.source},
            {"item_id", c.demo.item_id},
            {"where", c.demo.where},
            {"prompt", c.demo.prompt}}},
          {"evaluation",
           {{"source", target.source},
            {"suite", target.suite},
            {"item_id", target.item_id},
            {"prompt", target.prompt}}}};
}

std::string example_line(const Candidate& c, const LeakageIndex& index) {
  const LeakageTarget& target = index.targets()[c.leak->target];
  std::string similarity = format_fixed(c.leak->similarity, 2);
  return std::string(c.leak->exact ? "exact" : "near (Jaccard " + similarity + ")") + ": " +
         c.demo.where + " \"" + shorten(c.demo.prompt) + "\" ~ suite '" + target.suite +
         "' item '" + target.item_id + "' \"" + shorten(target.prompt) + "\"";
}

json record_json(const Candidate& c, const LeakageIndex* index) {
  json line = {{"id", c.demo.id},
               {"split", c.split},
               {"source", c.source},
               {"kind", c.kind},
               {"role", c.role},
               {"item_id", c.demo.item_id},
               {"category", c.demo.category},
               {"prompt", c.demo.prompt},
               {"answer", c.demo.answer},
               {"prompt_hash", text_hash(c.demo.prompt)},
               {"answer_hash", text_hash(c.demo.answer)},
               {"provenance", c.demo.provenance}};
  if (c.leak && index != nullptr) line["leak"] = leak_json(c, *index);
  return line;
}

std::string dump(const json& value, int indent = -1) {
  return value.dump(indent, ' ', false, json::error_handler_t::replace);
}

}  // namespace

double unit_hash(std::uint64_t seed, std::string_view purpose, std::string_view text) {
  std::uint64_t hash = fnv1a(kFnv1aBasis, std::to_string(seed));
  hash = fnv1a(fnv1a(fnv1a(hash, ":"), purpose), ":");
  hash = mix64(fnv1a(hash, text));
  return static_cast<double>(hash >> 11U) * 0x1.0p-53;
}

DemoSource suite_demonstrations(const SuiteSlot& suite, const std::string& run_file,
                                bool skip_empty) {
  DemoSource source;
  source.name = suite.spec->name;
  source.kind = "suite";
  for (const PromptItem& item : suite.items) {
    if (blank(item.reference)) {
      if (skip_empty) {
        ++source.skipped_empty;
        continue;
      }
      throw Error(ErrorKind::data,
                  item_location(suite, run_file, item) +
                      ": error: the reference answer is empty, so the item is no demonstration "
                      "(use --skip-empty to leave such items out, counted)");
    }
    Demonstration d;
    d.id = suite.spec->name + "/" + item.id;
    d.item_id = item.id;
    d.category = item.category;
    d.prompt = item.prompt;
    d.answer = item.reference;
    d.where = item_location(suite, run_file, item);
    d.provenance = {{"kind", "reference"},
                    {"run_file", run_file},
                    {"suite", suite.spec->name},
                    {"plugin", suite.spec->plugin},
                    {"suite_fingerprint", text_hash(suite.spec->fingerprint)}};
    for (const auto& [key, value] : item.fields) d.provenance["fields"][key] = value;
    source.demos.push_back(std::move(d));
  }
  return source;
}

DemoSource file_demonstrations(const fs::path& file, DemoFormat format, bool skip_empty) {
  DemoSource source;
  source.name = file.string();
  source.kind = "file";
  std::vector<DemoPair> pairs = read_demo_file(file, format, skip_empty, &source.skipped_empty);
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    Demonstration d;
    // Files' own ids may repeat or be absent: the position is what is sure to be unique.
    d.item_id = pairs[i].id.empty() ? std::to_string(i + 1) : pairs[i].id;
    d.id = file.filename().string() + "/" + std::to_string(i + 1);
    d.prompt = std::move(pairs[i].prompt);
    d.answer = std::move(pairs[i].answer);
    d.where = pairs[i].where;
    d.provenance = {{"kind", "file"}, {"file", file.string()}, {"format", to_string(format)}};
    source.demos.push_back(std::move(d));
  }
  return source;
}

std::vector<LeakageTarget> leakage_targets(Assembly& evaluation,
                                           const std::vector<std::string>& skip) {
  std::vector<LeakageTarget> targets;
  const std::string file = evaluation.run().file.string();
  for (const SuiteSlot& suite : evaluation.suites()) {
    if (!suite.spec->safety) continue;
    if (std::find(skip.begin(), skip.end(), suite.spec->name) != skip.end()) continue;
    for (const PromptItem& item : suite.items) {
      targets.push_back(
          {file + ": suite '" + suite.spec->name + "'", suite.spec->name, item.id, item.prompt});
    }
  }
  return targets;
}

ExportSummary export_demonstrations(std::vector<DemoSource> primary, std::vector<MixedSource> mixes,
                                    const LeakageIndex* index, const ExportSettings& settings) {
  ExportSummary summary;
  json sources = json::array();
  std::vector<Candidate> considered;  // every candidate, leaked ones dropped included
  std::map<std::string, int> ids;     // two sources may name items alike (two generated folders)
  auto consider = [&](Demonstration&& d, const DemoSource& source, const char* role) {
    if (const int seen = ids[d.id]++; seen > 0) d.id += "~" + std::to_string(seen + 1);
    Candidate c{std::move(d), source.name, source.kind, role, std::nullopt, "", true};
    if (index != nullptr) c.leak = index->find(c.demo.prompt);
    c.exported = !(c.leak && settings.leaked == LeakPolicy::drop);
    considered.push_back(std::move(c));
    return considered.back().exported;
  };

  std::size_t primary_kept = 0;
  for (DemoSource& source : primary) {
    std::size_t kept = 0;
    const std::size_t available = source.demos.size();
    for (Demonstration& d : source.demos) kept += consider(std::move(d), source, "primary") ? 1 : 0;
    primary_kept += kept;
    sources.push_back({{"name", source.name},
                       {"kind", source.kind},
                       {"role", "primary"},
                       {"available", available},
                       {"taken", kept},
                       {"skipped_empty", source.skipped_empty}});
  }

  // A mix ratio is relative to the primary demonstrations that are exported: --mix benign=0.5
  // adds half as many benign examples as there are safety demonstrations. Each source's sample
  // is its demonstrations of lowest seeded hash, so adding rows to it changes few choices.
  for (MixedSource& mix : mixes) {
    const auto wanted =
        static_cast<std::size_t>(std::llround(mix.ratio * static_cast<double>(primary_kept)));
    std::vector<std::pair<double, std::size_t>> order;
    for (std::size_t i = 0; i < mix.source.demos.size(); ++i) {
      order.emplace_back(unit_hash(settings.seed, "mix", mix.source.demos[i].id), i);
    }
    std::sort(order.begin(), order.end());
    std::size_t taken = 0;
    std::size_t leaked_out = 0;
    for (const auto& [rank, i] : order) {
      if (taken == wanted) break;
      if (consider(std::move(mix.source.demos[i]), mix.source, "mix")) {
        ++taken;
      } else {
        ++leaked_out;
      }
    }
    if (taken < wanted) {
      summary.notes.push_back("mix '" + mix.source.name + "' asked for " + std::to_string(wanted) +
                              " demonstrations (" + format_fixed(mix.ratio, 2) + " x " +
                              std::to_string(primary_kept) + ") but has " +
                              std::to_string(order.size() - leaked_out) + ": all are taken");
    }
    sources.push_back({{"name", mix.source.name},
                       {"kind", mix.source.kind},
                       {"role", "mix"},
                       {"ratio", mix.ratio},
                       {"available", order.size()},
                       {"requested", wanted},
                       {"taken", taken},
                       {"skipped_empty", mix.source.skipped_empty}});
  }

  fs::create_directories(settings.out);
  json leakage = nullptr;
  if (index == nullptr) {
    // An earlier export's report in the folder would be read as this one's.
    std::error_code ignored;
    fs::remove(settings.out / "leakage.json", ignored);
  } else {
    json hits = json::array();
    for (const Candidate& c : considered) {
      if (!c.leak) continue;
      ++(c.leak->exact ? summary.exact_leaks : summary.near_leaks);
      summary.dropped_leaks += c.exported ? 0 : 1;
      hits.push_back(leak_json(c, *index));
      hits.back()["exported"] = c.exported && settings.leaked == LeakPolicy::allow;
      if (summary.examples.size() < kExamples) summary.examples.push_back(example_line(c, *index));
    }
    leakage = {{"schema_version", kManifestVersion},
               {"against", settings.against},
               {"normalisation",
                "ASCII letters lower-cased; every run of other ASCII characters is one space"},
               {"shingle_words", index->shingle_width()},
               {"near_threshold", index->threshold()},
               {"policy", policy_name(settings.leaked)},
               {"evaluation_prompts", index->targets().size()},
               {"checked", considered.size()},
               {"exact", summary.exact_leaks},
               {"near", summary.near_leaks},
               {"dropped", summary.dropped_leaks},
               {"hits", std::move(hits)}};
    const fs::path report = settings.out / "leakage.json";
    write_file_atomically(report, dump(leakage, 2) + "\n");
    summary.files.push_back(report);
    const std::size_t leaks = summary.exact_leaks + summary.near_leaks;
    if (leaks > 0 && settings.leaked == LeakPolicy::refuse) {
      std::string examples;
      for (const std::string& e : summary.examples) examples += "\n  " + e;
      throw Error(ErrorKind::data,
                  "leakage: " + std::to_string(leaks) + " of " + std::to_string(considered.size()) +
                      " demonstrations match evaluation prompts (" +
                      std::to_string(summary.exact_leaks) + " exact, " +
                      std::to_string(summary.near_leaks) +
                      " near-duplicates with Jaccard >= " + format_fixed(index->threshold(), 2) +
                      " on word " + std::to_string(index->shingle_width()) +
                      "-shingles); nothing was exported. Every pair is in " + report.string() +
                      ". Use --drop-leaked to export without them, or --allow-leaked to export "
                      "them anyway. For example:" +
                      examples);
    }
  }

  // The split follows the normalised request, so copies of one request never straddle train
  // and validation; adding rows moves no other row.
  std::vector<Candidate*> out;
  std::set<std::string> prompts;
  std::size_t repeated = 0;
  for (Candidate& c : considered) {
    if (!c.exported) continue;
    const std::string key = normalize_for_matching(c.demo.prompt);
    repeated += prompts.insert(key).second ? 0 : 1;
    c.split = unit_hash(settings.seed, "val", key) < settings.val ? "val" : "train";
    out.push_back(&c);
  }
  // A seeded order interleaves the sources for trainers that do not shuffle.
  std::stable_sort(out.begin(), out.end(), [&settings](const Candidate* a, const Candidate* b) {
    return unit_hash(settings.seed, "order", a->demo.id) <
           unit_hash(settings.seed, "order", b->demo.id);
  });

  std::map<std::string, std::vector<DemoPair>> splits{{"train", {}}};
  if (settings.val > 0) splits["val"];
  std::string records;
  for (const Candidate* c : out) {
    splits[c->split].push_back({c->demo.id, c->demo.prompt, c->demo.answer});
    records += dump(record_json(*c, index)) + "\n";
  }
  summary.train = splits["train"].size();
  summary.val = settings.val > 0 ? splits["val"].size() : 0;
  json files = json::array();
  for (const auto& [split, pairs] : splits) {
    for (const DemoFormat format : settings.formats) {
      const fs::path file = settings.out / (split + std::string(demo_file_suffix(format)));
      write_file_atomically(file, render_demos(format, pairs));
      summary.files.push_back(file);
      files.push_back(file.filename().string());
    }
  }
  // Files of an earlier export in the same folder that this one does not write would be taken
  // for part of it.
  for (const std::string split : {"train", "val"}) {
    for (const DemoFormat format : kDemoFormats) {
      const fs::path file = settings.out / (split + std::string(demo_file_suffix(format)));
      if (std::find(summary.files.begin(), summary.files.end(), file) == summary.files.end()) {
        std::error_code ignored;
        fs::remove(file, ignored);
      }
    }
  }
  const fs::path record_file = settings.out / "demonstrations.jsonl";
  write_file_atomically(record_file, records);
  summary.files.push_back(record_file);

  json formats = json::array();
  for (const DemoFormat format : settings.formats) formats.push_back(to_string(format));
  summary.manifest = {
      {"schema_version", kManifestVersion},
      {"medsafe_version", MEDSAFE_VERSION},
      {"created_at", utc_now()},
      {"seed", settings.seed},
      {"val", settings.val},
      {"formats", std::move(formats)},
      {"sources", std::move(sources)},
      {"splits", {{"train", summary.train}, {"val", summary.val}}},
      {"repeated_prompts", repeated},
      {"leakage", index == nullptr ? json{{"checked", false}}
                                   : json{{"checked", true},
                                          {"exact", summary.exact_leaks},
                                          {"near", summary.near_leaks},
                                          {"dropped", summary.dropped_leaks},
                                          {"policy", policy_name(settings.leaked)},
                                          {"report", "leakage.json"}}},
      {"notes", summary.notes},
      {"files", std::move(files)},
  };
  const fs::path manifest = settings.out / "export.json";
  write_file_atomically(manifest, dump(summary.manifest, 2) + "\n");
  summary.files.push_back(manifest);
  return summary;
}

}  // namespace medsafe
