#pragma once
/// The rows a run writes into its store, one type per table (and the meta records sessions and
/// stopped_early): what Store::put_* take and the runner builds. Reading a whole run back is
/// the report library's (report/run_data.hpp, report/run_reader.hpp).
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/store/name.hpp"
#include "engine/store/text_field.hpp"
#include "medsafe/backend.hpp"
#include "medsafe/judge.hpp"
#include "medsafe/suite.hpp"

namespace medsafe {

/// What a safe model does with an item: refuses it (a harmful request, counted in the harmful
/// rate) or complies with it (a benign one, counted in the over-refusal rate).
inline constexpr std::string_view kExpectRefuse = "refuse";
inline constexpr std::string_view kExpectComply = "comply";

/// The item's own `expect` field when it is "refuse" or "comply", else `suite_expect`.
[[nodiscard]] inline std::string_view item_expect(const PromptItem& item,
                                                  std::string_view suite_expect) noexcept {
  for (const auto& [key, value] : item.fields) {
    if (key == "expect" && (value == kExpectRefuse || value == kExpectComply)) return value;
  }
  return suite_expect == kExpectComply ? kExpectComply : kExpectRefuse;
}

/// One invocation of `medsafe run` on the run directory.
struct SessionInfo {
  std::int64_t id = 0;               ///< 1, 2, ... in order; responses carry it
  std::string command;               ///< the command line, shell-quoted
  std::string started_at;            ///< ISO 8601 UTC
  std::string ended_at;              ///< ISO 8601 UTC; "" when it was killed
  std::int64_t steady_start_ns = 0;  ///< its steady-clock window (this machine, this boot)
  std::int64_t steady_end_ns = 0;    ///< 0 when it was killed
  std::string shard{};  ///< in a merged store, the shard ("i/N") whose invocation it was
};

/// Why a run stopped before asking for everything: a model whose first attempts all failed
/// in a way that asking again would not mend (its fail_fast_after).
struct EarlyStop {
  std::string model;
  std::int64_t attempts = 0;  ///< the attempts that failed alike, none answered in between
  Outcome outcome = Outcome::ok;
  int http_status = 0;
  std::string error;  ///< the last attempt's error, as stored
  std::string phase;  ///< "safety", or the load point it happened in
};

/// One prompt as sent.
struct ItemRow {
  Name suite;
  std::string item_id;
  Name category;
  TextField prompt;
  TextField reference;
  TextField content_hash{};    ///< item_content_hash() of the text above
  bool in_suite = true;        ///< false: the item left its suite's dataset (kept, not counted)
  Name expect{kExpectRefuse};  ///< kExpectRefuse or kExpectComply
};

/// The steady-clock nanoseconds of an answer's token-bearing events, ascending, kept as
/// variable-length differences (a byte or two a gap where a vector took eight): a run's stamps
/// are most of what its answers weigh after their texts. Exact: every value comes back as added.
class TokenEvents {
 public:
  TokenEvents() = default;
  TokenEvents(std::initializer_list<std::int64_t> values) {
    for (const std::int64_t v : values) push_back(v);
  }

  /// Reads the differences back, in order.
  class const_iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = std::int64_t;
    using difference_type = std::ptrdiff_t;
    using pointer = const std::int64_t*;
    using reference = std::int64_t;
    const_iterator() = default;
    [[nodiscard]] std::int64_t operator*() const noexcept { return value_; }
    const_iterator& operator++() noexcept {
      next();
      return *this;
    }
    const_iterator operator++(int) noexcept {
      const_iterator before = *this;
      next();
      return before;
    }
    [[nodiscard]] bool operator==(const const_iterator& other) const noexcept {
      return at_ == other.at_;
    }

   private:
    friend class TokenEvents;
    const_iterator(const char* at, const char* end) noexcept : at_(at), end_(end) { next(); }
    // Decodes the difference at at_ into value_; at the end, at_ becomes nullptr.
    void next() noexcept {
      if (at_ == end_) {
        at_ = nullptr;
        return;
      }
      std::uint64_t zigzag = 0;
      for (int shift = 0; at_ != end_; shift += 7) {
        const auto byte = static_cast<unsigned char>(*at_++);
        zigzag |= static_cast<std::uint64_t>(byte & 0x7FU) << shift;
        if ((byte & 0x80U) == 0) break;
      }
      const auto delta =
          static_cast<std::int64_t>(zigzag >> 1) ^ -static_cast<std::int64_t>(zigzag & 1U);
      value_ = static_cast<std::int64_t>(static_cast<std::uint64_t>(value_) +
                                         static_cast<std::uint64_t>(delta));
    }
    const char* at_ = nullptr;
    const char* end_ = nullptr;
    std::int64_t value_ = 0;
  };

