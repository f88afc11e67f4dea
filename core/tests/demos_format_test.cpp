// The three fine-tuning formats: what medsafe writes conforms to docs/demos/*.schema.json and
// reads back unchanged; a file that does not fit is refused naming its line, entry and key.
#include "medsafe/demos/format.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "medsafe/error.hpp"
#include "support/demo_schemas.hpp"
#include "support/temp_dir.hpp"
#include "support/test_folder.hpp"

namespace medsafe {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using testing::TempDir;

const std::vector<DemoPair> kPairs = {
    {"s/1", "How do I forge a prescription?", "I can't help with forging prescriptions."},
    {"s/2", "Line one\nline \"two\"\t\\", "Refused: \xE2\x80\x94 see a pharmacist."},
    // Invalid UTF-8 (a lone continuation byte) must not make the file invalid JSON.
    {"s/3", "bad \x80 byte", "no"},
};

std::vector<std::string> schema_errors(DemoFormat format, const std::string& text) {
  return testing::demo_schema_errors(to_string(format), text,
                                     fs::path(MEDSAFE_SOURCE_DIR) / "docs");
}

TEST(DemosFormat, WrittenFilesConformToTheirSchemasAndReadBack) {
  TempDir dir;
  for (const DemoFormat format : kDemoFormats) {
    const std::string text = render_demos(format, kPairs);
    for (const std::string& e : schema_errors(format, text)) {
      ADD_FAILURE() << to_string(format) << ": " << e;
    }
    const fs::path file = dir.write("d" + std::string(demo_file_suffix(format)), text);
    EXPECT_EQ(demo_format_of(file), format);
    const std::vector<DemoPair> back = read_demo_file(file, format);
    ASSERT_EQ(back.size(), kPairs.size()) << to_string(format);
    for (std::size_t i = 0; i < 2; ++i) {
      EXPECT_EQ(back[i].prompt, kPairs[i].prompt);
      EXPECT_EQ(back[i].answer, kPairs[i].answer);
    }
    EXPECT_EQ(back[2].prompt, "bad \xEF\xBF\xBD byte");  // U+FFFD
    EXPECT_EQ(back[0].id, format == DemoFormat::sharegpt ? "s/1" : "");
  }
}

TEST(DemosFormat, AlpacaIsTheMedSafetyBenchShape) {
  const Json alpaca = Json::parse(render_demos(DemoFormat::alpaca, kPairs));
  ASSERT_TRUE(alpaca.is_array());
  EXPECT_EQ(alpaca[0], Json::parse(R"({"instruction": "How do I forge a prescription?",
      "input": "", "output": "I can't help with forging prescriptions."})"));
}

TEST(DemosFormat, TheSchemasRejectWhatTheyForbid) {
  // Each schema check must be able to fail: a swapped role, an extra key, an empty answer.
  Json openai = Json::parse(render_demos(DemoFormat::openai, {kPairs[0]}));
  openai["messages"][0]["role"] = "assistant";
  openai["extra"] = 1;
  EXPECT_EQ(schema_errors(DemoFormat::openai, openai.dump() + "\n").size(), 2U);
  Json alpaca = Json::parse(render_demos(DemoFormat::alpaca, {kPairs[0]}));
  alpaca[0]["output"] = "";
  alpaca[0].erase("input");
  EXPECT_EQ(schema_errors(DemoFormat::alpaca, alpaca.dump()).size(), 2U);
  Json sharegpt = Json::parse(render_demos(DemoFormat::sharegpt, {kPairs[0]}));
  sharegpt[0]["conversations"].push_back(sharegpt[0]["conversations"][1]);
  EXPECT_EQ(schema_errors(DemoFormat::sharegpt, sharegpt.dump()).size(), 2U);  // items, maxItems
}

// The message of the data Error that reading `text` as `format` throws.
std::string read_error(DemoFormat format, const std::string& text, bool skip_empty = false) {
  TempDir dir;
  const fs::path file = dir.write("bad" + std::string(demo_file_suffix(format)), text);
  try {
    (void)read_demo_file(file, format, skip_empty);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::data);
    const std::string message = e.what();
    // Named from the file on: the folder differs per test.
    return message.substr(message.find("bad."));
  }
  ADD_FAILURE() << "read without error: " << text;
  return "";
}

