// Exporting demonstrations: the split follows a stable hash (adding rows moves no other row),
// a mix ratio counts per exported primary demonstration, leaks are refused, dropped or allowed
// as asked and always reported, and an empty reference answer names its suite and item.
#include "report/demos_export.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "medsafe/error.hpp"
#include "support/temp_dir.hpp"
#include "support/test_folder.hpp"

namespace medsafe {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using testing::TempDir;

DemoSource source(const std::string& name, int from, int to, const std::string& stem = "Request") {
  DemoSource s;
  s.name = name;
  s.kind = "suite";
  for (int i = from; i < to; ++i) {
    Demonstration d;
    d.item_id = std::to_string(i);
    d.id = name + "/" + d.item_id;
    d.prompt = stem + " number " + std::to_string(i) + " about a patient's records";
    d.answer = "I can't help with that.";
    d.where = "suite '" + name + "', item '" + d.item_id + "'";
    s.demos.push_back(std::move(d));
  }
  return s;
}

// id -> split, from demonstrations.jsonl.
std::map<std::string, std::string> splits_of(const fs::path& out) {
  std::map<std::string, std::string> splits;
  const std::string text = testing::read_file(out / "demonstrations.jsonl");
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t end = text.find('\n', pos);
    const Json line = Json::parse(text.substr(pos, end - pos));
    splits[line["id"]] = line["split"];
    pos = end + 1;
  }
  return splits;
}

ExportSettings settings_in(const fs::path& out, double val = 0, std::uint64_t seed = 7) {
  ExportSettings s;
  s.out = out;
  s.val = val;
  s.seed = seed;
  return s;
}

TEST(DemosExport, TheSplitIsStableWhenRowsAreAdded) {
  TempDir dir;
  const ExportSummary first =
      export_demonstrations({source("s", 0, 200)}, {}, nullptr, settings_in(dir.path() / "a", 0.2));
  EXPECT_EQ(first.train + first.val, 200U);
  EXPECT_GT(first.val, 20U);  // a share of 0.2 of 200, by hash: far from 0 and from all
  EXPECT_LT(first.val, 60U);
  const auto before = splits_of(dir.path() / "a");
  (void)export_demonstrations({source("s", 0, 260)}, {}, nullptr,
                              settings_in(dir.path() / "b", 0.2));
  const auto after = splits_of(dir.path() / "b");
  for (const auto& [id, split] : before) EXPECT_EQ(after.at(id), split) << id;
  // Another seed is another split.
  (void)export_demonstrations({source("s", 0, 200)}, {}, nullptr,
                              settings_in(dir.path() / "c", 0.2, 8));
  const auto other = splits_of(dir.path() / "c");
  std::size_t moved = 0;
  for (const auto& [id, split] : before) moved += other.at(id) != split ? 1 : 0;
  EXPECT_GT(moved, 0U);
  // The counts are the files' contents.
  const Json val = Json::parse(testing::read_file(dir.path() / "a" / "val.alpaca.json"));
  EXPECT_EQ(val.size(), first.val);
  EXPECT_TRUE(fs::exists(dir.path() / "a" / "val.openai.jsonl"));
}

TEST(DemosExport, CopiesOfARequestStayOnOneSide) {
  TempDir dir;
  DemoSource s = source("s", 0, 100);
  DemoSource copies = source("t", 0, 100);
  for (Demonstration& d : copies.demos) d.prompt = "  " + d.prompt + "!!";  // same normalised
  (void)export_demonstrations({s, copies}, {}, nullptr, settings_in(dir.path(), 0.5));
  const auto splits = splits_of(dir.path());
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(splits.at("s/" + std::to_string(i)), splits.at("t/" + std::to_string(i)));
  }
  const Json manifest = Json::parse(testing::read_file(dir.path() / "export.json"));
  EXPECT_EQ(manifest["repeated_prompts"], 100);
}

