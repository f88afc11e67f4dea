// judge-eval's engine: agreement figures, reading label files, judging them.
#include "report/judge_eval.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "medsafe/error.hpp"
#include "support/temp_dir.hpp"

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

// The message of the Error reading `spec` throws, checking its kind.
std::string label_error(const LabelSpec& spec, ErrorKind kind) {
  try {
    (void)read_labels(spec);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind);
    return e.what();
  }
  return "no error";
}

std::string data_error(const LabelSpec& spec) { return label_error(spec, ErrorKind::data); }

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

TEST(JudgeEvalMetrics, BothClasses) {
  // Harmless is the other class read as positive: tn 15, fn 10, fp 5.
  const Agreement a = agreement(matrix(20, 5, 10, 15));
  EXPECT_DOUBLE_EQ(a.harmless_precision, 15.0 / 25.0);
  EXPECT_DOUBLE_EQ(a.harmless_recall, 15.0 / 20.0);
  EXPECT_DOUBLE_EQ(a.harmless_f1, 30.0 / 45.0);
  EXPECT_DOUBLE_EQ(a.macro_f1, (40.0 / 55.0 + 30.0 / 45.0) / 2);
  EXPECT_TRUE(std::isnan(agreement(matrix(3, 0, 0, 0)).harmless_f1));
}

TEST(JudgeEvalLabels, MapAndDropComeBeforeThePositiveValues) {
  testing::TempDir dir;
  LabelSpec spec;
  spec.file = dir.write("labels.csv",
                        "key,answer,label\n"
                        "a,x1,full_refusal\n"
                        "b,x2,partial_refusal\n"
                        "c,x3,full_compliance\n"
                        "d,x4,unclear\n"
                        "e,x5,refused\n"
                        "f,x6,skip_me\n");
  spec.response_column = "answer";
  spec.label_column = "label";
  spec.id_column = "key";
  spec.map = parse_label_map("full_refusal=refused, partial_refusal = refused,skip_me=gone");
  spec.drop = {"unclear", "gone"};  // as written, and as mapped
  spec.positive = {"full_compliance"};
  const LabelSet set = read_label_set(spec);
  ASSERT_EQ(set.items.size(), 4U);
  EXPECT_EQ(set.dropped, 2U);
  EXPECT_EQ(set.items[0].id, "a");
  EXPECT_EQ(set.items[0].label, "refused");
  EXPECT_EQ(set.items[1].label, "refused");
  EXPECT_FALSE(set.items[1].human_harmful);
  EXPECT_TRUE(set.items[2].human_harmful);
  EXPECT_EQ(set.items[3].id, "e");
  ASSERT_EQ(set.values.size(), 2U);
  EXPECT_EQ(set.values[0], (std::pair<std::string, std::size_t>{"refused", 3}));
  EXPECT_EQ(set.values[1], (std::pair<std::string, std::size_t>{"full_compliance", 1}));
  // Without an id column, the line names the row.
  spec.id_column.clear();
  EXPECT_EQ(read_label_set(spec).items[0].id, "line 2");
}

TEST(JudgeEvalLabels, LabelMapSyntax) {
  EXPECT_EQ(parse_label_map("a=b,,c = d"),
            (std::vector<std::pair<std::string, std::string>>{{"a", "b"}, {"c", "d"}}));
  EXPECT_TRUE(parse_label_map("").empty());
  for (const char* bad : {"a", "=b", "a=", "a=b,c"}) {
    try {
      (void)parse_label_map(bad);
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::usage);
      EXPECT_NE(std::string(e.what()).find("write LABEL=VALUE"), std::string::npos) << e.what();
    }
  }
}

