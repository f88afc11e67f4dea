// A run's name names its folder under runs/: it cannot lead out of it ([run] out and --out may,
// they say where explicitly). And a run file's text parses the same from the store as from disk.
#include <gtest/gtest.h>

#include "engine/plugin/run_file.hpp"
#include "medsafe/error.hpp"
#include "support/temp_dir.hpp"

namespace medsafe {
namespace {

using testing::TempDir;

std::string run_text(std::string_view run_table) {
  return std::string(run_table) +
         "\n[models.m]\nplugin = \"sim\"\n\n[suites.s]\nplugin = \"table\"\npath = \"p.csv\"\n";
}

std::string error_of(const std::filesystem::path& file,
                     const std::vector<std::string>& overrides = {}) {
  try {
    (void)load_run_file(file, overrides);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::config);
    return e.what();
  }
  return "no error";
}

TEST(RunName, ANameThatLeavesTheRunsFolderIsRefusedWhereItIsWritten) {
  TempDir dir;
  for (const char* name : {"../escape", "..", ".", "a/b", "/tmp/abs", "a\\\\b"}) {
    SCOPED_TRACE(name);
    const auto file =
        dir.write("run.toml", run_text("[run]\nseed = 1\nname = \"" + std::string(name) + "\""));
    const std::string message = error_of(file);
    EXPECT_NE(message.find(file.string() + ":3:8: error: 'run.name' must"), std::string::npos)
        << message;
    EXPECT_NE(message.find("runs/<name>"), std::string::npos) << message;
  }
}

TEST(RunName, AnOverrideIsCheckedTooAndOutStaysFree) {
  TempDir dir;
  const auto file = dir.write("run.toml", run_text("[run]\nname = \"fine-name_1.2\""));
  EXPECT_EQ(load_run_file(file, {}).run.name, "fine-name_1.2");
  const std::string message = error_of(file, {"run.name=../../etc"});
  EXPECT_NE(message.find("--set run.name:1:"), std::string::npos) << message;
  // [run] out is an explicit place: anywhere, also up the tree.
  const RunFile run = load_run_file(file, {"run.out=../elsewhere"});
  EXPECT_EQ(run.run.out, (dir.path() / "../elsewhere").lexically_normal());
}

TEST(RunFileText, ParsesTheStoredTextAsTheFileAtItsPath) {
  TempDir dir;
  const auto file = dir.write("run.toml", run_text("[run]\nname = \"demo\""));
  const RunFile from_disk = load_run_file(file, {"models.m.seed=4"});
  std::filesystem::remove(file);
  const RunFile from_text = parse_run_file(file, from_disk.text, from_disk.overrides);
  EXPECT_EQ(from_text.run.name, "demo");
  EXPECT_EQ(from_text.dir, dir.path());
  ASSERT_EQ(from_text.models.size(), 1U);
  EXPECT_EQ(from_text.models[0].fingerprint, from_disk.models[0].fingerprint);
  EXPECT_EQ(from_text.overrides, std::vector<std::string>{"models.m.seed=4"});
}

}  // namespace
}  // namespace medsafe