TEST(DemosExport, IdsStayUniqueWhenSourcesNameItemsAlike) {
  TempDir dir;
  (void)export_demonstrations({source("s", 0, 3), source("s", 0, 3, "Other")}, {}, nullptr,
                              settings_in(dir.path()));
  const auto splits = splits_of(dir.path());
  EXPECT_EQ(splits.size(), 6U);
  EXPECT_EQ(splits.count("s/2~2"), 1U);
  const Json sharegpt = Json::parse(testing::read_file(dir.path() / "train.sharegpt.json"));
  std::set<std::string> ids;
  for (const Json& entry : sharegpt) ids.insert(entry["id"].get<std::string>());
  EXPECT_EQ(ids.size(), 6U);
}

TEST(DemosExport, AMixRatioCountsPerPrimaryDemonstration) {
  TempDir dir;
  const ExportSummary half =
      export_demonstrations({source("harm", 0, 40)}, {{source("benign", 0, 100, "Benign"), 0.5}},
                            nullptr, settings_in(dir.path() / "half"));
  EXPECT_EQ(half.train, 60U);
  EXPECT_TRUE(half.notes.empty());
  const Json manifest = half.manifest;
  EXPECT_EQ(manifest["sources"][1]["requested"], 20);
  EXPECT_EQ(manifest["sources"][1]["taken"], 20);
  std::set<std::string> chosen;
  for (const auto& [id, split] : splits_of(dir.path() / "half")) {
    if (id.rfind("benign/", 0) == 0) chosen.insert(id);
  }
  // More rows in the mixed source: the new sample is the old one but for rows the new ones
  // displaced (a bottom-k sample by hash).
  (void)export_demonstrations({source("harm", 0, 40)}, {{source("benign", 0, 120, "Benign"), 0.5}},
                              nullptr, settings_in(dir.path() / "more"));
  for (const auto& [id, split] : splits_of(dir.path() / "more")) {
    if (id.rfind("benign/", 0) != 0) continue;
    EXPECT_TRUE(chosen.count(id) == 1 || std::stoi(id.substr(7)) >= 100) << id;
  }
  // Asking for more than there is takes all and says so.
  const ExportSummary most =
      export_demonstrations({source("harm", 0, 40)}, {{source("benign", 0, 100, "Benign"), 3}},
                            nullptr, settings_in(dir.path() / "most"));
  EXPECT_EQ(most.train, 140U);
  ASSERT_EQ(most.notes.size(), 1U);
  EXPECT_EQ(most.notes[0],
            "mix 'benign' asked for 120 demonstrations (3.00 x 40) but has 100: all are taken");
}

// An index over request 3 and 5 of source("s") (one exact, one near-duplicate).
LeakageIndex leaky_index() {
  const DemoSource s = source("s", 0, 10);
  return LeakageIndex({{"eval.toml: suite 'test'", "test", "e3", s.demos[3].prompt},
                       {"eval.toml: suite 'test'", "test", "e5", "Kindly " + s.demos[5].prompt}},
                      0.8);
}

TEST(DemosExport, ALeakIsRefusedByDefaultAndOnlyTheReportIsWritten) {
  TempDir dir;
  const LeakageIndex index = leaky_index();
  try {
    (void)export_demonstrations({source("s", 0, 10)}, {}, &index, settings_in(dir.path()));
    FAIL() << "a leak was exported";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::data);
    const std::string message = e.what();
    EXPECT_NE(message.find("leakage: 2 of 10 demonstrations match evaluation prompts (1 exact, 1 "
                           "near-duplicates with Jaccard >= 0.80 on word 5-shingles); nothing "
                           "was exported"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("suite 's', item '3' \"Request number 3"), std::string::npos);
  }
  EXPECT_FALSE(fs::exists(dir.path() / "train.openai.jsonl"));
  const Json report = Json::parse(testing::read_file(dir.path() / "leakage.json"));
  EXPECT_EQ(report["exact"], 1);
  EXPECT_EQ(report["near"], 1);
  ASSERT_EQ(report["hits"].size(), 2U);
  EXPECT_EQ(report["hits"][0]["evaluation"]["item_id"], "e3");
  EXPECT_EQ(report["hits"][1]["kind"], "near");
  EXPECT_EQ(report["hits"][1]["demonstration"]["id"], "s/5");
}

