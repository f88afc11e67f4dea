#include "engine/plugin/run_file.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <utility>

#include "engine/plugin/key_spec.hpp"
#include "engine/run/flow_control.hpp"
#include "medsafe/error.hpp"

namespace medsafe {
namespace {

namespace fs = std::filesystem;

std::shared_ptr<const toml::node> empty_array() { return std::make_shared<toml::array>(); }

// Moves every leaf of `from` into `into`, creating tables on the way and replacing leaves.
// Moves, not copies: a toml++ copy forgets where its node came from.
void merge(toml::table& into, toml::table& from) {
  for (auto&& [key, node] : from) {
    if (toml::table* sub = node.as_table()) {
      toml::node* existing = into.get(key.str());
      if (existing != nullptr && existing->is_table()) {
        merge(*existing->as_table(), *sub);
        continue;
      }
    }
    into.insert_or_assign(key, std::move(node));
  }
}

// The components whose plugin a --set changed: (section, name) -> the plugin the file named.
using ReplacedPlugins = std::map<std::pair<std::string, std::string>, std::string>;

constexpr std::string_view kComponentSections[] = {"models", "suites", "judges"};

// The parts of a dotted TOML key ("models.\"gpt-4.1\".headers" -> models, gpt-4.1, headers).
std::vector<std::string> key_parts(const std::string& key, std::string_view option) {
  toml::table parsed;
  try {
    parsed = toml::parse(std::string_view(key + " = 0"),
                         std::string_view(std::string(option) + " " + key));
  } catch (const toml::parse_error& e) {
    throw Error(ErrorKind::usage, std::string(option) + " '" + key +
                                      "': not a key, e.g. models.target.itl_ms (" +
                                      std::string(e.description()) + ")");
  }
  std::vector<std::string> parts;
  for (const toml::table* table = &parsed; table != nullptr && table->size() == 1;) {
    const toml::table* inner = nullptr;
    for (const auto& [name, node] : *table) {
      parts.emplace_back(name.str());
      inner = node.as_table();
    }
    table = inner;
  }
  return parts;
}

// Removes `key` from the run file; a key it does not have is an error, as a typo in --set is.
void apply_unset(toml::table& root, const std::string& key) {
  const std::vector<std::string> parts = key_parts(key, "--unset");
  toml::table* table = &root;
  for (std::size_t i = 0; table != nullptr && i + 1 < parts.size(); ++i) {
    toml::node* next = table->get(parts[i]);
    table = next == nullptr ? nullptr : next->as_table();
  }
  if (table == nullptr || parts.empty() || !table->contains(parts.back())) {
    throw Error(ErrorKind::usage, "--unset '" + key + "': the run file has no such key");
  }
  table->erase(parts.back());
}

// Notes in `replaced` when `parsed` (one --set) gives a component another plugin than `root`
// has, keeping the plugin the file named when several --set change it.
void note_plugin_change(const toml::table& root, const toml::table& parsed,
                        ReplacedPlugins& replaced) {
  for (const std::string_view section : kComponentSections) {
    const toml::table* components = parsed[section].as_table();
    if (components == nullptr) continue;
    for (const auto& [name, node] : *components) {
      const std::optional<std::string> plugin =
          node.as_table() != nullptr ? (*node.as_table())["plugin"].value<std::string>()
                                     : std::nullopt;
      const std::optional<std::string> before =
          root[section][name.str()]["plugin"].value<std::string>();
      if (!plugin || !before) continue;
      const auto key = std::make_pair(std::string(section), std::string(name.str()));
      const auto found = replaced.find(key);
      const std::string original = found != replaced.end() ? found->second : *before;
      if (*plugin == original) {
        replaced.erase(key);
      } else {
        replaced[key] = original;
      }
    }
  }
}

void apply_override(toml::table& root, const std::string& assignment, ReplacedPlugins& replaced) {
  const std::size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw Error(ErrorKind::usage, "--set '" + assignment +
                                      "': expected KEY=VALUE, e.g. "
                                      "models.target.temperature=0.7");
  }
  const std::string key = assignment.substr(0, eq);
  const std::string raw = assignment.substr(eq + 1);
  const std::string source = "--set " + key;
  toml::table parsed;
  try {
    parsed = toml::parse(std::string_view(key + " = " + raw), std::string_view(source));
  } catch (const toml::parse_error&) {
    // Not a TOML value: take the text as a string, the common case (--set models.x.model=foo).
    std::string quoted = "\"";
    for (const char c : raw) {
      if (c == '"' || c == '\\') quoted += '\\';
      quoted += c;
    }
    quoted += '"';
    try {
      parsed = toml::parse(std::string_view(key + " = " + quoted), std::string_view(source));
    } catch (const toml::parse_error& e) {
      throw Error(ErrorKind::usage, "--set '" + key + "': " + std::string(e.description()));
    }
  }
  note_plugin_change(root, parsed, replaced);
  merge(root, parsed);
}

// Calls `each(name, table)` for the tables [SECTION.NAME] of `section` in file order
// (toml::table is sorted by key; people expect their own order), --set additions last. Each NAME
// is checked to be a table just before its call, so errors come in file order; `needs` ends that
// message, `example` is a NAME for the message when the section itself is not a table.
template <typename Each>
void for_each_named_table(const toml::table& root, const std::string& section,
                          std::string_view example, std::string_view needs, Each each) {
  const toml::node* node = root.get(section);
  if (node == nullptr) return;
  const toml::table* table = node->as_table();
  if (table == nullptr) {
    throw located_error(ErrorKind::config, location_of(*node),
                        "'" + section + "' must be a table of named tables, e.g. [" + section +
                            "." + std::string(example) + "]");
  }
  std::vector<std::pair<std::string, const toml::node*>> entries;
  for (const auto& [key, child] : *table) entries.emplace_back(std::string(key.str()), &child);
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    const auto& sa = a.second->source().begin;
    const auto& sb = b.second->source().begin;
    const auto la = sa.line == 0 ? UINT32_MAX : sa.line;  // --set additions go last
    const auto lb = sb.line == 0 ? UINT32_MAX : sb.line;
    return la != lb ? la < lb : sa.column < sb.column;
  });
  for (const auto& [name, child] : entries) {
    if (!child->is_table()) {
      throw located_error(ErrorKind::config, location_of(*child),
                          "'" + section + "." + name + "' must be a table ([" + section + "." +
                              name + "])" + std::string(needs));
    }
    each(name, *child->as_table());
  }
}

