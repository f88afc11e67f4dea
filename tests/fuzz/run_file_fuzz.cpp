// Fuzzes the run-file loader (medsafe::load_run_file) on a file, with up to four "--set"
// overrides taken from the input's first lines, then checks each component's table against a
// real plugin manifest the way a run is assembled (Config::validate with the core keys ignored):
// models against openai, suites against table, judges against rubric. Every declared key is then
// read with its type's accessor. Invariants: the only exception is medsafe::Error; a loaded run
// has a model under test and a suite; a validated Config hands out every key with its declared
// type.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/plugin/run_file.hpp"
#include "fuzz_support.hpp"
#include "medsafe/config.hpp"
#include "medsafe/error.hpp"
#include "medsafe/manifest.hpp"

#if !defined(MEDSAFE_OPENAI_MANIFEST) || !defined(MEDSAFE_TABLE_MANIFEST) || \
    !defined(MEDSAFE_RUBRIC_MANIFEST)
#error "define MEDSAFE_OPENAI_MANIFEST, MEDSAFE_TABLE_MANIFEST and MEDSAFE_RUBRIC_MANIFEST"
#endif

namespace {

constexpr std::string_view kSetPrefix = "--set ";
constexpr int kMaxOverrides = 4;

// Reads every key of `schema` from `config` with the accessor of its declared type. A key that
// is absent (optional, no default) must read as absent.
void read_every_key(const medsafe::Config& config, const medsafe::ConfigSchema& schema) {
  using medsafe::ValueType;
  for (const medsafe::KeySpec& key : schema.keys) {
    if (!config.has(key.name)) {
      MEDSAFE_FUZZ_CHECK(!key.required && !key.default_value);
      MEDSAFE_FUZZ_CHECK(config.node(key.name) == nullptr);
      continue;
    }
    switch (key.type) {
      case ValueType::string:
        static_cast<void>(config.string(key.name));
        break;
      case ValueType::path:
        static_cast<void>(config.path(key.name));
        break;
      case ValueType::integer:
        static_cast<void>(config.integer(key.name));
        break;
      case ValueType::number:
        static_cast<void>(config.number(key.name));
        break;
      case ValueType::boolean:
        static_cast<void>(config.boolean(key.name));
        break;
      case ValueType::string_list:
        static_cast<void>(config.strings(key.name));
        break;
      case ValueType::number_list:
        static_cast<void>(config.numbers(key.name));
        break;
      case ValueType::table:
        MEDSAFE_FUZZ_CHECK(config.table(key.name) != nullptr);
        break;
      case ValueType::table_list:
        MEDSAFE_FUZZ_CHECK(config.array(key.name) != nullptr);
        break;
    }
    static_cast<void>(config.where(key.name).str());
  }
  static_cast<void>(config.fingerprint());
}

template <typename Spec>
void validate_components(const std::vector<Spec>& specs, const medsafe::Manifest& manifest,
                         const medsafe::ConfigSchema& core, const std::filesystem::path& dir) {
  for (const medsafe::ComponentSpec& spec : specs) {
    MEDSAFE_FUZZ_CHECK(spec.table != nullptr);
    read_every_key(spec.core, core);
    medsafe::Config config;
    try {
      config = medsafe::Config::validate(spec.owner(), spec.table, manifest.config, dir, &core);
    } catch (const medsafe::Error&) {
      continue;  // a located config error for this component: fine, try the next
    }
    // Outside the try: a validated Config must hand out every key without an error.
    read_every_key(config, manifest.config);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const medsafe::Manifest openai = medsafe::read_manifest(MEDSAFE_OPENAI_MANIFEST);
  static const medsafe::Manifest table = medsafe::read_manifest(MEDSAFE_TABLE_MANIFEST);
  static const medsafe::Manifest rubric = medsafe::read_manifest(MEDSAFE_RUBRIC_MANIFEST);

  medsafe::fuzz::FuzzInput input(data, size);
  std::vector<std::string> overrides;
  while (overrides.size() < kMaxOverrides && input.starts_with(kSetPrefix)) {
    overrides.emplace_back(input.take_line().substr(kSetPrefix.size()));
  }
  const std::filesystem::path file = medsafe::fuzz::write_scratch_file("run.toml", input.rest());

  medsafe::RunFile run;
  try {
    run = medsafe::load_run_file(file, overrides);
  } catch (const medsafe::Error&) {
    return 0;  // a located error: the expected outcome for a bad run file
  }
  MEDSAFE_FUZZ_CHECK(!run.models.empty() && !run.suites.empty());
  MEDSAFE_FUZZ_CHECK(run.run.samples >= 1);
  validate_components(run.models, openai, medsafe::model_core_schema(), run.dir);
  validate_components(run.suites, table, medsafe::suite_core_schema(), run.dir);
  validate_components(run.judges, rubric, medsafe::judge_core_schema(), run.dir);
  for (const medsafe::LoadSpec& load : run.loads) {
    MEDSAFE_FUZZ_CHECK(!load.levels.empty());
    read_every_key(load.core, medsafe::load_schema());
  }
  return 0;
}