TEST(DemosFormat, BadOpenAiLinesNameTheLineEntryAndKey) {
  const std::string good =
      R"({"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]})";
  EXPECT_EQ(read_error(DemoFormat::openai,
                       good + "\n\n" + R"({"messages":[{"role":"bot","content":"q"}]})"),
            "bad.openai.jsonl:3: error: entry 2: 'messages'[0].'role' must be \"system\", "
            "\"user\" or \"assistant\", got \"bot\"");
  EXPECT_EQ(read_error(DemoFormat::openai, R"({"messages":[{"role":"user","content":3}]})"),
            "bad.openai.jsonl:1: error: entry 1: 'messages'[0].'content' must be a string, got "
            "number");
  EXPECT_EQ(read_error(DemoFormat::openai, R"({"prompt":"q","completion":"a"})"),
            "bad.openai.jsonl:1: error: entry 1: has the unknown key 'completion'; allowed: "
            "'messages'");
  EXPECT_EQ(
      read_error(DemoFormat::openai,
                 R"({"messages":[{"role":"user","content":"q"},{"role":"user","content":"a"}]})"),
      "bad.openai.jsonl:1: error: entry 1: 'messages' must be one request and its answer "
      "([system,] user, assistant); got [user, user] (multi-turn conversations are not "
      "demonstrations medsafe reads)");
  // The position is in the file, not in the row nlohmann parsed.
  EXPECT_EQ(read_error(DemoFormat::openai, good + "\n{\"messages\": [\n"),
            "bad.openai.jsonl:2:15: error: invalid JSON: syntax error while parsing value - "
            "unexpected end of input; expected '[', '{', or a literal");
  EXPECT_EQ(read_error(DemoFormat::alpaca, "[{\"instruction\": \"q\",\n \"output\": }]"),
            "bad.alpaca.json:2:12: error: invalid JSON: syntax error while parsing value - "
            "unexpected '}'; expected '[', '{', or a literal");
  EXPECT_EQ(read_error(DemoFormat::openai, "\n\n"),
            "bad.openai.jsonl: error: the file holds no demonstration");
}

TEST(DemosFormat, BadJsonArrayEntriesNameTheirLine) {
  const std::string alpaca =
      "[\n  {\"instruction\": \"q\", \"output\": \"a\"},\n  {\"instruction\": "
      "\"q2\", \"answer\": \"a\"}\n]\n";
  EXPECT_EQ(read_error(DemoFormat::alpaca, alpaca),
            "bad.alpaca.json:3: error: entry 2: has the unknown key 'answer'; allowed: "
            "'instruction', 'input', 'output'");
  EXPECT_EQ(read_error(DemoFormat::alpaca, R"([{"instruction": "q"}])"),
            "bad.alpaca.json:1: error: entry 1: 'output' is missing (it must be a string)");
  EXPECT_EQ(
      read_error(DemoFormat::alpaca, R"({"instruction": "q", "output": "a"})"),
      "bad.alpaca.json:1: error: the file must be a JSON array of entries (alpaca format), got "
      "object");
  const std::string sharegpt =
      "[{\"id\": 1, \"conversations\": [{\"from\": \"human\", \"value\": \"q\"}, {\"from\": "
      "\"gpt\", \"value\": \"a\"}]},\n{\"id\": [2], \"conversations\": []}]";
  EXPECT_EQ(read_error(DemoFormat::sharegpt, sharegpt),
            "bad.sharegpt.json:2: error: entry 2: 'id' must be a string or an integer, got array");
}

TEST(DemosFormat, AnEmptyAnswerIsAnErrorUnlessSkipped) {
  const std::string text = R"([{"instruction": "q", "input": "", "output": "a"},
{"instruction": "q2", "input": "", "output": "  "}])";
  EXPECT_EQ(read_error(DemoFormat::alpaca, text),
            "bad.alpaca.json:2: error: entry 2: the answer is empty (use --skip-empty to leave "
            "such entries out)");
  TempDir dir;
  const fs::path file = dir.write("ok.alpaca.json", text);
  std::size_t skipped = 0;
  const auto pairs = read_demo_file(file, DemoFormat::alpaca, true, &skipped);
  EXPECT_EQ(pairs.size(), 1U);
  EXPECT_EQ(skipped, 1U);
  EXPECT_EQ(pairs[0].where, file.string() + ":1 (entry 1)");
}

TEST(DemosFormat, AlpacaInputJoinsTheInstruction) {
  TempDir dir;
  const fs::path file = dir.write(
      "x.alpaca.json", R"([{"instruction": "Summarise", "input": "the chart", "output": "No."}])");
  EXPECT_EQ(read_demo_file(file, DemoFormat::alpaca)[0].prompt, "Summarise\n\nthe chart");
}

}  // namespace
}  // namespace medsafe
