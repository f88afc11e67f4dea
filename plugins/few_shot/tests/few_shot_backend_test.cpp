// The few-shot wrapper alone: the demonstrations it reads (strictly, as `medsafe demos` does),
// what the inner model is sent, and the errors of a bad file or setting.
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "few_shot_backend.hpp"
#include "medsafe/error.hpp"
#include "medsafe/manifest.hpp"
#include "medsafe/plugin.hpp"
#include "recording_backend.hpp"
#include "support/temp_dir.hpp"

namespace medsafe::wrappers {
namespace {

const ConfigSchema& schema() {
  static const ConfigSchema s = read_manifest(FEW_SHOT_MANIFEST).config;
  return s;
}

// A run file's model table with base folder `dir`, as a run validates it.
Config config(const std::filesystem::path& dir, const std::string& toml) {
  const std::filesystem::path file = dir / "run.toml";
  auto table = std::make_shared<const toml::table>(toml::parse(toml, file.string()));
  return Config::validate("models.shots", table, schema(), dir);
}

std::string demo_line(const std::string& prompt, const std::string& answer) {
  return R"({"messages": [{"role": "user", "content": ")" + prompt +
         R"("}, {"role": "assistant", "content": ")" + answer + R"("}]})" + "\n";
}

std::string error_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(FewShot, PutsTheFirstKDemonstrationsBeforeTheRequest) {
  testing::TempDir dir;
  dir.write("demos/train.openai.jsonl",
            demo_line("p1", "a1") + demo_line("p2", "a2") + demo_line("p3", "a3"));
  const auto demos = load_demonstrations(
      config(dir.path(), "inner = 'x'\ndemos = 'demos/train.openai.jsonl'\nk = 2"));
  ASSERT_EQ(demos.size(), 2U);

  testing::RecordingBackend inner;
  FewShotBackend backend(demos, inner);
  Request request = testing::user_request("q");
  request.messages.insert(request.messages.begin(), Message{"system", "s"});
  std::optional<Response> got;
  backend.submit(request, [&got](Response&& r) { got = std::move(r); });
  ASSERT_TRUE(got.has_value());
  ASSERT_EQ(inner.requests.size(), 1U);
  const auto& m = inner.requests[0].messages;
  ASSERT_EQ(m.size(), 6U);
  EXPECT_EQ(m[0].role + ":" + m[0].content, "system:s");
  EXPECT_EQ(m[1].role + ":" + m[1].content, "user:p1");
  EXPECT_EQ(m[2].role + ":" + m[2].content, "assistant:a1");
  EXPECT_EQ(m[3].role + ":" + m[3].content, "user:p2");
  EXPECT_EQ(m[4].role + ":" + m[4].content, "assistant:a2");
  EXPECT_EQ(m[5].role + ":" + m[5].content, "user:q");
}

TEST(FewShot, AMissingFileNamesTheKeyAndLine) {
  testing::TempDir dir;
  const std::string message = error_of([&] {
    (void)load_demonstrations(config(dir.path(), "inner = 'x'\ndemos = 'nowhere.openai.jsonl'"));
  });
  EXPECT_NE(message.find("run.toml:2:"), std::string::npos) << message;
  EXPECT_NE(message.find("'models.shots.demos' names"), std::string::npos) << message;
  EXPECT_NE(message.find("nowhere.openai.jsonl', which is not a readable file"), std::string::npos)
      << message;
}

TEST(FewShot, ARowThatFailsTheSchemaNamesFileRowAndKey) {
  testing::TempDir dir;
  const auto file =
      dir.write("bad.openai.jsonl", demo_line("p1", "a1") +
                                        R"({"messages": [{"role": "user", "content": "p2"}, )"
                                        R"({"role": "assistant", "text": "a2"}]})"
                                        "\n");
  const std::string message = error_of([&] {
    (void)load_demonstrations(config(dir.path(), "inner = 'x'\ndemos = 'bad.openai.jsonl'"));
  });
  EXPECT_NE(message.find(file.string() + ":2:"), std::string::npos) << message;
  EXPECT_NE(message.find("text"), std::string::npos) << message;
  EXPECT_NE(message.find("the demonstrations of 'models.shots.demos', "), std::string::npos)
      << message;
  EXPECT_NE(message.find("run.toml:2"), std::string::npos) << message;
}