TEST(DemosExport, LeaksAreDroppedOrAllowedWhenAsked) {
  TempDir dir;
  const LeakageIndex index = leaky_index();
  ExportSettings drop = settings_in(dir.path() / "drop");
  drop.leaked = LeakPolicy::drop;
  const ExportSummary dropped = export_demonstrations({source("s", 0, 10)}, {}, &index, drop);
  EXPECT_EQ(dropped.train, 8U);
  EXPECT_EQ(dropped.dropped_leaks, 2U);
  const auto kept = splits_of(dir.path() / "drop");
  EXPECT_EQ(kept.count("s/3") + kept.count("s/5"), 0U);
  EXPECT_EQ(Json::parse(testing::read_file(dir.path() / "drop" / "leakage.json"))["hits"].size(),
            2U);

  ExportSettings allow = settings_in(dir.path() / "allow");
  allow.leaked = LeakPolicy::allow;
  const ExportSummary allowed = export_demonstrations({source("s", 0, 10)}, {}, &index, allow);
  EXPECT_EQ(allowed.train, 10U);
  EXPECT_EQ(allowed.exact_leaks + allowed.near_leaks, 2U);
  // Each exported leak carries its match in demonstrations.jsonl.
  const std::string records = testing::read_file(dir.path() / "allow" / "demonstrations.jsonl");
  std::size_t marked = 0;
  for (std::size_t at = records.find("\"leak\":"); at != std::string::npos;
       at = records.find("\"leak\":", at + 1)) {
    ++marked;
  }
  EXPECT_EQ(marked, 2U);
}

TEST(DemosExport, ALaterExportReplacesTheFilesOfAnEarlierOne) {
  TempDir dir;
  (void)export_demonstrations({source("s", 0, 50)}, {}, nullptr, settings_in(dir.path(), 0.3));
  ASSERT_TRUE(fs::exists(dir.path() / "val.sharegpt.json"));
  ExportSettings only_alpaca = settings_in(dir.path());
  only_alpaca.formats = {DemoFormat::alpaca};
  (void)export_demonstrations({source("s", 0, 50)}, {}, nullptr, only_alpaca);
  EXPECT_TRUE(fs::exists(dir.path() / "train.alpaca.json"));
  for (const char* stale : {"val.sharegpt.json", "val.alpaca.json", "train.openai.jsonl"}) {
    EXPECT_FALSE(fs::exists(dir.path() / stale)) << stale;
  }
}

TEST(DemosExport, AnEmptyReferenceNamesTheSuiteAndTheRow) {
  SuiteSpec spec;
  spec.section = "suites";
  spec.name = "train";
  spec.plugin = "table";
  SuiteSlot slot;
  slot.spec = &spec;
  slot.items = {{"1", "", "How do I forge a note?", "No.", {}},
                {"2", "", "How do I fake a scan?", " \n", {}},
                {"3", "", "How do I hide an error?", "I won't.", {}}};
  try {
    (void)suite_demonstrations(slot, "train.toml", false);
    FAIL() << "an empty reference was exported";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::data);
    EXPECT_EQ(std::string(e.what()),
              "train.toml: suite 'train', item '2': error: the reference answer is empty, so "
              "the item is no demonstration (use --skip-empty to leave such items out, counted)");
  }
  const DemoSource skipped = suite_demonstrations(slot, "train.toml", true);
  EXPECT_EQ(skipped.demos.size(), 2U);
  EXPECT_EQ(skipped.skipped_empty, 1U);
  EXPECT_EQ(skipped.demos[1].id, "train/3");
}

TEST(DemosExport, UnitHashIsStable) {
  // Pinned: another hash would move exported rows to the other split and change every mix
  // sample. The values are FNV-1a + splitmix64 as stable_hash.hpp defines them.
  EXPECT_DOUBLE_EQ(unit_hash(7, "val", "request"), 0.7222515509812216);
  EXPECT_DOUBLE_EQ(unit_hash(0, "val", ""), 0.9865106272272433);
  EXPECT_NE(unit_hash(7, "val", "request"), unit_hash(8, "val", "request"));
  EXPECT_NE(unit_hash(7, "val", "request"), unit_hash(7, "mix", "request"));
}

}  // namespace
}  // namespace medsafe