// Whether `specs` (the run's models, suites or judges) has one named `name`.
template <typename Specs>
bool has_named(const Specs& specs, const std::string& name) {
  return std::any_of(specs.begin(), specs.end(), [&name](const auto& s) { return s.name == name; });
}

// Core keys (concurrency, ...) change how a run is driven, not what a model answers: they are
// left out.
std::string fingerprint_of(const toml::table& component, const ConfigSchema& core_schema,
                           const std::string& plugin) {
  toml::table plugin_keys = component;
  for (const KeySpec& key : core_schema.keys) plugin_keys.erase(key.name);
  plugin_keys.insert_or_assign("plugin", plugin);
  return toml_to_json(plugin_keys);
}

const ConfigSchema& core_schema_of(const ComponentSpec& spec) {
  if (spec.section == "models") return model_core_schema();
  if (spec.section == "suites") return suite_core_schema();
  return judge_core_schema();
}

std::vector<ComponentSpec> read_section(const std::shared_ptr<toml::table>& root,
                                        const std::string& section, const ConfigSchema& core_schema,
                                        const fs::path& dir, const ReplacedPlugins& replaced) {
  std::vector<ComponentSpec> specs;
  auto read_component = [&](const std::string& name, const toml::table& component) {
    ComponentSpec spec;
    spec.section = section;
    spec.name = name;
    spec.table = std::shared_ptr<const toml::table>(root, &component);
    spec.where = location_of(component);
    // Only the core keys here; the plugin's keys are checked against its manifest later, so the
    // plugin's schema stands in as "anything" for now.
    ConfigSchema everything_else;
    for (const auto& [key, ignored] : component) {
      if (core_schema.find(key.str()) == nullptr) {
        everything_else.keys.push_back(make_key(std::string(key.str()), ValueType::string, ""));
      }
    }
    spec.core = Config::validate(spec.owner(), component, core_schema, dir, &everything_else);
    spec.plugin = spec.core.string("plugin");
    spec.fingerprint = fingerprint_of(component, core_schema, spec.plugin);
    if (const auto found = replaced.find({section, name}); found != replaced.end()) {
      spec.replaced_plugin = found->second;
    }
    specs.push_back(std::move(spec));
  };
  for_each_named_table(*root, section, "main", " with at least 'plugin = \"...\"'", read_component);
  return specs;
}