TEST(FewShot, AnEmptyAnswerIsAnError) {
  testing::TempDir dir;
  const auto file = dir.write("empty.openai.jsonl", demo_line("p1", ""));
  const std::string message = error_of([&] {
    (void)load_demonstrations(config(dir.path(), "inner = 'x'\ndemos = 'empty.openai.jsonl'"));
  });
  EXPECT_NE(message.find(file.string() + ":1:"), std::string::npos) << message;
}

TEST(FewShot, KBeyondTheFileAndAnUnknownFormatNameTheirKeys) {
  testing::TempDir dir;
  dir.write("d.openai.jsonl", demo_line("p1", "a1"));
  const std::string k = error_of([&] {
    (void)load_demonstrations(config(dir.path(), "inner = 'x'\ndemos = 'd.openai.jsonl'\nk = 3"));
  });
  EXPECT_NE(k.find("run.toml:3:"), std::string::npos) << k;
  EXPECT_NE(k.find("'models.shots.k' must be 1 .. 1"), std::string::npos) << k;
  const std::string format = error_of([&] {
    (void)load_demonstrations(
        config(dir.path(), "inner = 'x'\ndemos = 'd.openai.jsonl'\nformat = 'csv'"));
  });
  EXPECT_NE(format.find("'models.shots.format' must be"), std::string::npos) << format;
}

std::vector<std::string> prompts_of(const std::vector<DemoPair>& demos) {
  std::vector<std::string> prompts;
  for (const DemoPair& d : demos) prompts.push_back(d.prompt);
  return prompts;
}

TEST(FewShot, ASeededRandomSelectionIsDeterministicAndDependsOnTheSeed) {
  testing::TempDir dir;
  std::string lines;
  for (int i = 0; i < 20; ++i) lines += demo_line("p" + std::to_string(i), "a" + std::to_string(i));
  dir.write("d.openai.jsonl", lines);
  const auto load = [&](const std::string& keys) {
    return prompts_of(load_demonstrations(
        config(dir.path(), "inner = 'x'\ndemos = 'd.openai.jsonl'\nk = 3\n" + keys)));
  };
  const std::vector<std::string> first = {"p0", "p1", "p2"};
  EXPECT_EQ(load(""), first) << "select defaults to the first k";
  EXPECT_EQ(load("select = 'first'\nseed = 9"), first) << "the seed does not move 'first'";
  const auto seed1 = load("select = 'random'\nseed = 1");
  const auto seed2 = load("select = 'random'\nseed = 2");
  ASSERT_EQ(seed1.size(), 3U);
  ASSERT_EQ(seed2.size(), 3U);
  EXPECT_EQ(load("select = 'random'\nseed = 1"), seed1) << "the same seed, the same sample";
  EXPECT_NE(seed1, seed2) << "another seed, another sample";
  EXPECT_NE(seed1, first);
  // In file order, and each a distinct demonstration of the file.
  const auto index = [](const std::string& p) { return std::stoi(p.substr(1)); };
  for (const auto* sample : {&seed1, &seed2}) {
    for (std::size_t i = 1; i < sample->size(); ++i)
      EXPECT_LT(index((*sample)[i - 1]), index((*sample)[i])) << (*sample)[i];
  }
  // Removing a row the sample did not take changes nothing.
  std::string untaken;
  for (int i = 0; i < 20 && untaken.empty(); ++i) {
    const std::string p = "p" + std::to_string(i);
    if (std::find(seed1.begin(), seed1.end(), p) == seed1.end()) untaken = p;
  }
  std::string kept;
  for (int i = 0; i < 20; ++i) {
    const std::string p = "p" + std::to_string(i);
    if (p != untaken) kept += demo_line(p, "a" + std::to_string(i));
  }
  dir.write("d.openai.jsonl", kept);
  EXPECT_EQ(load("select = 'random'\nseed = 1"), seed1) << "without " << untaken;
}

TEST(FewShot, AnUnknownSelectionNamesItsKey) {
  testing::TempDir dir;
  dir.write("d.openai.jsonl", demo_line("p1", "a1"));
  const std::string message = error_of([&] {
    (void)load_demonstrations(
        config(dir.path(), "inner = 'x'\ndemos = 'd.openai.jsonl'\nselect = 'best'"));
  });
  EXPECT_NE(message.find("run.toml:3:"), std::string::npos) << message;
  EXPECT_NE(message.find("select"), std::string::npos) << message;
}

}  // namespace
}  // namespace medsafe::wrappers