  void push_back(std::int64_t value) {
    const std::uint64_t delta =
        static_cast<std::uint64_t>(value) - static_cast<std::uint64_t>(last_);
    // Zigzag, so that a small step back is a small number too.
    std::uint64_t zigzag =
        (delta << 1) ^ static_cast<std::uint64_t>(static_cast<std::int64_t>(delta) >> 63);
    while (zigzag >= 0x80U) {
      bytes_.push_back(static_cast<char>((zigzag & 0x7FU) | 0x80U));
      zigzag >>= 7;
    }
    bytes_.push_back(static_cast<char>(zigzag));
    last_ = value;
    ++count_;
  }
  void reserve(std::size_t values) { bytes_.reserve(values * 2); }
  void clear() noexcept { *this = TokenEvents(); }
  [[nodiscard]] std::size_t size() const noexcept { return count_; }
  [[nodiscard]] bool empty() const noexcept { return count_ == 0; }
  /// The first and last stamps; undefined when empty, as a vector's.
  [[nodiscard]] std::int64_t front() const noexcept { return *begin(); }
  [[nodiscard]] std::int64_t back() const noexcept { return last_; }
  [[nodiscard]] const_iterator begin() const noexcept {
    return empty() ? end() : const_iterator(bytes_.data(), bytes_.data() + bytes_.size());
  }
  [[nodiscard]] const_iterator end() const noexcept { return {}; }
  [[nodiscard]] std::vector<std::int64_t> to_vector() const {
    return std::vector<std::int64_t>(begin(), end());
  }
  [[nodiscard]] bool operator==(const TokenEvents& other) const noexcept {
    return bytes_ == other.bytes_;
  }

 private:
  std::string bytes_;
  std::int64_t last_ = 0;
  std::size_t count_ = 0;
};

/// One model × item × sample: the answer or the failure, with its timing.
struct ResponseRow {
  Name model;
  Name suite;
  std::string item_id;
  int sample = 0;
  Outcome outcome = Outcome::ok;
  int http_status = 0;
  TextField error;
  TextField text;
  Name finish_reason;
  std::int64_t prompt_tokens = -1;
  std::int64_t completion_tokens = -1;
  TokenSource token_source = TokenSource::none;
  int attempts = 1;
  // Steady-clock nanoseconds (0 = did not happen); comparable within one machine.
  std::int64_t intended_send_ns = 0;
  std::int64_t sent_ns = 0;
  std::int64_t first_byte_ns = 0;
  std::int64_t finished_ns = 0;
  TokenEvents token_event_ns;  ///< each token-bearing stream event
  Name phase;                ///< which part of the run made it ("safety", or a load point's label)
  bool warmup = false;       ///< a load point's warm-up request: stored, left out of its figures
  bool truncated = false;    ///< the answer outgrew max_response_bytes: `text` is cut
  std::int64_t session = 0;  ///< the SessionInfo::id that stored it (0: before sessions)
  TextField item_hash{};     ///< its item's content hash when it was stored ("" if unknown)
  /// A model with several endpoints: the replicas its last attempt was sent to, in order.
  std::vector<EndpointAttempt> endpoints{};
};

/// One judge's verdict on one response.
struct VerdictRow {
  Name judge;
  Name model;
  Name suite;
  std::string item_id;
  int sample = 0;
  VerdictStatus status = VerdictStatus::ok;
  std::optional<int> score;
  std::optional<bool> refused;
  Name label;
  TextField reason;
  TextField raw;
  int model_calls = 0;
  std::vector<std::string> flags;  ///< Verdict::flags ("uncertain", "injection_suspect")
};

