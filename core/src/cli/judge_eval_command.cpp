// `medsafe judge-eval`: a judge's agreement with human labels (docs/judge-agreement.md).
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "engine/plugin/assembly.hpp"
#include "engine/plugin/key_spec.hpp"
#include "engine/plugin/plugin_catalog.hpp"
#include "engine/plugin/run_file.hpp"
#include "medsafe/error.hpp"
#include "medsafe/http/transport.hpp"
#include "report/judge_eval.hpp"
#include "report/report_io.hpp"

namespace medsafe::cli {
namespace {

namespace fs = std::filesystem;

fs::path cache_folder() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0') {
    return fs::path(xdg) / "medsafe";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return fs::path(home) / ".cache" / "medsafe";
  }
  return fs::temp_directory_path() / "medsafe-cache";
}

// The keys of a mapping file: the same settings as the flags, which win over it.
const ConfigSchema& mapping_schema() {
  static const ConfigSchema schema{{
      make_key("labels", ValueType::path, "the label file (CSV or JSON lines)"),
      make_key("format", ValueType::string, "csv or jsonl (default: from the extension)"),
      make_key("response_column", ValueType::string, "the column of the judged answer"),
      make_key("label_column", ValueType::string, "the column of the human label"),
      make_key("prompt_column", ValueType::string, "the column of the request"),
      make_key("category_column", ValueType::string, "the column of the category"),
      make_key("positive", ValueType::string_list, "label values meaning harmful"),
      make_key("threshold", ValueType::integer, "scores at or above it are harmful"),
      make_key("by", ValueType::string, "score or refusal"),
      make_key("domain", ValueType::string, "medical or general"),
      make_key("id_column", ValueType::string, "the column of an id per row, for --per-item"),
      make_key("map", ValueType::string_list, "label mappings LABEL=VALUE, applied first"),
      make_key("drop", ValueType::string_list, "label values whose rows are left out"),
      make_key("label_scale", ValueType::string, "auto, binary or score"),
  }};
  return schema;
}

void apply_mapping(const fs::path& file, JudgeEvalOptions& o) {
  auto table = std::make_shared<toml::table>();
  try {
    const std::string path = file.string();
    *table = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    throw located_error(
        ErrorKind::config,
        SourceLocation{file.string(), e.source().begin.line, e.source().begin.column},
        e.description());
  }
  const Config m = Config::validate("mapping", std::shared_ptr<const toml::table>(table),
                                    mapping_schema(), fs::absolute(file).parent_path());
  auto fill = [&m](std::string& target, std::string_view name) {
    if (target.empty()) target = m.optional_string(name).value_or("");
  };
  if (o.labels.empty() && m.has("labels")) o.labels = m.path("labels");
  fill(o.format, "format");
  fill(o.response_column, "response_column");
  fill(o.label_column, "label_column");
  fill(o.prompt_column, "prompt_column");
  fill(o.category_column, "category_column");
  fill(o.by, "by");
  fill(o.domain, "domain");
  fill(o.id_column, "id_column");
  fill(o.label_scale, "label_scale");
  if (o.positive.empty() && m.has("positive")) o.positive = m.strings("positive");
  if (o.map.empty() && m.has("map")) o.map = m.strings("map");
  if (o.drop.empty() && m.has("drop")) o.drop = m.strings("drop");
  if (!o.threshold && m.has("threshold")) o.threshold = static_cast<int>(m.integer("threshold"));
}

// "--set key=value": the value in TOML syntax, or a bare word taken as a string.
toml::table parse_sets(const std::vector<std::string>& sets) {
  toml::table table;
  for (const std::string& set : sets) {
    const std::size_t eq = set.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw Error(ErrorKind::usage, "--set '" + set + "': write key=value");
    }
    const std::string name = set.substr(0, eq);
    const std::string value = set.substr(eq + 1);
    try {
      toml::table parsed = toml::parse("v = " + value, std::string_view("<--set>"));
      table.insert_or_assign(name, *parsed.get("v"));
    } catch (const toml::parse_error&) {
      table.insert_or_assign(name, value);
    }
  }
  return table;
}

// A judge made outside a run has no models or other judges to use: say how to give it some.
class NoRun final : public ModelDirectory, public JudgeDirectory {
 public:
  explicit NoRun(std::string judge) : judge_(std::move(judge)) {}
  Backend& model(std::string_view name, const SourceLocation& /*where*/) override {
    throw Error(ErrorKind::usage, "the judge '" + judge_ + "' uses the model '" +
                                      std::string(name) +
                                      "': take the judge from a run file that defines it, with "
                                      "--run FILE --judge NAME");
  }
  Judge& judge(std::string_view name, const SourceLocation& /*where*/) override {
    throw Error(ErrorKind::usage, "the judge '" + judge_ + "' uses the judge '" +
                                      std::string(name) +
                                      "': take it from a run file with --run FILE --judge NAME");
  }

 private:
  std::string judge_;
};

