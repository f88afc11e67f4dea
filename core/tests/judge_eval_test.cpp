// judge-eval's engine: agreement figures, reading label files, judging them.
#include "engine/judge_eval.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "medsafe/error.hpp"
#include "test_files.hpp"

namespace medsafe {
namespace {

Confusion matrix(std::int64_t tp, std::int64_t fp, std::int64_t fn, std::int64_t tn) {
  Confusion c;
  c.tp = tp;
  c.fp = fp;
  c.fn = fn;
  c.tn = tn;
  return c;
}

TEST(JudgeEvalMetrics, HandMadeMatrix) {
  // Cohen's textbook example: 50 items, 20 both yes, 15 both no, 5 and 10 disagreements;
  // po = 0.7, pe = 0.5 * 0.6 + 0.5 * 0.4 = 0.5, kappa = 0.4.
  const Agreement a = agreement(matrix(20, 5, 10, 15));
  EXPECT_EQ(a.n, 50);
  EXPECT_DOUBLE_EQ(a.accuracy, 0.7);
  EXPECT_DOUBLE_EQ(a.precision, 0.8);
  EXPECT_DOUBLE_EQ(a.recall, 20.0 / 30.0);
  EXPECT_DOUBLE_EQ(a.f1, 40.0 / 55.0);
  EXPECT_NEAR(a.kappa, 0.4, 1e-12);
  // Agreement no better than chance gives 0, systematic disagreement a negative kappa.
  EXPECT_NEAR(agreement(matrix(25, 25, 25, 25)).kappa, 0.0, 1e-12);
  EXPECT_NEAR(agreement(matrix(0, 10, 10, 0)).kappa, -1.0, 1e-12);
  EXPECT_NEAR(agreement(matrix(30, 0, 0, 70)).kappa, 1.0, 1e-12);
}

TEST(JudgeEvalMetrics, UndefinedFiguresAreNaN) {
  const Agreement empty = agreement(Confusion{});
  EXPECT_TRUE(std::isnan(empty.accuracy));
  EXPECT_TRUE(std::isnan(empty.kappa));
  // Both raters put everything in one class: kappa is 0/0.
  const Agreement one_class = agreement(matrix(0, 0, 0, 12));
  EXPECT_DOUBLE_EQ(one_class.accuracy, 1.0);
  EXPECT_TRUE(std::isnan(one_class.precision));
  EXPECT_TRUE(std::isnan(one_class.recall));
  EXPECT_TRUE(std::isnan(one_class.f1));
  EXPECT_TRUE(std::isnan(one_class.kappa));
  Confusion c;
  c.add(true, true);
  c.add(true, false);
  c.add(false, true);
  c.add(false, false);
  c.add(false, false);
  EXPECT_EQ(c.tp, 1);
  EXPECT_EQ(c.fp, 1);
  EXPECT_EQ(c.fn, 1);
  EXPECT_EQ(c.tn, 2);
}

TEST(JudgeEvalLabels, CsvWithQuotesBomCrlfAndEmptyLabels) {
  testing::TempDir dir;
  LabelSpec spec;
  spec.file = dir.write("labels.csv",
                        "\xEF\xBB\xBFid,answer,label,topic\r\n"
                        "1,\"Sure, here:\r\nstep \"\"one\"\"\",yes,drugs\r\n"
                        "2,I cannot help.,no,drugs\r\n"
                        "3,unlabelled,,fraud\r\n"
                        "\r\n"
                        "4,Here you go,YES ,fraud\r\n");
  spec.response_column = "answer";
  spec.label_column = "label";
  spec.category_column = "topic";
  spec.positive = {"yes", "YES"};
  std::size_t unlabelled = 0;
  const std::vector<LabelledItem> items = read_labels(spec, &unlabelled);
  ASSERT_EQ(items.size(), 3U);
  EXPECT_EQ(unlabelled, 1U);
  EXPECT_EQ(items[0].response, "Sure, here:\r\nstep \"one\"");
  EXPECT_TRUE(items[0].human_harmful);
  EXPECT_EQ(items[0].category, "drugs");
  EXPECT_EQ(items[0].line, 2U);
  EXPECT_FALSE(items[1].human_harmful);
  EXPECT_EQ(items[1].line, 4U);
  EXPECT_TRUE(items[2].human_harmful);  // labels are trimmed
  EXPECT_EQ(items[2].line, 7U);
}

std::string data_error(const LabelSpec& spec) {
  try {
    (void)read_labels(spec);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::data);
    return e.what();
  }
  return "no error";
}

TEST(JudgeEvalLabels, ErrorsNameFileAndLine) {
  testing::TempDir dir;
  LabelSpec spec;
  spec.response_column = "answer";
  spec.label_column = "label";
  spec.file = dir.write("a.csv", "answer,verdict\nx,1\n");
  EXPECT_NE(
      data_error(spec).find("a.csv:1: error: no column 'label'; its columns: answer, verdict"),
      std::string::npos)
      << data_error(spec);
  spec.file = dir.write("b.csv", "answer,label\nx,1\n\"open,1\n");
  EXPECT_NE(data_error(spec).find("b.csv:3: error: a quoted field is not closed"),
            std::string::npos);
  spec.file = dir.write("c.csv", "answer,label\nonly\n");
  EXPECT_NE(data_error(spec).find("c.csv:2: error: the row has 1 fields"), std::string::npos);
  spec.file = dir.write("d.jsonl", "{\"answer\":\"x\",\"label\":1}\n[1]\n");
  EXPECT_NE(data_error(spec).find("d.jsonl:2: error: not a JSON object"), std::string::npos);
  spec.file = dir.path() / "missing.csv";
  EXPECT_NE(data_error(spec).find("cannot read the label file"), std::string::npos);
}

TEST(JudgeEvalLabels, JsonLinesWithNumbersAndBooleans) {
  testing::TempDir dir;
  LabelSpec spec;
  spec.file = dir.write("l.jsonl",
                        "{\"r\":\"a\",\"harmful\":1,\"p\":\"q1\"}\n\n"
                        "{\"r\":\"b\",\"harmful\":0,\"p\":\"q2\"}\n"
                        "{\"r\":\"c\",\"harmful\":true,\"p\":\"q3\"}\n"
                        "{\"r\":\"d\",\"harmful\":null,\"p\":\"q4\"}\n");
  spec.response_column = "r";
  spec.label_column = "harmful";
  spec.prompt_column = "p";
  spec.positive = {"1", "true"};
  std::size_t unlabelled = 0;
  const std::vector<LabelledItem> items = read_labels(spec, &unlabelled);
  ASSERT_EQ(items.size(), 3U);
  EXPECT_EQ(unlabelled, 1U);
  EXPECT_TRUE(items[0].human_harmful);
  EXPECT_FALSE(items[1].human_harmful);
  EXPECT_TRUE(items[2].human_harmful);
  EXPECT_EQ(items[2].prompt, "q3");
  EXPECT_EQ(items[2].line, 4U);
}

TEST(JudgeEvalReading, HarmfulByScoreOrRefusal) {
  Verdict v;
  v.score = 4;
  v.refused = true;
  EXPECT_EQ(judge_harmful(v, JudgeReading::score, 4), true);
  EXPECT_EQ(judge_harmful(v, JudgeReading::score, 5), false);
  EXPECT_EQ(judge_harmful(v, JudgeReading::refusal, 4), false);
  v.refused = false;
  EXPECT_EQ(judge_harmful(v, JudgeReading::refusal, 4), true);
  v.status = VerdictStatus::parse_failure;
  EXPECT_EQ(judge_harmful(v, JudgeReading::score, 4), std::nullopt);
  EXPECT_EQ(judge_harmful(Verdict{}, JudgeReading::score, 4), std::nullopt);

  JudgeTraits refusal_only;
  refusal_only.refusal = true;
  EXPECT_EQ(reading_for(refusal_only, std::nullopt), JudgeReading::refusal);
  EXPECT_THROW((void)reading_for(refusal_only, JudgeReading::score), Error);
  JudgeTraits both = refusal_only;
  both.harm_score = true;
  EXPECT_EQ(reading_for(both, std::nullopt), JudgeReading::score);
  EXPECT_EQ(reading_for(both, JudgeReading::refusal), JudgeReading::refusal);
  EXPECT_THROW((void)reading_for(JudgeTraits{}, std::nullopt), Error);
}

// Scores answers by their first character, from another thread, and throws on "!".
class DigitJudge final : public Judge {
 public:
  ~DigitJudge() override {
    for (std::thread& t : threads_) t.join();
  }
  [[nodiscard]] JudgeTraits traits() const override {
    JudgeTraits t;
    t.harm_score = true;
    return t;
  }
  void evaluate(JudgeInput input, VerdictCallback done) override {
    if (input.response == "!") throw std::runtime_error("boom");
    EXPECT_EQ(input.domain, "medical");
    threads_.emplace_back([input = std::move(input), done = std::move(done)] {
      Verdict v;
      v.model_calls = 1;
      if (input.response[0] >= '1' && input.response[0] <= '5') {
        v.score = input.response[0] - '0';
      } else {
        v.status = VerdictStatus::parse_failure;
        v.reason = "no digit";
      }
      done(std::move(v));
    });
  }

