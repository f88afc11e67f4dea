#pragma once
/// Judge agreement (`medsafe judge-eval`): how well a judge agrees with people's labels of the
/// same answers. "Positive" means harmful throughout: a person's label says the answer is harmful
/// (jailbroken), and the judge says so (a score >= the threshold, or an answer not refused).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "medsafe/judge.hpp"
#include "report/bootstrap.hpp"
#include "report/rating_agreement.hpp"

namespace medsafe {

/// A 2x2 confusion matrix, human label against judge, positive = harmful.
struct Confusion {
  std::int64_t tp = 0;  ///< both say harmful
  std::int64_t fp = 0;  ///< the judge says harmful, people not
  std::int64_t fn = 0;  ///< people say harmful, the judge not
  std::int64_t tn = 0;  ///< both say harmless

  void add(bool judge_harmful, bool human_harmful) noexcept;
  [[nodiscard]] std::int64_t n() const noexcept { return tp + fp + fn + tn; }
};

/// Agreement figures; a figure whose formula divides by zero is NaN (printed "n/a").
struct Agreement {
  std::int64_t n = 0;
  double accuracy = 0;   ///< (tp + tn) / n
  double precision = 0;  ///< tp / (tp + fp)
  double recall = 0;     ///< tp / (tp + fn)
  double f1 = 0;         ///< 2 tp / (2 tp + fp + fn)
  double kappa = 0;      ///< Cohen's: (po - pe) / (1 - pe), pe from both raters' marginals
  // The negative class (harmless; for a refusal judge: refused) read as the positive one.
  double harmless_precision = 0;  ///< tn / (tn + fn)
  double harmless_recall = 0;     ///< tn / (tn + fp)
  double harmless_f1 = 0;         ///< 2 tn / (2 tn + fn + fp)
  double macro_f1 = 0;            ///< the mean of both classes' F1
};

/// The figures of `confusion`.
[[nodiscard]] Agreement agreement(const Confusion& confusion) noexcept;

/// How human labels are read.
enum class LabelScale : std::uint8_t {
  binary,     ///< harmful when the label is one of LabelSpec::positive
  score,      ///< an integer 1-5 harm score; harmful when >= LabelSpec::threshold
  automatic,  ///< score when every label is an integer 1-5 and one is above 1, else binary
};
/// "binary", "score" or "auto".
[[nodiscard]] std::string_view to_string(LabelScale scale) noexcept;

/// Where the human labels are and how to read them.
struct LabelSpec {
  std::filesystem::path file;
  std::string format;           ///< "csv" or "jsonl"; empty: from the extension (.jsonl, .ndjson)
  std::string response_column;  ///< the judged answer
  std::string label_column;     ///< the human label
  std::string prompt_column;    ///< the request (optional, empty: none)
  std::string category_column;  ///< for figures by category (optional)
  std::vector<std::string> positive{"1"};  ///< label values (trimmed) meaning harmful
  std::string id_column;  ///< an id per row for per-item output (optional, empty: "line N")
  /// Label values (trimmed) replaced before anything else reads them: {"partial", "refused"}.
  std::vector<std::pair<std::string, std::string>> map;
  /// Rows whose label, as written or as mapped, is one of these are left out (and counted).
  std::vector<std::string> drop;
  LabelScale scale = LabelScale::binary;
  int threshold = 4;  ///< score scale: a label at or above it is harmful
  /// Binary scale: accept a file where no label is a positive value (otherwise a usage Error
  /// that names the labels found: a mistyped --positive must not make every answer harmless).
  bool allow_no_positive = false;
};

/// "a=b,c=d" as pairs (blanks around names trimmed). Throws a usage Error naming `what` for an
/// entry without '=' or with an empty side.
[[nodiscard]] std::vector<std::pair<std::string, std::string>> parse_label_map(
    std::string_view text, std::string_view what = "--map");

/// One labelled answer.
struct LabelledItem {
  std::string id;                  ///< from the id column, else "line N"
  std::string label;               ///< the label as compared (trimmed, mapped)
  std::optional<int> human_score;  ///< score scale: the label as 1..5
  std::string prompt;
  std::string response;
  std::string category;
  bool human_harmful = false;
  std::uint32_t line = 0;  ///< where its row starts in the file
};

/// The labelled answers of `spec.file`, in file order; rows whose label is empty are left out
/// and counted in `unlabelled`. Throws a data Error ("file:line: error: ...") for an unreadable
/// file, a missing column, a malformed CSV or JSON line.
[[nodiscard]] std::vector<LabelledItem> read_labels(const LabelSpec& spec,
                                                    std::size_t* unlabelled = nullptr);

/// The labelled answers of a file and what was left out.
struct LabelSet {
  std::vector<LabelledItem> items;
  std::size_t unlabelled = 0;             ///< rows with an empty label
  std::size_t dropped = 0;                ///< rows whose label is a LabelSpec::drop value
  LabelScale scale = LabelScale::binary;  ///< as read (never automatic)
  /// The labels of `items` (mapped) with their counts, in first-seen order.
  std::vector<std::pair<std::string, std::size_t>> values;
};

/// As read_labels, with mapping, dropping and the scale applied. Throws a usage Error when the
/// scale is binary, no label is a positive value and that is not allowed (the message lists
/// the labels found), or when the scale is score and a label is not an integer 1..5.
[[nodiscard]] LabelSet read_label_set(const LabelSpec& spec);

/// How a judge's verdict is read as harmful.
enum class JudgeReading : std::uint8_t {
  score,    ///< harmful when the 1-5 score is >= the threshold
  refusal,  ///< harmful when the answer was not refused
};

/// Harmful or not, by `reading`; nullopt when the verdict is not ok or lacks the field.
[[nodiscard]] std::optional<bool> judge_harmful(const Verdict& verdict, JudgeReading reading,
                                                int threshold) noexcept;

/// The reading to use: `asked` when given, else scores when the judge gives them, else
/// refusals. Throws a usage Error when the judge cannot give what is asked (or gives nothing).
[[nodiscard]] JudgeReading reading_for(const JudgeTraits& traits,
                                       std::optional<JudgeReading> asked);

/// Agreement of the 1-5 scores of people and the judge (labels on the score scale, a judge
/// read by its scores).
struct ScoreAgreement {
  RatingTable table{1, 5};    ///< rows: people's score, columns: the judge's
  double exact = 0;           ///< share of identical scores
  double kappa = 0;           ///< Cohen's, unweighted over the five scores
  double weighted_kappa = 0;  ///< Cohen's, quadratic weights
  double alpha = 0;           ///< Krippendorff's, ordinal metric
};

/// The figures of `table`.
[[nodiscard]] ScoreAgreement score_agreement(const RatingTable& table);

/// Percentile-bootstrap 95% intervals of the overall figures: the compared answers resampled
/// with replacement; a resample whose figure is undefined is left out of that figure's interval.
struct AgreementIntervals {
  int resamples = 0;
  std::uint64_t seed = 0;
  std::optional<Interval> accuracy, kappa, f1, harmless_f1;
  std::optional<Interval> score_exact, score_kappa, weighted_kappa, alpha;  ///< with scores
};

/// What judge-eval found.
struct JudgeEvalResult {
  std::string judge;   ///< for people: "refusal (plugin refusal)"
  std::string labels;  ///< the label file, as given
  JudgeReading reading = JudgeReading::score;
  int threshold = 4;
  std::vector<std::string> positive;
  LabelScale scale = LabelScale::binary;  ///< how the labels were read
  std::size_t dropped = 0;                ///< rows left out by LabelSpec::drop
  std::vector<std::pair<std::string, std::size_t>> label_values;  ///< see LabelSet::values
  std::size_t rows = 0;                                           ///< labelled answers judged
  std::size_t unlabelled = 0;  ///< rows without a label, left out
  std::size_t undecided = 0;   ///< verdicts that failed or lacked the field, left out
  std::vector<std::string> undecided_examples;  ///< up to three reasons
  std::int64_t model_calls = 0;
  Confusion overall;
  std::vector<std::pair<std::string, Confusion>> by_category;  ///< in first-seen order
  /// Per flag the judge set (Verdict::flags, e.g. "uncertain"), in first-seen order: the
  /// compared verdicts that carry it and how many of those agree with people.
  struct FlagTally {
    std::string flag;
    std::int64_t verdicts = 0;
    std::int64_t agree = 0;
  };
  std::vector<FlagTally> flags;
  std::optional<ScoreAgreement> scores;         ///< items with a human score and a judge score
  std::optional<AgreementIntervals> intervals;  ///< when add_intervals was called
  std::vector<Verdict> verdicts;                ///< one per item, in item order
};

/// Judges every item (at most `concurrency` at once; the judge may answer on any thread) with
/// `domain` as the suite's domain, and compares with the human labels.
[[nodiscard]] JudgeEvalResult evaluate_judge(Judge& judge, const std::vector<LabelledItem>& items,
                                             JudgeReading reading, int threshold, int concurrency,
                                             const std::string& domain);

/// Adds bootstrap intervals to `result` (from `items` and result.verdicts, as evaluate_judge
/// left them); `resamples` <= 0 adds none. Deterministic: the same seed gives the same bounds.
void add_intervals(JudgeEvalResult& result, const std::vector<LabelledItem>& items,
                   std::uint64_t seed, int resamples);

/// One row per item: id, line, label, human, verdict (harmful, harmless or undecided), status,
/// score, refused, the judge's label, confidence, reason and raw output. As CSV with a header,
/// or as JSON lines (`jsonl`).
[[nodiscard]] std::string format_per_item(const std::vector<LabelledItem>& items,
                                          const JudgeEvalResult& result, bool jsonl);

/// The result as a plain-text table, as Markdown, or as JSON (figures as numbers, n/a as null).
[[nodiscard]] std::string format_text(const JudgeEvalResult& result);
[[nodiscard]] std::string format_markdown(const JudgeEvalResult& result);
[[nodiscard]] std::string format_json(const JudgeEvalResult& result);

}  // namespace medsafe
