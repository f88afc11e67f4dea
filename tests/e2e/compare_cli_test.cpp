// `medsafe compare` and `medsafe report` on real runs of the built binary.
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "e2e_support.hpp"

namespace medsafe::e2e {
namespace {

namespace fs = std::filesystem;

/// Runs the 900-request MedSafetyBench file with `target_keys` into `dir`.
void run_into(const fs::path& scratch, const fs::path& data, std::string_view target_keys,
              const fs::path& dir) {
  const fs::path run_file = scratch / (dir.filename().string() + ".toml");
  write_file(run_file, medsafetybench_run_file(data, target_keys, false));
  const ProcessResult r = medsafe({"run", run_file.string(), "--out", dir.string(), "-q"}, scratch);
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> fields;
  std::istringstream in(line);
  for (std::string field; std::getline(in, field, ',');) fields.push_back(field);
  return fields;
}

/// category → change, from the CSV of a comparison (its fields hold no commas or quotes here).
std::map<std::string, std::string> changes(const std::string& csv) {
  std::istringstream in(csv);
  std::string line;
  std::getline(in, line);
  const auto header = split(line);
  const auto column = [&](std::string_view name) {
    return static_cast<std::size_t>(std::find(header.begin(), header.end(), name) - header.begin());
  };
  std::map<std::string, std::string> out;
  while (std::getline(in, line)) {
    const auto fields = split(line);
    out[fields.at(column("category"))] = fields.at(column("change"));
  }
  return out;
}

TEST(CompareCli, FlagsOnlyThePrincipleThatGotWorseAndGatesCi) {
  const auto data = medsafetybench_dir();
  if (!data) GTEST_SKIP() << "MedSafetyBench is not in " << MEDSAFE_SHARED_DATA;
  ScratchDir scratch;
  const fs::path before = scratch.path() / "before";
  const fs::path after = scratch.path() / "after";
  run_into(scratch.path(), *data, "", before);
  // The same model, except that it complies far more often with principle 4 requests.
  run_into(scratch.path(), *data, "rules = [{ category = \"4\", refusal_rate = 0.2 }]", after);

  const fs::path csv = scratch.path() / "compare.csv";
  const fs::path html = scratch.path() / "compare.html";
  const ProcessResult plain = medsafe(
      {"compare", before.string(), after.string(), "--csv", csv.string(), "--html", html.string()},
      scratch.path());
  ASSERT_EQ(plain.exit_code, 0) << plain.err;  // no gate: a report, not a failure
  const auto by_category = changes(read_file(csv));
  ASSERT_EQ(by_category.size(), 10U) << read_file(csv);  // principles 1–9 and all
  for (int p = 1; p <= 9; ++p) {
    const std::string expected = p == 4 ? "worse" : "no significant change";
    EXPECT_EQ(by_category.at(std::to_string(p)), expected) << "principle " << p;
  }
  EXPECT_NE(plain.out.find("| medsafety | 4 · rights and privacy |"), std::string::npos);
  EXPECT_NE(plain.out.find("Significantly worse: 4 · rights and privacy (medsafety)"),
            std::string::npos)
      << plain.out;
  const std::string page = read_file(html);
  EXPECT_GE(count(page, "data-category=\"4\" data-change=\"worse\""), 1U);

  const ProcessResult gated = medsafe(
      {"compare", before.string(), after.string(), "--fail-if-worse", "-q"}, scratch.path());
  EXPECT_EQ(gated.exit_code, 10) << gated.err;
  EXPECT_NE(gated.err.find("principle 4"), std::string::npos) << gated.err;
  EXPECT_TRUE(gated.out.empty());

  const ProcessResult other = medsafe(
      {"compare", before.string(), after.string(), "--fail-if-worse=1,2,3", "-q"}, scratch.path());
  EXPECT_EQ(other.exit_code, 0) << other.err;

  const ProcessResult typo = medsafe(
      {"compare", before.string(), after.string(), "--fail-if-worse=44", "-q"}, scratch.path());
  EXPECT_EQ(typo.exit_code, 2) << typo.err;  // a gate that can never fire is a usage error
}

TEST(ReportCli, SameSeedGivesByteIdenticalSummaryIntervals) {
  const auto data = medsafetybench_dir();
  if (!data) GTEST_SKIP() << "MedSafetyBench is not in " << MEDSAFE_SHARED_DATA;
  ScratchDir scratch;
  const fs::path one = scratch.path() / "one";
  const fs::path two = scratch.path() / "two";
  run_into(scratch.path(), *data, "", one);
  run_into(scratch.path(), *data, "", two);
  const std::string from_run = read_file(one / "summary.csv");
  ASSERT_NE(from_run.find("harm_ci_low,harm_ci_high"), std::string::npos);
  // Intervals are there: the `all` row of `target` has both bounds of every estimate.
  std::istringstream lines(from_run);
  std::string header_line, line;
  std::getline(lines, header_line);
  const auto header = split(header_line);
  bool found = false;
  while (std::getline(lines, line)) {
    if (!line.starts_with("target,medsafety,all,")) continue;
    found = true;
    const auto fields = split(line + ",");  // a trailing comma keeps a last empty field
    for (const char* column :
         {"harm_ci_low", "harm_ci_high", "harmful_rate_ci_low", "harmful_rate_ci_high",
          "share_5_ci_low", "share_5_ci_high", "refusal_rate_ci_low", "refusal_rate_ci_high"}) {
      const auto at = std::find(header.begin(), header.end(), column) - header.begin();
      ASSERT_LT(static_cast<std::size_t>(at), fields.size()) << column;
      EXPECT_FALSE(fields[static_cast<std::size_t>(at)].empty()) << column << " in " << line;
    }
  }
  EXPECT_TRUE(found) << from_run;

  for (int build = 0; build < 2; ++build) {
    const ProcessResult r = medsafe({"report", one.string(), "-q"}, scratch.path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(read_file(one / "summary.csv"), from_run) << "report build " << build;
  }
  // Another run of the same file and seed into another directory: the same bytes again.
  EXPECT_EQ(read_file(two / "summary.csv"), from_run);
}

}  // namespace
}  // namespace medsafe::e2e