 private:
  std::vector<std::thread> threads_;
};

TEST(JudgeEvalRun, ComparesEveryItemAndCountsTheUndecided) {
  std::vector<LabelledItem> items;
  auto add = [&items](std::string response, bool harmful, std::string category) {
    LabelledItem item;
    item.response = std::move(response);
    item.human_harmful = harmful;
    item.category = std::move(category);
    item.line = static_cast<std::uint32_t>(items.size() + 2);
    items.push_back(std::move(item));
  };
  add("5", true, "a");   // tp
  add("4", false, "a");  // fp
  add("1", true, "b");   // fn
  add("2", false, "b");  // tn
  add("1", false, "a");  // tn
  add("x", true, "b");   // undecided
  add("!", true, "b");   // the judge threw
  DigitJudge judge;
  JudgeEvalResult r = evaluate_judge(judge, items, JudgeReading::score, 4, 2, "medical");
  r.judge = "'digits'";
  r.labels = "labels.csv";
  r.positive = {"1"};
  EXPECT_EQ(r.rows, 5U);
  EXPECT_EQ(r.undecided, 2U);
  EXPECT_EQ(r.model_calls, 6);
  EXPECT_EQ(r.overall.tp, 1);
  EXPECT_EQ(r.overall.fp, 1);
  EXPECT_EQ(r.overall.fn, 1);
  EXPECT_EQ(r.overall.tn, 2);
  ASSERT_EQ(r.by_category.size(), 2U);
  EXPECT_EQ(r.by_category[0].first, "a");
  EXPECT_EQ(r.by_category[0].second.n(), 3);
  EXPECT_EQ(r.by_category[1].second.n(), 2);
  ASSERT_EQ(r.undecided_examples.size(), 2U);
  EXPECT_EQ(r.undecided_examples[0], "line 7: parse_failure: no digit");
  EXPECT_EQ(r.undecided_examples[1], "line 8: error: the judge threw: boom");

  const std::string text = format_text(r);
  EXPECT_NE(text.find("5 answers compared; 2 left out"), std::string::npos) << text;
  EXPECT_NE(text.find("positive = harmful: the human label is 1; the judge's score >= 4"),
            std::string::npos);
  EXPECT_NE(text.find("overall       5     0.600      0.500   0.500  0.500   0.167     1     1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("by category"), std::string::npos);
  const std::string md = format_markdown(r);
  EXPECT_NE(md.find("| overall | 5 | 0.600 | 0.500 | 0.500 | 0.500 | 0.167 | 1 | 1 | 1 | 2 |"),
            std::string::npos)
      << md;
  const nlohmann::json json = nlohmann::json::parse(format_json(r));
  EXPECT_EQ(json["overall"]["tn"], 2);
  EXPECT_NEAR(json["overall"]["kappa"].get<double>(), 1.0 / 6, 1e-9);
  EXPECT_TRUE(json["by_category"][1]["precision"].is_null());  // b: no harmful verdict
  EXPECT_EQ(json["reading"], "score");
}

}  // namespace
}  // namespace medsafe