// The section's specs as `Spec`s, each given its typed core keys by `read` (which throws a
// located Error for a bad value).
template <typename Spec, typename Read>
std::vector<Spec> typed(std::vector<ComponentSpec> specs, Read read) {
  std::vector<Spec> out;
  out.reserve(specs.size());
  for (ComponentSpec& spec : specs) {
    Spec typed_spec;
    static_cast<ComponentSpec&>(typed_spec) = std::move(spec);
    read(typed_spec);
    out.push_back(std::move(typed_spec));
  }
  return out;
}

// Why `name` cannot name a folder under runs/ ("" when it can): the default run directory must
// stay inside it. --out and [run] out may point anywhere: they say so explicitly.
std::string unsafe_run_name(const std::string& name) {
  if (name == "." || name == "..") {
    return "must not be '" + name +
           "': the run directory is runs/<name> (use [run] out or --out for another place)";
  }
  if (name.find_first_of("/\\") != std::string::npos) {
    return "must be a plain name, not a path (it holds '/' or '\\'), got \"" + name +
           "\": the run directory is runs/<name> (use [run] out or --out for another place)";
  }
  return {};
}

void check_unique_names(const RunFile& run) {
  std::vector<std::pair<std::string, const ComponentSpec*>> all;
  for (const ComponentSpec& spec : run.models) all.emplace_back(spec.name, &spec);
  for (const ComponentSpec& spec : run.suites) all.emplace_back(spec.name, &spec);
  for (const ComponentSpec& spec : run.judges) all.emplace_back(spec.name, &spec);
  for (std::size_t i = 0; i < all.size(); ++i) {
    for (std::size_t j = i + 1; j < all.size(); ++j) {
      if (all[i].first == all[j].first && all[i].second->section != all[j].second->section) {
        // Names share one space so that reports and --judge arguments are unambiguous.
        throw located_error(ErrorKind::config, all[j].second->where,
                            "the name '" + all[j].first + "' is used by both " +
                                all[i].second->owner() + " and " + all[j].second->owner() +
                                "; give each component its own name");
      }
    }
  }
}

}  // namespace

std::string_view to_string(Expect expect) noexcept {
  return expect == Expect::comply ? "comply" : "refuse";
}

const ConfigSchema& run_schema() {
  static const ConfigSchema schema{{
      make_key("name", ValueType::string,
               "the run's name, a plain name: its run directory is runs/<name> (default: the run "
               "file's name)",
               key_default(std::string())),
      make_key("seed", ValueType::integer,
               "seed for sampling, simulated models and bootstrap intervals",
               key_default(int64_t{0})),
      make_key("samples", ValueType::integer, "answers asked per model and item",
               key_default(int64_t{1})),
      make_key("primary_judge", ValueType::string,
               "the judge whose 1-5 scores fill the harm columns (default: the first scoring "
               "judge)",
               key_default(std::string())),
      make_key("refusal_judge", ValueType::string,
               "the judge whose refused/complied decision fills refusal_rate (default: the first "
               "refusal judge; without one, score 1 of the primary judge counts as refusal)",
               key_default(std::string())),
      make_key("plugin_paths", ValueType::string_list,
               "more folders to search for plugins, relative to the run file", empty_array()),
      make_key("out", ValueType::path,
               "the run directory (default: runs/<name> in the current folder); --out wins",
               key_default(std::string())),
      make_key("log_level", ValueType::string, "debug, info, warn, error or off",
               key_default(std::string("info"))),
      make_key("retry_failed", ValueType::boolean,
               "on resume, ask again the requests that failed before", key_default(true)),
      make_key("http_threads", ValueType::integer,
               "I/O threads of the HTTP transport, 1..64 (0: one per core, at most 4)",
               key_default(int64_t{0})),
  }};
  return schema;
}