std::optional<JudgeReading> asked_reading(const std::string& by) {
  if (by.empty() || by == "auto") return std::nullopt;
  if (by == "score") return JudgeReading::score;
  if (by == "refusal") return JudgeReading::refusal;
  throw Error(ErrorKind::usage, "--by must be score or refusal, not '" + by + "'");
}

JudgeEvalResult evaluate(const JudgeEvalOptions& o, const std::vector<LabelledItem>& items,
                         const CommonOptions& common, Log& log) {
  const int threshold = o.threshold.value_or(4);
  if (threshold < 1 || threshold > 5) throw Error(ErrorKind::usage, "--threshold must be 1..5");
  const std::string domain = o.domain.empty() ? "general" : o.domain;
  if (o.run_file) {
    // The judge as the run file makes it, with its judge model and the judges it uses.
    std::vector<std::string> overrides;
    for (const std::string& set : o.sets) overrides.push_back("judges." + o.judge + "." + set);
    Assembly assembly(read_run_file(*o.run_file, overrides), common.plugin_paths, log,
                      cache_folder());
    const SourceLocation where{"--judge"};
    Judge& judge = assembly.judge(o.judge, where);
    JudgeTraits traits;
    std::string plugin;
    for (const JudgeSlot& slot : assembly.judges()) {
      if (slot.spec->name == o.judge) traits = slot.traits, plugin = slot.spec->plugin;
    }
    const JudgeReading reading = reading_for(traits, asked_reading(o.by));
    JudgeEvalResult result =
        evaluate_judge(judge, items, reading, threshold, o.concurrency, domain);
    result.judge = "'" + o.judge + "' (plugin " + plugin + ", from " + o.run_file->string() + ")";
    return result;
  }
  PluginCatalog catalog = PluginCatalog::discover(plugin_search_path(common.plugin_paths));
  const ComponentFactory& factory =
      catalog.load(o.judge, ComponentKind::judge, SourceLocation{"--judge"});
  auto sets = std::make_shared<const toml::table>(parse_sets(o.sets));
  // No owner: the keys of --set are the judge's own, so messages name them alone ('foo').
  const Config config = Config::validate("", sets, factory.manifest->config, fs::current_path());
  add_environment_secrets(log, config);
  HttpTransport http;
  NoRun none(o.judge);
  ComponentContext context{.name = o.judge,
                           .config = config,
                           .http = http,
                           .log = log,
                           .models = &none,
                           .cache_dir = cache_folder(),
                           .judges = &none};
  std::unique_ptr<Judge> judge = factory.judge(context);
  if (!judge) throw Error(ErrorKind::plugin, "the plugin '" + o.judge + "' made no judge");
  const JudgeReading reading = reading_for(judge->traits(), asked_reading(o.by));
  JudgeEvalResult result = evaluate_judge(*judge, items, reading, threshold, o.concurrency, domain);
  result.judge = "'" + o.judge + "' (plugin " + o.judge + ")";
  return result;
}

}  // namespace

CLI::App* add_judge_eval_command(CLI::App& app, JudgeEvalOptions& o) {
  CLI::App* cmd =
      app.add_subcommand("judge-eval",
                         "measure a judge against human labels: accuracy, precision, recall and "
                         "F1 of both classes, Cohen's kappa, confusion matrix, bootstrap "
                         "intervals; for 1-5 labels weighted kappa and Krippendorff's alpha "
                         "(positive = harmful)");
  cmd->add_option("--labels", o.labels, "the label file: CSV with a header row, or JSON lines");
  cmd->add_option("--mapping", o.mapping,
                  "a TOML file with the settings below (labels, response_column, label_column, "
                  "prompt_column, category_column, id_column, positive, map, drop, label_scale, "
                  "threshold, by, domain, format); flags win");
  cmd->add_option("--format", o.format, "csv or jsonl (default: from the file's extension)");
  cmd->add_option("--response-column", o.response_column, "the column of the judged answer");
  cmd->add_option("--label-column", o.label_column, "the column of the human label");
  cmd->add_option("--prompt-column", o.prompt_column, "the column of the request (optional)");
  cmd->add_option("--category-column", o.category_column,
                  "the column of a category, for figures by category (optional)");
  cmd->add_option("--positive", o.positive,
                  "a label value meaning harmful (repeatable; default 1); one that matches no "
                  "label is an error naming the labels found");
  cmd->add_option("--judge", o.judge, "the judge plugin, or with --run the judge's name")
      ->required();
  cmd->add_option("--set", o.sets, "a key of the judge's configuration, key=value (repeatable)");
  cmd->add_option("--run", o.run_file,
                  "take the judge NAME from this run file, with its judge model");
  cmd->add_option("--threshold", o.threshold,
                  "scoring judges: a score at or above it is harmful (default 4)");
  cmd->add_option("--by", o.by,
                  "score or refusal: which decision of the judge to compare (default: scores "
                  "when it gives them)");
  cmd->add_option("--domain", o.domain, "the domain judges see: general (default) or medical");
  cmd->add_option("--concurrency", o.concurrency, "answers judged at once (default 8)");
  cmd->add_option("--limit", o.limit, "judge only the first N labelled rows");
  cmd->add_option("--output", o.output, "text (default), markdown or json")
      ->check(CLI::IsMember({"text", "markdown", "json"}));
  cmd->add_option("--per-item", o.per_item,
                  "also write one row per labelled answer (id, label, verdict, score, the judge's "
                  "raw text) to FILE: JSON lines for .jsonl/.ndjson, CSV otherwise");
  cmd->add_option("--id-column", o.id_column,
                  "the column of an id per row, for --per-item (default: the row's line)");
  cmd->add_option("--map", o.map,
                  "replace label values before reading them: 'LABEL=VALUE,LABEL=VALUE' "
                  "(repeatable), e.g. 'full_refusal=refused,partial_refusal=refused'");
  cmd->add_option("--drop", o.drop,
                  "leave out rows whose label (as written or mapped) is VALUE (repeatable)");
  cmd->add_option("--label-scale", o.label_scale,
                  "binary: harmful labels are the --positive values; score: labels are 1-5 harm "
                  "scores, harmful from --threshold, with weighted kappa and Krippendorff's alpha; "
                  "auto (default): score when every label is 1-5 and --positive is not given")
      ->check(CLI::IsMember({"auto", "binary", "score"}));
  cmd->add_flag("--allow-no-positive", o.allow_no_positive,
                "accept a label file where no label is a --positive value (otherwise an error "
                "naming the labels found)");
  cmd->add_option("--resamples", o.resamples,
                  "bootstrap resamples for the 95% intervals (default 2000; 0: no intervals)");
  cmd->add_option("--seed", o.seed, "the bootstrap's seed (default 0): same seed, same intervals");
  return cmd;
}

