// Run files changed from the command line as the README shows: a --set that switches the
// quick start's model to another plugin works (the old plugin's keys are dropped with a note),
// --unset removes a key, and a table's unknown keys are reported all at once.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "e2e_support.hpp"

namespace medsafe::e2e {
namespace {

namespace fs = std::filesystem;

const fs::path kSource = fs::path(MEDSAFE_SOURCE_DIR);

// The README's command lines that start with `prefix`, as their words.
std::vector<std::vector<std::string>> readme_commands(std::string_view prefix) {
  std::vector<std::vector<std::string>> commands;
  std::istringstream lines(read_file(kSource / "README.md"));
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with(prefix)) continue;
    std::istringstream words(line);
    std::vector<std::string> command;
    for (std::string word; words >> word;) command.push_back(word);
    commands.push_back(std::move(command));
  }
  return commands;
}

TEST(ConfigCli, TheReadmeCommandThatSwitchesTheQuickstartModelToOpenaiValidates) {
  const auto validates = readme_commands("medsafe validate suites/quickstart.toml --set");
  const auto runs = readme_commands("medsafe run suites/quickstart.toml --set");
  ASSERT_EQ(validates.size(), 1U) << "the README's example moved: update this test with it";
  ASSERT_EQ(runs.size(), 1U);
  // The run line is the validate line with the other command.
  std::vector<std::string> as_run = validates[0];
  as_run[1] = "run";
  EXPECT_EQ(as_run, runs[0]);

  std::vector<std::string> args(validates[0].begin() + 1, validates[0].end());
  EXPECT_NE(std::find(args.begin(), args.end(), "models.sim-medical.plugin=openai"), args.end());
  args[1] = (kSource / args[1]).string();  // relative to the checkout, as the README runs it
  ScratchDir scratch;
  const ProcessResult r = medsafe(args, scratch.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("model sim-medical: openai"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("models.sim-medical: --set changed its plugin from sim to openai; dropped "
                       "the sim keys that openai does not take: itl_ms, refusal_rate, rules, "
                       "ttft_ms"),
            std::string::npos)
      << r.err;
}

TEST(ConfigCli, UnsetRemovesAKeyAndAKeyTheFileLacksIsAnError) {
  ScratchDir scratch;
  const std::string quickstart = (kSource / "suites" / "quickstart.toml").string();
  // Without the unset, the key is unknown to openai; unset, it is gone and nothing is dropped
  // but the other sim keys.
  const ProcessResult r =
      medsafe({"validate", quickstart, "--unset", "models.sim-medical.itl_ms", "--set",
               "models.sim-medical.plugin=openai", "--set", "models.sim-medical.model=m"},
              scratch.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("does not take: refusal_rate, rules, ttft_ms\n"), std::string::npos)
      << r.err;
  const ProcessResult missing =
      medsafe({"validate", quickstart, "--unset", "models.sim-medical.itl"}, scratch.path());
  EXPECT_EQ(missing.exit_code, 2) << missing.err;
  EXPECT_NE(missing.err.find("--unset 'models.sim-medical.itl': the run file has no such key"),
            std::string::npos)
      << missing.err;
}

TEST(ConfigCli, EveryUnknownKeyOfATableIsListedWithItsLocation) {
  ScratchDir scratch;
  const fs::path run = scratch.path() / "run.toml";
  write_file(run,
             "[models.m]\nplugin = \"sim\"\nrefusal_rat = 0.5\nttft_m = 3\nitl_ms = 2\n"
             "colour = 1\n\n[suites.s]\nplugin = \"table\"\npath = \"p.csv\"\n");
  const ProcessResult r = medsafe({"validate", run.string()}, scratch.path());
  EXPECT_EQ(r.exit_code, 3) << r.err;
  const std::string file = run.string();
  EXPECT_NE(r.err.find(file +
                       ":3:1: error: unknown key 'models.m.refusal_rat' (did you mean "
                       "'refusal_rate'?)\n" +
                       file +
                       ":4:1: error: unknown key 'models.m.ttft_m' (did you mean "
                       "'ttft_ms'?)\n" +
                       file + ":6:1: error: unknown key 'models.m.colour'; allowed keys: "),
            std::string::npos)
      << r.err;
}

// A run file over a CSV of the test's own: sim model "m", table suite "s", and `more`.
fs::path small_run(const ScratchDir& scratch, const std::string& csv, const std::string& more) {
  write_file(scratch.path() / "p.csv", csv);
  const fs::path run = scratch.path() / "run.toml";
  write_file(run,
             "[models.m]\nplugin = \"sim\"\n\n[suites.s]\nplugin = \"table\"\npath = \"p.csv\"\n"
             "id_column = \"id\"\n" +
                 more);
  return run;
}

TEST(ConfigCli, ValidateCountsTheLoadRequestsItPlansOrSaysItGoesByDuration) {
  ScratchDir scratch;
  const fs::path run = small_run(scratch, "id,prompt\na,one\nb,two\n",
                                 "\n[load.sweep]\nlevels = [1, 4, 16]\nrequests = 50\n"
                                 "warmup_requests = 5\n\n[load.timed]\nmode = \"rate\"\n"
                                 "levels = [5, 10]\nrequests = 0\nduration_s = 2.5\n");
  const ProcessResult r = medsafe({"validate", run.string()}, scratch.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("  load sweep: 1 model(s) x 3 level(s) = 3 point(s); 165 requests (50 "
                       "measured + 5 warm-up per point)\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("  load timed: 1 model(s) x 2 level(s) = 2 point(s); by duration: 2.5 s "
                       "measured per point"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("  requests: 2 answers + 165 load = 167, and 2 load point(s) by duration"),
            std::string::npos)
      << r.out;
}

TEST(ConfigCli, ATwentyDigitSeedIsOutOfRangeNotAString) {
  ScratchDir scratch;
  const fs::path run = small_run(scratch, "id,prompt\na,one\n", "");
  const ProcessResult r =
      medsafe({"validate", run.string(), "--set", "run.seed=12345678901234567890"}, scratch.path());
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("'run.seed' must be an integer, got a string: 12345678901234567890 is out "
                       "of range for a 64-bit integer"),
            std::string::npos)
      << r.err;
}

TEST(ConfigCli, AMissingDatasetFolderNamesTheKeyAndWhereItIsSet) {
  ScratchDir scratch;
  const fs::path run = scratch.path() / "run.toml";
  const fs::path missing = scratch.path() / "no-such-folder";
  write_file(run,
             "[models.m]\nplugin = \"sim\"\n\n[suites.msb]\nplugin = \"medsafetybench\"\n"
             "path = " +
                 toml_string(missing.string()) + "\n");
  const ProcessResult r = medsafe({"validate", run.string()}, scratch.path());
  EXPECT_EQ(r.exit_code, 5) << r.err;
  EXPECT_NE(r.err.find(run.string() +
                       ":6:8: error: 'suites.msb.path' names the MedSafetyBench "
                       "data folder " +
                       missing.string() + ", which does not exist"),
            std::string::npos)
      << r.err;
}

TEST(ConfigCli, AnOpenCsvQuoteIsReportedOnTheLineWhereItOpened) {
  ScratchDir scratch;
  const fs::path run =
      small_run(scratch, "id,prompt\nq1,\"an open quote\nq2,\"fine\"\nq3,plain\n", "");
  const ProcessResult r = medsafe({"validate", run.string()}, scratch.path());
  EXPECT_EQ(r.exit_code, 5) << r.err;
  EXPECT_NE(r.err.find((scratch.path() / "p.csv").string() +
                       ":2: error: the quoted field opened on this line is closed only on line 3"),
            std::string::npos)
      << r.err;
}

TEST(ConfigCli, ValidateWarnsAboutARowThatIsNotValidUtf8NamingSuiteFileAndRow) {
  ScratchDir scratch;
  const fs::path run = small_run(scratch, "id,prompt\na,fine\nb,caf\xE9 order\n", "");
  const ProcessResult r = medsafe({"validate", run.string()}, scratch.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;  // a warning: the row is still asked
  EXPECT_NE(r.err.find("medsafe: warning: suites.s: " + (scratch.path() / "p.csv").string() +
                       ":3: the prompt ('prompt') is not valid UTF-8 (byte 0xE9 at offset 3)"),
            std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace medsafe::e2e