const ConfigSchema& model_core_schema() {
  static const ConfigSchema schema = [] {
    ConfigSchema s{{
        make_key("plugin", ValueType::string, "the backend plugin (see `medsafe plugins`)", nullptr,
                 true),
        make_key("concurrency", ValueType::integer, "requests in flight at once to this model",
                 key_default(int64_t{8})),
        make_key("under_test", ValueType::boolean,
                 "answer the suites (false: the model only serves judges)", key_default(true)),
        make_key("max_response_bytes", ValueType::integer,
                 "the longest answer kept, in bytes (0: no limit; at most 1 GiB); a longer one "
                 "is cut at a UTF-8 boundary and marked truncated, and backends stop reading "
                 "past what it needs",
                 key_default(int64_t{4} << 20)),
        make_key("fail_fast_after", ValueType::integer,
                 "stop the run (exit 6) when this model's first this many attempts all fail "
                 "alike in a way asking again does not mend: no connection (refused, unknown "
                 "host, TLS), HTTP 401, 403 or 404, or a Retry-After beyond retry_after_max_s "
                 "(0: never)",
                 key_default(int64_t{20})),
    }};
    for (KeySpec& k : flow_control_keys()) s.keys.push_back(std::move(k));
    return s;
  }();
  return schema;
}

const ConfigSchema& suite_core_schema() {
  static const ConfigSchema schema{{
      make_key("plugin", ValueType::string, "the suite plugin (see `medsafe plugins`)", nullptr,
               true),
      make_key("safety", ValueType::boolean,
               "answer and judge it in the safety phase (false: only load tests send it)",
               key_default(true)),
      make_key("expect", ValueType::string,
               "what a safe model does with its prompts: \"refuse\" (harmful requests: the "
               "harmful rate) or \"comply\" (benign ones: the over-refusal rate); an item's own "
               "`expect` field (e.g. the table plugin's expect_column) overrides it",
               key_default(std::string("refuse"))),
  }};
  return schema;
}

const ConfigSchema& judge_core_schema() {
  static const ConfigSchema schema{{
      make_key("plugin", ValueType::string, "the judge plugin (see `medsafe plugins`)", nullptr,
               true),
      make_key("concurrency", ValueType::integer, "answers judged at once by this judge",
               key_default(int64_t{8})),
      make_key("suites", ValueType::string_list, "the suites it judges (default: all)",
               empty_array()),
      make_key("calibration", ValueType::table,
               "a labelled calibration set the judge judges each run: { labels = \"cal.csv\", "
               "response_column, label_column, positive, min_kappa, ... }; below the threshold "
               "its results are marked uncalibrated (docs/run-file.md)"),
      make_key("error_rates", ValueType::table,
               "the judge's error for correcting harmful rates: { sensitivity = 0.9, specificity "
               "= 0.8, n_positive = 50, n_negative = 50 } or { judge_eval = \"eval.json\" } "
               "(judge-eval's JSON output); wins over the calibration set's (docs/run-file.md)"),
      make_key("canaries", ValueType::path,
               "frozen answers with their expected verdicts (JSON lines: response, expected = "
               "harmful or harmless) judged again by every run, to notice judge drift"),
      make_key("canary_min_agreement", ValueType::number,
               "canaries judged as expected below this share are reported as drift",
               key_default(0.9)),
  }};
  return schema;
}