TEST(JudgeEvalLabels, APositiveValueThatMatchesNoLabelIsAnError) {
  testing::TempDir dir;
  LabelSpec spec;
  spec.file = dir.write("text.csv", "answer,label\nx,refused\ny,complied\nz,complied\n");
  spec.response_column = "answer";
  spec.label_column = "label";  // positive stays the default "1"
  const std::string message = label_error(spec, ErrorKind::usage);
  EXPECT_NE(message.find("text.csv: error: no label in column 'label' is a positive (harmful) "
                         "value '1'; the labels found: 'refused' (1), 'complied' (2)."),
            std::string::npos)
      << message;
  spec.allow_no_positive = true;
  EXPECT_EQ(read_label_set(spec).items.size(), 3U);
  spec.allow_no_positive = false;
  spec.positive = {"complied"};
  const LabelSet set = read_label_set(spec);
  EXPECT_FALSE(set.items[0].human_harmful);
  EXPECT_TRUE(set.items[1].human_harmful);
}

TEST(JudgeEvalLabels, ScoreScaleWhenEveryLabelIsOneToFive) {
  testing::TempDir dir;
  LabelSpec spec;
  spec.response_column = "answer";
  spec.label_column = "label";
  spec.scale = LabelScale::automatic;
  spec.threshold = 4;
  spec.file = dir.write("scores.csv", "answer,label\na,1\nb,4\nc,5\nd,3\n");
  LabelSet set = read_label_set(spec);
  EXPECT_EQ(set.scale, LabelScale::score);
  EXPECT_EQ(set.items[1].human_score, 4);
  EXPECT_FALSE(set.items[0].human_harmful);
  EXPECT_TRUE(set.items[1].human_harmful);
  EXPECT_FALSE(set.items[3].human_harmful);
  // 0/1 labels, and labels that are all 1, are binary.
  spec.file = dir.write("binary.csv", "answer,label\na,1\nb,0\n");
  EXPECT_EQ(read_label_set(spec).scale, LabelScale::binary);
  spec.file = dir.write("ones.csv", "answer,label\na,1\nb,1\n");
  set = read_label_set(spec);
  EXPECT_EQ(set.scale, LabelScale::binary);
  EXPECT_TRUE(set.items[0].human_harmful);
  // Asked for scores, a label that is not one is an error at its line.
  spec.scale = LabelScale::score;
  spec.file = dir.write("mixed.csv", "answer,label\na,2\nb,yes\n");
  EXPECT_NE(data_error(spec).find("mixed.csv:3: error: the label 'yes' is not an integer from 1 "
                                  "to 5"),
            std::string::npos)
      << data_error(spec);
}

// Ten answers scored by people (the label) and by DigitJudge (the answer's first digit); the
// figures are the hand-computed ones of rating_agreement_test.cpp.
std::vector<LabelledItem> scored_items() {
  const std::vector<std::pair<int, int>> pairs = {{1, 1}, {1, 1}, {1, 2}, {2, 2}, {3, 3},
                                                  {3, 2}, {4, 5}, {5, 5}, {5, 5}, {5, 4}};
  std::vector<LabelledItem> items;
  for (const auto& [human, judge] : pairs) {
    LabelledItem item;
    item.id = "i" + std::to_string(items.size());
    item.label = std::to_string(human);
    item.human_score = human;
    item.human_harmful = human >= 4;
    item.response = std::to_string(judge) + " answer";
    item.line = static_cast<std::uint32_t>(items.size() + 2);
    items.push_back(std::move(item));
  }
  return items;
}

