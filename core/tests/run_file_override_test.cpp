// Changing a run file from the command line: --unset removes keys (before every --set), a --set
// that gives a component another plugin is noted so that the old plugin's keys can be dropped,
// and every unknown key of a table is reported at once.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/plugin/run_file.hpp"
#include "support/temp_dir.hpp"

namespace medsafe {
namespace {

using testing::TempDir;
namespace fs = std::filesystem;

constexpr std::string_view kRun = R"([run]
seed = 3

[models.target]
plugin = "sim"
itl_ms = 4
ttft_ms = 40
concurrency = 4

[suites.s]
plugin = "table"
path = "prompts.csv"
)";

std::string error_of(const TempDir& dir, std::string_view text,
                     const std::vector<std::string>& overrides,
                     const std::vector<std::string>& unsets = {}) {
  try {
    (void)load_run_file(dir.write("run.toml", text), overrides, unsets);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(RunFileOverrides, UnsetRemovesAKeyBeforeTheSetsApply) {
  TempDir dir;
  const RunFile run = load_run_file(dir.write("run.toml", kRun), {"models.target.ttft_ms=9"},
                                    {"models.target.itl_ms", "models.target.ttft_ms"});
  const ComponentSpec& target = run.models.at(0);
  EXPECT_FALSE(target.table->contains("itl_ms"));
  // Unset first, then set: the --set value is the one that stays.
  EXPECT_EQ(target.table->get("ttft_ms")->value<std::int64_t>(), 9);
  EXPECT_EQ(target.fingerprint.find("itl_ms"), std::string::npos) << target.fingerprint;
}

TEST(RunFileOverrides, UnsettingAKeyTheFileLacksIsAUsageError) {
  TempDir dir;
  try {
    (void)load_run_file(dir.write("run.toml", kRun), {}, {"models.target.itl"});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_STREQ(e.what(), "--unset 'models.target.itl': the run file has no such key");
  }
  EXPECT_NE(error_of(dir, kRun, {}, {"models.target = 1"})
                .find("--unset 'models.target = 1': not "
                      "a key"),
            std::string::npos);
}

TEST(RunFileOverrides, ASetThatChangesThePluginNamesThePluginItReplaced) {
  TempDir dir;
  const fs::path file = dir.write("run.toml", kRun);
  EXPECT_EQ(load_run_file(file, {"models.target.plugin=openai"}).models.at(0).replaced_plugin,
            "sim");
  // The plugin the file named is kept over several --set; set back, nothing was replaced.
  EXPECT_EQ(load_run_file(file, {"models.target.plugin=openai", "models.target.plugin=anthropic"})
                .models.at(0)
                .replaced_plugin,
            "sim");
  EXPECT_EQ(load_run_file(file, {"models.target.plugin=openai", "models.target.plugin=sim"})
                .models.at(0)
                .replaced_plugin,
            "");
  EXPECT_EQ(load_run_file(file, {"models.target.itl_ms=5"}).models.at(0).replaced_plugin, "");
  // A component a --set adds replaces nothing.
  EXPECT_EQ(load_run_file(file, {"models.new.plugin=sim"}).models.at(1).replaced_plugin, "");
}

TEST(RunFileOverrides, DroppedKeysLeaveTheTableAndTheFingerprintOthersKeepTheirPlace) {
  TempDir dir;
  RunFile run = load_run_file(dir.write("run.toml", kRun), {"models.target.plugin=openai"});
  ComponentSpec& target = run.models.at(0);
  const std::string before = target.fingerprint;
  drop_keys(target, {"itl_ms"});
  EXPECT_FALSE(target.table->contains("itl_ms"));
  EXPECT_NE(target.fingerprint, before);
  EXPECT_EQ(target.fingerprint.find("itl_ms"), std::string::npos) << target.fingerprint;
  EXPECT_EQ(location_of(*target.table->get("ttft_ms")).line, 7U);  // still where it was written
}

TEST(RunFileOverrides, EveryUnknownKeyOfATableIsReportedAtOnceWithItsPlace) {
  TempDir dir;
  const std::string message = error_of(dir, "[run]\nsede = 1\nname = \"x\"\nsampels = 2\n", {});
  const std::string file = (dir.path() / "run.toml").string();
  EXPECT_NE(
      message.find(file + ":2:1: error: unknown key 'run.sede' (did you mean 'seed'?)\n" + file +
                   ":4:1: error: unknown key 'run.sampels' (did you mean "
                   "'samples'?); allowed keys: "),
      std::string::npos)
      << message;
}

}  // namespace
}  // namespace medsafe