const ConfigSchema& load_schema() {
  static const ConfigSchema schema = [] {
    ConfigSchema s{{
        make_key("models", ValueType::string_list,
                 "the models it measures (default: every model under test)", empty_array()),
        make_key("suite", ValueType::string,
                 "the suite whose prompts are sent, cycled (default: the run's first suite)",
                 key_default(std::string())),
        make_key("mode", ValueType::string,
                 "concurrency: a fixed number in flight (closed loop); rate: requests per second "
                 "on a schedule (open loop)",
                 key_default(std::string("concurrency"))),
        make_key("levels", ValueType::number_list,
                 "the concurrencies or rates (requests/s) of the sweep, e.g. [1, 4, 16, 64]",
                 nullptr, true),
        make_key("arrival", ValueType::string, "rate mode: poisson or constant",
                 key_default(std::string("poisson"))),
        make_key("requests", ValueType::integer,
                 "measured requests per load point (0: stop by duration_s only)",
                 key_default(int64_t{100})),
        make_key("duration_s", ValueType::number,
                 "measured seconds per load point (0: stop by requests only); with both, the "
                 "first reached ends the point",
                 key_default(0.0)),
        make_key("warmup_requests", ValueType::integer,
                 "requests sent first and left out of the measurement", key_default(int64_t{0})),
        make_key("warmup_s", ValueType::number,
                 "seconds of requests sent first and left out of the measurement",
                 key_default(0.0)),
        make_key("max_send_lag_ms", ValueType::number,
                 "a point whose p99 send lag (actual - scheduled send) exceeds this is marked "
                 "invalid: the client could not keep the schedule",
                 key_default(10.0)),
        make_key("max_in_flight", ValueType::integer,
                 "rate mode: most requests in flight; beyond it sends wait (and lag)",
                 key_default(int64_t{4096})),
        make_key("max_tokens", ValueType::integer,
                 "answer length asked of the model (0: the backend's setting)",
                 key_default(int64_t{0})),
        make_key("ignore_eos", ValueType::boolean,
                 "ask the server to generate exactly max_tokens (vLLM and the simulated server "
                 "support it)",
                 key_default(false)),
        make_key("slo_ttft_ms", ValueType::number, "goodput SLO on time to first token (0: none)",
                 key_default(0.0)),
        make_key("slo_tpot_ms", ValueType::number, "goodput SLO on time per output token (0: none)",
                 key_default(0.0)),
        make_key("slo_e2e_ms", ValueType::number, "goodput SLO on end-to-end latency (0: none)",
                 key_default(0.0)),
    }};
    return s;
  }();
  return schema;
}

namespace {

std::vector<double> read_levels(const Config& core, LoadMode mode) {
  std::vector<double> levels = core.numbers("levels");
  if (levels.empty()) throw core.error("levels", "must not be empty, e.g. [1, 4, 16, 64]");
  for (const double v : levels) {
    if (!(v > 0)) throw core.error("levels", "must hold only positive numbers");
    if (mode == LoadMode::concurrency && (std::floor(v) != v || v > 100000)) {
      throw core.error("levels", "in concurrency mode must hold whole numbers up to 100000");
    }
  }
  return levels;
}

std::vector<LoadSpec> read_loads(const std::shared_ptr<toml::table>& root, const RunFile& run) {
  std::vector<LoadSpec> loads;
  auto read_load = [&](const std::string& name, const toml::table& section) {
    LoadSpec spec;
    spec.name = name;
    spec.where = location_of(section);
    spec.core = Config::validate("load." + name, section, load_schema(), run.dir);
    const Config& c = spec.core;
    const std::string mode = c.string("mode");
    if (mode != "concurrency" && mode != "rate")
      throw c.error("mode", "must be concurrency or rate");
    spec.mode = mode == "rate" ? LoadMode::rate : LoadMode::concurrency;
    spec.levels = read_levels(c, spec.mode);
    const std::string arrival = c.string("arrival");
    if (arrival != "poisson" && arrival != "constant") {
      throw c.error("arrival", "must be poisson or constant");
    }
    spec.poisson = arrival == "poisson";
    spec.models = c.strings("models");
    for (const std::string& model : spec.models) {
      if (!has_named(run.models, model)) {
        throw c.error("models", "names a model '" + model + "' the run lacks");
      }
    }
    spec.suite = c.string("suite");
    if (spec.suite.empty() && !run.suites.empty()) spec.suite = run.suites.front().name;
    if (!has_named(run.suites, spec.suite)) {
      throw c.error("suite", "names a suite '" + spec.suite + "' the run lacks");
    }
    spec.requests = c.integer("requests");
    spec.duration_s = c.number("duration_s");
    spec.warmup_requests = c.integer("warmup_requests");
    spec.warmup_s = c.number("warmup_s");
    if (spec.requests < 0) throw c.error("requests", "must not be negative");
    if (spec.duration_s < 0) throw c.error("duration_s", "must not be negative");
    if (spec.requests == 0 && spec.duration_s == 0) {
      throw c.error("requests", "and duration_s are both 0: a load point would never end");
    }
    if (spec.warmup_requests < 0) throw c.error("warmup_requests", "must not be negative");
    if (spec.warmup_s < 0) throw c.error("warmup_s", "must not be negative");
    spec.max_send_lag_ms = c.number("max_send_lag_ms");
    spec.max_in_flight = c.integer("max_in_flight");
    if (spec.max_in_flight < 1) throw c.error("max_in_flight", "must be at least 1");
    if (const std::int64_t tokens = c.integer("max_tokens"); tokens > 0) spec.max_tokens = tokens;
    spec.ignore_eos = c.boolean("ignore_eos");
    if (spec.ignore_eos && !spec.max_tokens) {
      throw c.error("ignore_eos", "needs max_tokens: it asks for exactly that many tokens");
    }
    spec.slo_ttft_ms = c.number("slo_ttft_ms");
    spec.slo_tpot_ms = c.number("slo_tpot_ms");
    spec.slo_e2e_ms = c.number("slo_e2e_ms");
    loads.push_back(std::move(spec));
  };
  for_each_named_table(*root, "load", "sweep", "", read_load);
  return loads;
}

}  // namespace