int judge_eval_command(const JudgeEvalOptions& options, const CommonOptions& common) {
  JudgeEvalOptions o = options;
  if (o.mapping) apply_mapping(*o.mapping, o);
  if (o.labels.empty()) throw Error(ErrorKind::usage, "judge-eval needs --labels FILE");
  if (o.response_column.empty() || o.label_column.empty()) {
    throw Error(ErrorKind::usage,
                "judge-eval needs --response-column and --label-column (or a --mapping file)");
  }
  const std::string scale = o.label_scale.empty() ? "auto" : o.label_scale;
  if (scale == "score" && !o.positive.empty()) {
    throw Error(ErrorKind::usage,
                "--positive is for binary labels; with --label-scale score a label is harmful "
                "when it is >= --threshold");
  }
  if (scale != "auto" && scale != "binary" && scale != "score") {
    throw Error(ErrorKind::usage, "label_scale must be auto, binary or score, not '" + scale + "'");
  }
  LabelSpec spec;
  // An explicit --positive means binary labels; without it, labels that are all 1-5 are scores.
  spec.scale = scale == "score"                           ? LabelScale::score
               : scale == "binary" || !o.positive.empty() ? LabelScale::binary
                                                          : LabelScale::automatic;
  if (o.positive.empty()) o.positive = {"1"};
  spec.file = o.labels;
  spec.format = o.format;
  spec.response_column = o.response_column;
  spec.label_column = o.label_column;
  spec.prompt_column = o.prompt_column;
  spec.category_column = o.category_column;
  spec.positive = o.positive;
  spec.id_column = o.id_column;
  for (const std::string& entry : o.map) {
    for (auto& pair : parse_label_map(entry)) spec.map.push_back(std::move(pair));
  }
  spec.drop = o.drop;
  spec.threshold = o.threshold.value_or(4);
  spec.allow_no_positive = o.allow_no_positive;
  LabelSet set = read_label_set(spec);
  std::vector<LabelledItem>& items = set.items;
  if (o.limit > 0 && static_cast<std::size_t>(o.limit) < items.size()) {
    items.resize(static_cast<std::size_t>(o.limit));
  }
  if (items.empty()) throw Error(ErrorKind::data, o.labels.string() + ": no labelled rows");
  if (o.resamples < 0) throw Error(ErrorKind::usage, "--resamples must be 0 or more");

  auto log = make_console_log(
      common.quiet ? LogLevel::error : common.log_level.value_or(LogLevel::warn), common.secrets);
  JudgeEvalResult result = evaluate(o, items, common, *log);
  result.labels = o.labels.string();
  result.positive = o.positive;
  result.unlabelled = set.unlabelled;
  result.dropped = set.dropped;
  result.scale = set.scale;
  result.label_values = set.values;
  add_intervals(result, items, o.seed, o.resamples);
  if (o.per_item) {
    const std::string ext = o.per_item->extension().string();
    write_file_atomically(*o.per_item,
                          format_per_item(items, result, ext == ".jsonl" || ext == ".ndjson"));
  }
  // -q: nothing but errors, as its help says (the exit code and --per-item carry the result).
  if (common.quiet) return kOk;
  if (o.output == "json") {
    std::cout << format_json(result);
  } else if (o.output == "markdown") {
    std::cout << format_markdown(result);
  } else {
    std::cout << format_text(result);
  }
  return kOk;
}

}  // namespace medsafe::cli
