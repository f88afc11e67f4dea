#include "engine/plugin/run_file.hpp"

#include <gtest/gtest.h>

#include "support/temp_dir.hpp"

namespace medsafe {
namespace {

using testing::TempDir;

constexpr std::string_view kRun = R"(
[run]
name = "demo"
seed = 3

[models.zeta]
plugin = "sim"
concurrency = 4

[models.alpha]
plugin = "openai"
model = "m"

[suites.s]
plugin = "table"
path = "prompts.csv"

[judges.refusal]
plugin = "refusal"
)";

std::string error_of(const TempDir& dir, std::string_view text,
                     const std::vector<std::string>& overrides = {}) {
  try {
    (void)load_run_file(dir.write("run.toml", text), overrides);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(RunFile, ReadsSectionsInFileOrder) {
  TempDir dir;
  const RunFile run = load_run_file(dir.write("run.toml", kRun), {});
  EXPECT_EQ(run.run.name, "demo");
  EXPECT_EQ(run.run.seed, 3U);
  ASSERT_EQ(run.models.size(), 2U);
  EXPECT_EQ(run.models[0].name, "zeta");  // file order, not alphabetical
  EXPECT_EQ(run.models[1].name, "alpha");
  EXPECT_EQ(run.models[0].core.integer("concurrency"), 4);
  EXPECT_EQ(run.models[1].core.integer("concurrency"), 8);  // default
  EXPECT_EQ(run.suites[0].plugin, "table");
  EXPECT_EQ(run.dir, dir.path());
}

TEST(RunFile, HttpThreadsDefaultToTheTransportsChoiceAndAreBounded) {
  TempDir dir;
  EXPECT_EQ(load_run_file(dir.write("run.toml", kRun), {}).run.http_threads, 0);
  EXPECT_EQ(load_run_file(dir.write("run.toml", kRun), {"run.http_threads=3"}).run.http_threads, 3);
  const std::string error = error_of(dir, kRun, {"run.http_threads=65"});
  EXPECT_NE(error.find("http_threads"), std::string::npos) << error;
  EXPECT_NE(error.find("0..64"), std::string::npos) << error;
}

TEST(RunFile, NameDefaultsToTheFileStem) {
  TempDir dir;
  const RunFile run = load_run_file(dir.write("nightly.toml",
                                              "[models.m]\nplugin = \"sim\"\n[suites.s]\nplugin "
                                              "= \"table\"\n"),
                                    {});
  EXPECT_EQ(run.run.name, "nightly");
}

TEST(RunFile, OverridesReplaceAndAddKeys) {
  TempDir dir;
  const RunFile run = load_run_file(dir.write("run.toml", kRun),
                                    {"models.alpha.temperature=0.7", "models.zeta.concurrency=2",
                                     "models.alpha.model=gpt-4o-mini", "run.seed=11"});
  EXPECT_EQ(run.run.seed, 11U);
  EXPECT_EQ(run.models[0].core.integer("concurrency"), 2);
  EXPECT_EQ((*run.models[1].table)["temperature"].value<double>(), 0.7);
  EXPECT_EQ((*run.models[1].table)["model"].value<std::string>(), "gpt-4o-mini");
}

TEST(RunFile, OverrideWithAWrongTypeIsLocatedAtTheOverride) {
  TempDir dir;
  const std::string message = error_of(dir, kRun, {"models.zeta.concurrency=many"});
  EXPECT_NE(message.find("--set models.zeta.concurrency:1:"), std::string::npos) << message;
  EXPECT_NE(message.find("must be an integer, got a string"), std::string::npos) << message;
}

TEST(RunFile, UnknownSectionAndRunKeyAreLocated) {
  TempDir dir;
  const std::string section = error_of(dir, "[run]\nseed = 1\n\n[modles.x]\nplugin = \"sim\"\n");
  EXPECT_NE(section.find("run.toml:4:2: error: unknown section 'modles'"), std::string::npos)
      << section;
  const std::string message = error_of(dir, "[run]\nsede = 1\n");
  EXPECT_NE(message.find(":2:1: error: unknown key 'run.sede' (did you mean 'seed'?)"),
            std::string::npos)
      << message;
}

TEST(RunFile, ComponentNeedsAPlugin) {
  TempDir dir;
  const std::string message =
      error_of(dir, "[models.m]\nconcurrency = 2\n[suites.s]\nplugin = \"table\"\n");
  EXPECT_NE(message.find("[models.m] needs the key 'plugin'"), std::string::npos) << message;
}

TEST(RunFile, SyntaxErrorsAreLocated) {
  TempDir dir;
  const std::string message = error_of(dir, "[run]\nseed = = 1\n");
  EXPECT_NE(message.find("run.toml:2:"), std::string::npos) << message;
}

TEST(RunFile, NamesAreUniqueAcrossSections) {
  TempDir dir;
  const std::string message =
      error_of(dir, "[models.x]\nplugin = \"sim\"\n[suites.x]\nplugin = \"table\"\n");
  EXPECT_NE(message.find("the name 'x' is used by both models.x and suites.x"), std::string::npos)
      << message;
}

TEST(RunFile, JudgeReferencesMustExist) {
  TempDir dir;
  EXPECT_NE(error_of(dir, std::string(kRun) + "[judges.j]\nplugin = \"refusal\"\nsuites = "
                                              "[\"nope\"]\n")
                .find("names a suite 'nope' the run lacks"),
            std::string::npos);
  EXPECT_NE(error_of(dir, std::string("[run]\nprimary_judge = \"harm\"\n") +
                              std::string(kRun.substr(kRun.find("[models"))))
                .find("names a judge 'harm' the run lacks"),
            std::string::npos);
}

TEST(RunFile, SectionsMustBeTablesOfNamedTables) {
  TempDir dir;
  EXPECT_NE(error_of(dir, "models = 3\n")
                .find("run.toml:1:10: error: 'models' must be a table of named tables, e.g. "
                      "[models.main]"),
            std::string::npos);
  EXPECT_NE(error_of(dir, "[models]\nx = 3\n")
                .find("run.toml:2:5: error: 'models.x' must be a table ([models.x]) with at least "
                      "'plugin = \"...\"'"),
            std::string::npos);
  EXPECT_NE(error_of(dir, "load = 3\n" + std::string(kRun))
                .find("'load' must be a table of named tables, e.g. [load.sweep]"),
            std::string::npos);
  EXPECT_NE(error_of(dir, std::string(kRun) + "[load]\nx = 3\n")
                .find("'load.x' must be a table ([load.x])"),
            std::string::npos);
}

TEST(RunFile, SectionErrorsComeInFileOrder) {
  TempDir dir;
  // models.a's bad value comes before models.b, which is not a table: a's error is the one shown.
  const std::string message =
      error_of(dir, "[models.a]\nplugin = \"sim\"\nconcurrency = \"four\"\n[models]\nb = 3\n");
  EXPECT_NE(message.find("run.toml:3:"), std::string::npos) << message;
  EXPECT_NE(message.find("concurrency"), std::string::npos) << message;
}

TEST(RunFile, FingerprintIgnoresConcurrencyButNotModelKeys) {
  TempDir dir;
  const RunFile a = load_run_file(dir.write("run.toml", kRun), {});
  const RunFile b = load_run_file(dir.write("run.toml", kRun), {"models.zeta.concurrency=1"});
  const RunFile c = load_run_file(dir.write("run.toml", kRun), {"models.zeta.seed=5"});
  EXPECT_EQ(a.models[0].fingerprint, b.models[0].fingerprint);
  EXPECT_NE(a.models[0].fingerprint, c.models[0].fingerprint);
}

}  // namespace
}  // namespace medsafe

namespace medsafe {
namespace {

TEST(RunFileLoad, ReadsASweep) {
  testing::TempDir dir;
  const RunFile run = load_run_file(dir.write("run.toml", std::string(kRun) + R"(
[load.sweep]
mode = "rate"
levels = [50, 100.5]
arrival = "constant"
duration_s = 2
requests = 0
slo_ttft_ms = 200
)"),
                                    {});
  ASSERT_EQ(run.loads.size(), 1U);
  const LoadSpec& load = run.loads[0];
  EXPECT_EQ(load.mode, LoadMode::rate);
  EXPECT_EQ(load.levels, (std::vector<double>{50, 100.5}));
  EXPECT_FALSE(load.poisson);
  EXPECT_EQ(load.suite, "s");  // the first suite by default
  EXPECT_DOUBLE_EQ(load.slo_ttft_ms, 200);
}

TEST(RunFileLoad, RejectsBadSweeps) {
  testing::TempDir dir;
  auto error_with = [&dir](std::string_view load) {
    return error_of(dir, std::string(kRun) + "[load.x]\n" + std::string(load));
  };
  EXPECT_NE(error_with("levels = [1.5]\n").find("whole numbers"), std::string::npos);
  EXPECT_NE(error_with("levels = []\n").find("must not be empty"), std::string::npos);
  EXPECT_NE(error_with("levels = [1]\nrequests = 0\n").find("would never end"), std::string::npos);
  EXPECT_NE(error_with("levels = [1]\nmodels = [\"nope\"]\n").find("names a model 'nope'"),
            std::string::npos);
  EXPECT_NE(error_with("levels = [\"a\"]\n").find("must be an array of numbers"),
            std::string::npos);
  EXPECT_NE(error_with("mode = \"rate\"\n").find("needs the key 'levels'"), std::string::npos);
}

}  // namespace
}  // namespace medsafe
