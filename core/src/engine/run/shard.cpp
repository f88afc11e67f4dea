#include "engine/run/shard.hpp"

#include <charconv>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "engine/plugin/assembly.hpp"
#include "engine/store/item_hash.hpp"
#include "engine/store/store.hpp"
#include "medsafe/error.hpp"
#include "medsafe/stable_hash.hpp"

namespace medsafe {
namespace {

using nlohmann::json;

std::optional<std::int64_t> whole_number(std::string_view text) {
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [at, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc() || at != end) return std::nullopt;
  return value;
}

Error shard_error(const std::string& message) {
  return Error(ErrorKind::usage, message + " (docs/scale-out.md)");
}

constexpr std::string_view kUseFlag =
    "pass --shard i/N in the job script instead (--shard none for a whole run)";

// A Slurm job array's task as a shard; nullopt outside an array.
std::optional<Shard> slurm_shard(const EnvironmentLookup& environment) {
  const std::optional<std::string> id_text = environment("SLURM_ARRAY_TASK_ID");
  if (!id_text) return std::nullopt;
  auto number = [&](const char* name) -> std::optional<std::int64_t> {
    const std::optional<std::string> text = environment(name);
    if (!text) return std::nullopt;
    const auto value = whole_number(*text);
    if (!value) {
      throw shard_error(std::string(name) + "=" + *text + " is not a whole number; " +
                        std::string(kUseFlag));
    }
    return value;
  };
  const std::int64_t id = *number("SLURM_ARRAY_TASK_ID");
  const std::optional<std::int64_t> count = number("SLURM_ARRAY_TASK_COUNT");
  const std::optional<std::int64_t> min = number("SLURM_ARRAY_TASK_MIN");
  const std::optional<std::int64_t> max = number("SLURM_ARRAY_TASK_MAX");
  const std::int64_t step = number("SLURM_ARRAY_TASK_STEP").value_or(1);
  const std::string where = "SLURM_ARRAY_TASK_ID=" + *id_text;
  if (!count || !min) {
    throw shard_error(where + " is set, but not SLURM_ARRAY_TASK_COUNT and SLURM_ARRAY_TASK_MIN; " +
                      std::string(kUseFlag));
  }
  // The shards are the array's tasks in order, so an array need not start at 0 (--array=1-4)
  // and may step (--array=0-30:10); one with gaps (--array=1,2,7) has no index to count by.
  const bool regular = step >= 1 && *count >= 1 && (id - *min) >= 0 && (id - *min) % step == 0 &&
                       (!max || (*max - *min) / step + 1 == *count);
  if (!regular) {
    throw shard_error(
        where + " is not a task of a regular array (SLURM_ARRAY_TASK_MIN=" + std::to_string(*min) +
        ", COUNT=" + std::to_string(*count) + ", STEP=" + std::to_string(step) +
        "): use --array=0-" + std::to_string(*count - 1) + ", or " + std::string(kUseFlag));
  }
  const std::int64_t index = (id - *min) / step;
  if (*count > kMaxShards || index >= *count) {
    throw shard_error(where + ": task " + std::to_string(index) + " of " + std::to_string(*count) +
                      " is not a shard medsafe can run; " + std::string(kUseFlag));
  }
  return Shard{static_cast<int>(index), static_cast<int>(*count),
               where + " of SLURM_ARRAY_TASK_COUNT=" + std::to_string(*count)};
}

// A Kubernetes Indexed Job's completion as a shard; nullopt outside one.
std::optional<Shard> kubernetes_shard(const EnvironmentLookup& environment) {
  const std::optional<std::string> index = environment("JOB_COMPLETION_INDEX");
  if (!index) return std::nullopt;
  const std::string where = "JOB_COMPLETION_INDEX=" + *index;
  const std::optional<std::string> count = environment("MEDSAFE_SHARD_COUNT");
  if (!count) {
    throw shard_error(where +
                      " is set (a Kubernetes Indexed Job), but not MEDSAFE_SHARD_COUNT: set it "
                      "to the Job's completions, or " +
                      std::string(kUseFlag));
  }
  Shard shard = parse_shard(*index + "/" + *count, where + " of MEDSAFE_SHARD_COUNT=" + *count);
  return shard;
}

// The digest of a whole suite: every shard of one run must have read the same dataset.
std::string suite_digest(const std::vector<PromptItem>& items) {
  SuiteDigest digest;
  for (const PromptItem& item : items) digest.add(item);
  return digest.value();
}

}  // namespace

SuiteDigest::SuiteDigest() : hash_(kFnv1aBasis) {}

void SuiteDigest::add(const PromptItem& item) {
  hash_ = fnv1a(hash_, item.id);
  hash_ = fnv1a(hash_, std::string_view("\0", 1));
  hash_ = fnv1a(hash_, item_content_hash(item));
}

std::string SuiteDigest::value() const { return hex16(mix64(hash_)); }

std::string Shard::text() const { return std::to_string(index) + "/" + std::to_string(count); }

std::string Shard::folder_name() const {
  return "shard-" + std::to_string(index) + "-of-" + std::to_string(count);
}

int shard_of(std::string_view suite, std::string_view item_id, int count) noexcept {
  if (count <= 1) return 0;
  std::uint64_t hash = stable_hash(suite);
  hash = fnv1a(hash, std::string_view("\0", 1));  // "ab"+"c" and "a"+"bc" differ
  hash = fnv1a(hash, item_id);
  return static_cast<int>(mix64(hash) % static_cast<std::uint64_t>(count));
}

Shard parse_shard(std::string_view text, std::string source) {
  const std::size_t slash = text.find('/');
  const auto index = whole_number(text.substr(0, slash));
  const auto count =
      slash == std::string_view::npos ? std::nullopt : whole_number(text.substr(slash + 1));
  if (!index || !count || *count < 1 || *count > kMaxShards || *index < 0 || *index >= *count) {
    throw shard_error(source + ": '" + std::string(text) +
                      "' is not a shard: expected i/N with 0 <= i < N <= " +
                      std::to_string(kMaxShards) + ", e.g. 0/4 for the first of four");
  }
  return Shard{static_cast<int>(*index), static_cast<int>(*count), std::move(source)};
}

std::optional<std::string> process_environment(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

std::optional<Shard> resolve_shard(const std::optional<std::string>& flag,
                                   const EnvironmentLookup& environment) {
  if (flag) {
    if (*flag == "none") return std::nullopt;
    return parse_shard(*flag);
  }
  if (std::optional<Shard> slurm = slurm_shard(environment)) return slurm;
  return kubernetes_shard(environment);
}

ShardPlan apply_shard(Assembly& assembly, const Shard& shard) {
  ShardPlan plan;
  plan.shard = shard;
  for (SuiteSlot& slot : assembly.suites()) {
    ShardedSuite suite;
    suite.suite = slot.spec->name;
    suite.items = static_cast<std::int64_t>(slot.items.size());
    suite.digest = suite_digest(slot.items);
    if (!slot.spec->safety) {
      suite.kept = suite.items;  // only load phases send it: nothing to split
      plan.suites.push_back(std::move(suite));
      continue;
    }
    std::vector<PromptItem> kept;
    std::vector<std::size_t> positions;
    for (std::size_t i = 0; i < slot.items.size(); ++i) {
      if (shard_of(suite.suite, slot.items[i].id, shard.count) != shard.index) continue;
      kept.push_back(std::move(slot.items[i]));
      positions.push_back(i);
    }
    slot.items = std::move(kept);
    slot.positions = std::move(positions);
    slot.item_count = slot.items.size();
    suite.kept = static_cast<std::int64_t>(slot.items.size());
    plan.suites.push_back(std::move(suite));
  }
  return plan;
}

std::string shard_plan_json(const ShardPlan& plan) {
  json suites = json::array();
  for (const ShardedSuite& s : plan.suites) {
    suites.push_back(
        {{"suite", s.suite}, {"items", s.items}, {"kept", s.kept}, {"digest", s.digest}});
  }
  return json{{"index", plan.shard.index},
              {"count", plan.shard.count},
              {"source", plan.shard.source},
              {"suites", suites}}
      .dump();
}

std::optional<ShardPlan> shard_plan_from_json(std::string_view text) {
  const json j = json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("index") || !j.contains("count") ||
      !j["index"].is_number_integer() || !j["count"].is_number_integer()) {
    return std::nullopt;
  }
  ShardPlan plan;
  plan.shard.index = j["index"].get<int>();
  plan.shard.count = j["count"].get<int>();
  plan.shard.source = j.value("source", "");
  if (j.contains("suites") && j["suites"].is_array()) {
    for (const json& s : j["suites"]) {
      if (!s.is_object()) continue;
      plan.suites.push_back({s.value("suite", ""), s.value("items", std::int64_t{0}),
                             s.value("kept", std::int64_t{0}), s.value("digest", "")});
    }
  }
  return plan;
}

void check_shard(Store& store, const ShardPlan* plan) {
  const std::string dir = store.file().parent_path().string();
  const std::optional<std::string> text = store.meta("shard");
  const std::optional<ShardPlan> stored =
      text ? shard_plan_from_json(*text) : std::optional<ShardPlan>();
  if (plan == nullptr) {
    if (!stored) return;
    throw Error(ErrorKind::config, dir + ": error: this run directory holds shard " +
                                       stored->shard.text() + " of a run; resume it with --shard " +
                                       stored->shard.text() +
                                       ", or put the shards together with 'medsafe merge'");
  }
  if (stored) {
    if (stored->shard.index == plan->shard.index && stored->shard.count == plan->shard.count) {
      return;
    }
    throw Error(ErrorKind::config, dir + ": error: this run directory holds shard " +
                                       stored->shard.text() + ", not shard " + plan->shard.text() +
                                       " (" + plan->shard.source +
                                       "); each shard needs its own run directory");
  }
  if (store.meta("run_info")) {
    throw Error(ErrorKind::config, dir +
                                       ": error: this run directory holds a run that is not "
                                       "sharded; shard " +
                                       plan->shard.text() + " (" + plan->shard.source +
                                       ") needs a run directory of its own (another --out)");
  }
}

void record_shard(Store& store, const ShardPlan& plan) {
  store.set_meta("shard", shard_plan_json(plan));
}

}  // namespace medsafe