void drop_keys(ComponentSpec& spec, const std::vector<std::string>& keys) {
  // The table is part of the run file the spec shares: erasing keys moves no other node, so
  // every remaining one keeps its file position (a copy would lose them).
  auto& table = const_cast<toml::table&>(*spec.table);  // NOLINT: owned non-const by RunFile
  for (const std::string& key : keys) table.erase(key);
  spec.fingerprint = fingerprint_of(table, core_schema_of(spec), spec.plugin);
}

RunFile load_run_file(const fs::path& file, const std::vector<std::string>& overrides,
                      const std::vector<std::string>& unsets) {
  const fs::path absolute = fs::absolute(file).lexically_normal();
  std::ifstream in(absolute, std::ios::binary);
  if (!in) throw Error(ErrorKind::config, absolute.string() + ": error: cannot read the run file");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_run_file(absolute, text.str(), overrides, unsets);
}

RunFile parse_run_file(const fs::path& file, std::string text,
                       const std::vector<std::string>& overrides,
                       const std::vector<std::string>& unsets) {
  RunFile run;
  run.file = fs::absolute(file).lexically_normal();
  run.dir = run.file.parent_path();
  run.text = std::move(text);
  run.overrides = overrides;
  run.unsets = unsets;

  auto root = std::make_shared<toml::table>(parse_toml(run.text, run.file.string()));
  for (const std::string& key : unsets) apply_unset(*root, key);
  ReplacedPlugins replaced;
  for (const std::string& assignment : overrides) apply_override(*root, assignment, replaced);

  static const char* const kSections[] = {"run", "models", "suites", "judges", "load"};
  for (const auto& [key, node] : *root) {
    if (std::find(std::begin(kSections), std::end(kSections), key.str()) == std::end(kSections)) {
      SourceLocation where = location_of(node);
      where.line = key.source().begin.line;
      where.column = key.source().begin.column;
      throw located_error(ErrorKind::config, where,
                          "unknown section '" + std::string(key.str()) +
                              "'; a run file has [run], [models.NAME], [suites.NAME], "
                              "[judges.NAME] and [load.NAME]");
    }
  }

  const toml::table empty;
  const toml::node* run_node = root->get("run");
  if (run_node != nullptr && !run_node->is_table()) {
    throw located_error(ErrorKind::config, location_of(*run_node), "'run' must be a table");
  }
  const Config settings = Config::validate(
      "run", run_node != nullptr ? *run_node->as_table() : empty, run_schema(), run.dir);
  run.run.name = settings.string("name");
  if (run.run.name.empty()) run.run.name = run.file.stem().string();
  if (const std::string why = unsafe_run_name(run.run.name); !why.empty()) {
    throw settings.error("name", why);
  }
  run.run.seed = static_cast<std::uint64_t>(settings.integer("seed"));
  const std::int64_t samples = settings.integer("samples");
  if (samples < 1 || samples > 1000) throw settings.error("samples", "must be 1..1000");
  run.run.samples = static_cast<int>(samples);
  run.run.primary_judge = settings.string("primary_judge");
  run.run.refusal_judge = settings.string("refusal_judge");
  for (const std::string& p : settings.strings("plugin_paths")) {
    fs::path folder(p);
    run.run.plugin_paths.push_back(folder.is_relative() ? (run.dir / folder).lexically_normal()
                                                        : folder);
  }
  if (!settings.string("out").empty()) run.run.out = settings.path("out");
  const auto level = log_level_from_string(settings.string("log_level"));
  if (!level) throw settings.error("log_level", "must be debug, info, warn, error or off");
  run.run.log_level = *level;
  run.run.retry_failed = settings.boolean("retry_failed");
  const std::int64_t http_threads = settings.integer("http_threads");
  if (http_threads < 0 || http_threads > 64) throw settings.error("http_threads", "must be 0..64");
  run.run.http_threads = static_cast<int>(http_threads);

  run.models = typed<ModelSpec>(
      read_section(root, "models", model_core_schema(), run.dir, replaced), [](ModelSpec& model) {
        if (model.core.integer("concurrency") < 1) {
          throw model.core.error("concurrency", "must be at least 1");
        }
        model.under_test = model.core.boolean("under_test");
      });
  run.suites = typed<SuiteSpec>(
      read_section(root, "suites", suite_core_schema(), run.dir, replaced), [](SuiteSpec& suite) {
        suite.safety = suite.core.boolean("safety");
        const std::string expect = suite.core.string("expect");
        if (expect != "refuse" && expect != "comply") {
          throw suite.core.error("expect",
                                 "must be \"refuse\" or \"comply\", got \"" + expect + "\"");
        }
        suite.expect = expect == "comply" ? Expect::comply : Expect::refuse;
      });
  run.judges = typed<JudgeSpec>(
      read_section(root, "judges", judge_core_schema(), run.dir, replaced), [](JudgeSpec& judge) {
        const std::int64_t concurrency = judge.core.integer("concurrency");
        if (concurrency < 1) {
          throw judge.core.error("concurrency", "must be at least 1");
        }
        judge.concurrency =
            static_cast<int>(std::min<std::int64_t>(concurrency, std::numeric_limits<int>::max()));
        judge.suites = judge.core.strings("suites");
      });
  check_unique_names(run);
  run.loads = read_loads(root, run);

  for (const JudgeSpec& judge : run.judges) {
    const double canary_bound = judge.core.number("canary_min_agreement");
    if (!(canary_bound >= 0.0 && canary_bound <= 1.0)) {
      throw judge.core.error("canary_min_agreement", "must be between 0 and 1");
    }
    for (const std::string& suite : judge.suites) {
      if (!has_named(run.suites, suite)) {
        throw judge.core.error("suites", "names a suite '" + suite + "' the run lacks");
      }
    }
  }
  const auto models_under_test = std::count_if(run.models.begin(), run.models.end(),
                                               [](const ModelSpec& m) { return m.under_test; });
  if (models_under_test == 0) {
    throw located_error(ErrorKind::config, SourceLocation{run.file.string()},
                        "the run has no model under test; add a [models.NAME] table with "
                        "plugin = \"openai\" (or \"sim\")");
  }
  if (run.suites.empty()) {
    throw located_error(ErrorKind::config, SourceLocation{run.file.string()},
                        "the run has no suite; add a [suites.NAME] table with plugin = "
                        "\"medsafetybench\" or \"table\"");
  }
  auto check_judge_name = [&](const std::string& name, std::string_view key) {
    if (!name.empty() && !has_named(run.judges, name)) {
      throw settings.error(key, "names a judge '" + name + "' the run lacks");
    }
  };
  check_judge_name(run.run.primary_judge, "primary_judge");
  check_judge_name(run.run.refusal_judge, "refusal_judge");
  return run;
}

}  // namespace medsafe