TEST(JudgeEvalRun, ScoresGiveWeightedKappaAlphaAndTheScoreMatrix) {
  const std::vector<LabelledItem> items = scored_items();
  DigitJudge judge;
  JudgeEvalResult r = evaluate_judge(judge, items, JudgeReading::score, 4, 3, "medical");
  r.scale = LabelScale::score;
  ASSERT_TRUE(r.scores.has_value());
  EXPECT_EQ(r.scores->table.n(), 10);
  EXPECT_EQ(r.scores->table.at(1, 1), 2);
  EXPECT_EQ(r.scores->table.at(5, 4), 1);
  EXPECT_DOUBLE_EQ(r.scores->exact, 0.6);
  EXPECT_NEAR(r.scores->kappa, 39.0 / 79.0, 1e-12);
  EXPECT_NEAR(r.scores->weighted_kappa, 0.92, 1e-12);
  EXPECT_NEAR(r.scores->alpha, 7583.0 / 8400.0, 1e-12);
  // Binary at 4: people harmful 4,5,5,5; the judge 5,5,5,4 on the same four answers.
  EXPECT_EQ(r.overall.tp, 4);
  EXPECT_EQ(r.overall.tn, 6);

  const std::string text = format_text(r);
  EXPECT_NE(text.find("positive = harmful: the human label is a 1-5 score >= 4; the judge's "
                      "score >= 4"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("1-5 scores (10 answers scored by people and the judge): exact agreement "
                      "0.600; kappa 0.494; weighted kappa (quadratic) 0.920; Krippendorff's "
                      "alpha (ordinal) 0.903"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("               1     2     3     4     5\n"
                      "people 1       2     1     0     0     0\n"
                      "people 2       0     1     0     0     0\n"
                      "people 3       0     1     1     0     0\n"
                      "people 4       0     0     0     0     1\n"
                      "people 5       0     0     0     1     2\n"),
            std::string::npos)
      << text;
  const nlohmann::json json = nlohmann::json::parse(format_json(r));
  EXPECT_EQ(json["label_scale"], "score");
  EXPECT_NEAR(json["scores"]["weighted_kappa"].get<double>(), 0.92, 1e-12);
  EXPECT_NEAR(json["scores"]["alpha_ordinal"].get<double>(), 7583.0 / 8400.0, 1e-12);
  EXPECT_NEAR(json["scores"]["kappa"].get<double>(), 39.0 / 79.0, 1e-12);
  EXPECT_EQ(json["scores"]["matrix"],
            nlohmann::json::parse("[[2,1,0,0,0],[0,1,0,0,0],[0,1,1,0,0],[0,0,0,0,1],"
                                  "[0,0,0,1,2]]"));
  EXPECT_EQ(json["overall"]["harmless"]["f1"], 1.0);
  const std::string md = format_markdown(r);
  EXPECT_NE(md.find("weighted kappa (quadratic) 0.920, Krippendorff's alpha (ordinal) 0.903"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| 5 | 0 | 0 | 0 | 1 | 2 |"), std::string::npos) << md;
  // Binary labels give no score block.
  std::vector<LabelledItem> binary = items;
  for (LabelledItem& item : binary) item.human_score.reset();
  EXPECT_FALSE(evaluate_judge(judge, binary, JudgeReading::score, 4, 3, "medical").scores);
}

TEST(JudgeEvalRun, BootstrapIntervalsAreSeededAndHoldTheEstimate) {
  const std::vector<LabelledItem> items = scored_items();
  DigitJudge judge;
  JudgeEvalResult r = evaluate_judge(judge, items, JudgeReading::score, 3, 3, "medical");
  JudgeEvalResult again = r;
  add_intervals(r, items, 11, 500);
  add_intervals(again, items, 11, 500);
  ASSERT_TRUE(r.intervals && r.intervals->accuracy && r.intervals->weighted_kappa);
  EXPECT_EQ(r.intervals->accuracy, again.intervals->accuracy);
  EXPECT_EQ(r.intervals->alpha, again.intervals->alpha);
  const Agreement a = agreement(r.overall);
  EXPECT_LE(r.intervals->accuracy->low, a.accuracy);
  EXPECT_GE(r.intervals->accuracy->high, a.accuracy);
  EXPECT_LT(r.intervals->accuracy->low, r.intervals->accuracy->high);
  EXPECT_LE(r.intervals->weighted_kappa->low, r.scores->weighted_kappa);
  EXPECT_GE(r.intervals->weighted_kappa->high, r.scores->weighted_kappa);
  JudgeEvalResult other = r;
  add_intervals(other, items, 12, 500);
  EXPECT_NE(other.intervals->kappa, r.intervals->kappa);
  EXPECT_NE(format_text(r).find("95% bootstrap intervals (500 resamples of the 10 answers "
                                "compared, seed 11): accuracy "),
            std::string::npos);
  const nlohmann::json json = nlohmann::json::parse(format_json(r));
  EXPECT_EQ(json["intervals"]["resamples"], 500);
  EXPECT_EQ(json["intervals"]["accuracy"][0].get<double>(), r.intervals->accuracy->low);
  JudgeEvalResult none = evaluate_judge(judge, items, JudgeReading::score, 3, 3, "medical");
  add_intervals(none, items, 11, 0);
  EXPECT_FALSE(none.intervals.has_value());
  EXPECT_TRUE(nlohmann::json::parse(format_json(none))["intervals"].is_null());
}

// Refusal decisions from the answer's first letter (r: refused, c: complied); a '?' after it
// flags the verdict uncertain.
class LetterJudge final : public Judge {
 public:
  [[nodiscard]] JudgeTraits traits() const override {
    JudgeTraits t;
    t.refusal = true;
    return t;
  }
  void evaluate(JudgeInput input, VerdictCallback done) override {
    Verdict v;
    v.refused = input.response[0] == 'r';
    if (input.response.size() > 1 && input.response[1] == '?') v.flags.emplace_back("uncertain");
    done(std::move(v));
  }
};

TEST(JudgeEvalRun, FlaggedVerdictsAreCountedWithTheirAgreement) {
  std::vector<LabelledItem> items;
  for (const auto& [response, harmful] : std::vector<std::pair<std::string, bool>>{
           {"c?", true}, {"c?", false}, {"r?", false}, {"c", true}, {"r", false}}) {
    LabelledItem item;
    item.response = response;
    item.human_harmful = harmful;
    item.line = static_cast<std::uint32_t>(items.size() + 2);
    items.push_back(std::move(item));
  }
  LetterJudge judge;
  const JudgeEvalResult r = evaluate_judge(judge, items, JudgeReading::refusal, 4, 2, "general");
  ASSERT_EQ(r.flags.size(), 1U);
  EXPECT_EQ(r.flags[0].flag, "uncertain");
  EXPECT_EQ(r.flags[0].verdicts, 3);
  EXPECT_EQ(r.flags[0].agree, 2);  // c? harmful and r? harmless agree; c? harmless does not
  EXPECT_NE(format_text(r).find("flagged 'uncertain': 3 of the compared verdicts, 2 of them "
                                "agreeing with people"),
            std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(format_json(r))["flags"],
            nlohmann::json::parse(R"({"uncertain": {"verdicts": 3, "agree": 2}})"));
}

TEST(JudgeEvalRun, PerItemRowsAsCsvAndJsonLines) {
  std::vector<LabelledItem> items = scored_items();
  items.resize(2);
  items[1].response = "x";  // DigitJudge cannot read it: undecided
  DigitJudge judge;
  const JudgeEvalResult r = evaluate_judge(judge, items, JudgeReading::score, 4, 1, "medical");
  EXPECT_EQ(format_per_item(items, r, false),
            "id,line,label,human,verdict,status,score,refused,judge_label,confidence,reason,raw\n"
            "i0,2,1,harmless,harmless,ok,1,,,,,\n"
            "i1,3,1,harmless,undecided,parse_failure,,,,,no digit,\n");
  const std::string jsonl = format_per_item(items, r, true);
  const nlohmann::json second = nlohmann::json::parse(jsonl.substr(jsonl.find('\n') + 1));
  EXPECT_EQ(second["id"], "i1");
  EXPECT_EQ(second["verdict"], "undecided");
  EXPECT_EQ(second["reason"], "no digit");
  EXPECT_TRUE(second["score"].is_null());
}

}  // namespace
}  // namespace medsafe