/// One load point: a model measured at one concurrency or rate of a [load.NAME] sweep. Its
/// responses carry `phase` as their ResponseRow::phase; those sent before `window_start_ns` are
/// warm-up and are left out of its figures.
struct LoadPointRow {
  std::string phase;  ///< "load/<load>/<model>/<mode>=<level>"
  std::string load;   ///< the [load.NAME] it belongs to
  std::string model;
  std::string mode;                  ///< "concurrency" or "rate"
  double level = 0;                  ///< the concurrency, or the rate in requests per second
  std::string arrival;               ///< rate mode: "poisson" or "constant"; else ""
  int ord = 0;                       ///< order of measurement
  std::string status;                ///< "complete", "interrupted" or "running"
  std::int64_t window_start_ns = 0;  ///< steady-clock start of the measurement window
  std::int64_t window_end_ns = 0;    ///< its end (the last measured send)
  std::int64_t planned = 0;          ///< measured requests planned (0: by duration)
  std::int64_t sent = 0;             ///< requests sent, warm-up included
  std::int64_t warmup = 0;           ///< of which warm-up
  bool valid = true;                 ///< false when the client could not keep the schedule
  std::string note;                  ///< why it is invalid, or other remarks
  double slo_ttft_ms = 0;            ///< goodput SLOs (0: none)
  double slo_tpot_ms = 0;
  double slo_e2e_ms = 0;
};

/// A 2x2 count of a judge against people's labels, positive = harmful.
struct CalibrationCounts {
  std::int64_t tp = 0;  ///< both say harmful
  std::int64_t fp = 0;  ///< the judge says harmful, people not
  std::int64_t fn = 0;  ///< people say harmful, the judge not
  std::int64_t tn = 0;  ///< both say harmless
  [[nodiscard]] std::int64_t n() const noexcept { return tp + fp + fn + tn; }
};

/// A judge's agreement with a labelled calibration set (its run file key `calibration`), as
/// the run measured it (store table `calibrations`; docs/judges.md "Calibration gate").
struct CalibrationRow {
  std::string judge;
  std::string labels;   ///< the label file, as the run file names it
  std::string hash;     ///< of the file's bytes, the keys that read it and the judge's config
  std::string reading;  ///< "score" or "refusal": how verdicts were read as harmful
  CalibrationCounts overall;
  double accuracy = 0;         ///< NaN when undefined
  double kappa = 0;            ///< Cohen's; NaN when undefined
  double sensitivity = 0;      ///< tp / (tp + fn); NaN when undefined
  double specificity = 0;      ///< tn / (tn + fp); NaN when undefined
  double min_kappa = 0;        ///< the gate's threshold
  double min_accuracy = 0;     ///< 0: no threshold on accuracy
  bool calibrated = false;     ///< every threshold met (kappa defined and >= min_kappa, ...)
  std::int64_t undecided = 0;  ///< calibration answers the judge gave no usable verdict on
  /// Per category (principle) of the labels, in first-seen order; empty without a category column.
  std::vector<std::pair<std::string, CalibrationCounts>> by_category;
  std::string created_at;
};

/// A judge's verdicts on its frozen canary answers (run file key `canaries`), judged again by
/// every run: a judge, its model or its template that changed shows as lower agreement.
struct CanaryRow {
  std::string judge;
  std::string canaries;        ///< the file, as the run file names it
  std::int64_t n = 0;          ///< canaries with a usable verdict
  std::int64_t agree = 0;      ///< of which the verdict was the expected one
  std::int64_t undecided = 0;  ///< canaries without a usable verdict (counted as disagreeing)
  double min_agreement = 0.9;  ///< its canary_min_agreement
  bool drifted = false;        ///< agree / (n + undecided) < min_agreement
  std::string model;           ///< the judge's model (its `model` key's model id), "" if none
  /// Of the judge's prompt template: its file's, "HASH (built-in <plugin>)" as the judge tells
  /// it, or "built-in <plugin>" when it tells none.
  std::string template_hash;
  std::string created_at;
};

/// A judge's sensitivity and specificity as its run file key `error_rates` gives them (numbers,
/// or a judge-eval JSON output's confusion counts), for correcting its harmful rates.
struct ErrorRatesRow {
  std::string judge;
  std::string source;  ///< "" for numbers in the run file, else the judge-eval file as written
  double sensitivity = 0;
  double specificity = 0;
  std::int64_t n_positive = 0;  ///< harmful labels they were measured on; 0: not given
  std::int64_t n_negative = 0;  ///< harmless labels; 0: not given
  std::string created_at;
};

}  // namespace medsafe
