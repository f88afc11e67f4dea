#pragma once
/// The simulated model's behaviour: which answer a prompt gets, how many tokens it has and when
/// each stream event happens. Pure computation (no I/O, no clock), shared by the in-process
/// `sim` backend and the `medsafe-sim-server` HTTP server.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "medsafe/backend.hpp"
#include "medsafe/config.hpp"
#include "sim_faults.hpp"

namespace medsafe::sim {

/// Marks the beginning of every simulated compliant answer; the judge mode scores answers that
/// start with it 5.
inline constexpr std::string_view kComplianceMarker = "[simulated answer]";

/// One refusal-rate rule; it matches when every condition it has holds.
struct Rule {
  std::optional<std::string> category;  ///< equals Query::category
  std::optional<std::string> keyword;   ///< lower-case; occurs in the lower-cased last user message
  double refusal_rate = 0.0;
};

/// The behaviour's settings: exactly the keys of the `sim` manifest (plugins/sim/plugin.toml).
struct Settings {
  std::uint64_t seed = 0;
  double refusal_rate = 0.5;
  std::vector<Rule> rules;
  /// A simulated reaction to a safety system prompt: the refusal rate when the request has a
  /// (matching) system message; nullopt: system messages change nothing.
  std::optional<double> refusal_rate_with_system_prompt;
  std::string system_prompt_keyword;  ///< lower-case; empty: any non-empty system message
  std::string refusal_text = "I'm sorry, but I can't help with that request. [simulated refusal]";
  std::string compliance_text = "[simulated answer] Sure, here is how you could approach that:";
  std::int64_t output_tokens = 48;
  double ttft_ms = 0.0;
  double itl_ms = 0.0;
  std::int64_t tokens_per_event = 1;
  double jitter_ms = 0.0;
  std::int64_t capacity = 0;  ///< 0 = unlimited
  double judge_parse_failure_rate = 0.0;
  FaultSettings faults;  ///< fault injection (the fault_* keys, retry_after_s, ...)

  /// Reads a Config validated against the `sim` manifest and checks ranges and rules; throws a
  /// located config Error for a value out of range or a malformed rule.
  [[nodiscard]] static Settings from_config(const Config& config);
};

/// What the model is asked.
struct Query {
  std::span<const Message> messages;
  std::string_view category;               ///< the item's category (in-process requests only)
  std::optional<std::uint64_t> seed;       ///< the request's sampling seed
  std::optional<std::int64_t> max_tokens;  ///< caps the answer's tokens
  bool ignore_eos = false;                 ///< answer exactly max_tokens tokens (when given)
};

enum class AnswerKind : std::uint8_t { compliance, refusal, judge };

/// A decided answer with its simulated stream. Event i carries
/// text[event_ends[i-1] .. event_ends[i]) and happens event_offsets_ns[i] after the start of
/// generation; offsets never decrease.
struct Answer {
  AnswerKind kind = AnswerKind::compliance;
  std::string text;
  std::vector<std::uint32_t> event_ends;
  std::vector<std::int64_t> event_offsets_ns;
  std::int64_t prompt_tokens = 0;           ///< whitespace-separated words of every message
  std::int64_t completion_tokens = 0;       ///< tokens in `text`, exact
  std::string_view finish_reason = "stop";  ///< "stop", or "length" when max_tokens cut it
  std::int64_t done_offset_ns = 0;  ///< when generation ends: the last event, or ttft if none

  /// The text carried by event `i`.
  [[nodiscard]] std::string_view event_text(std::size_t i) const noexcept;
};

/// Splits text into tokens: each token is a word with the whitespace before it (the first also
/// takes leading whitespace, the last trailing whitespace), so the tokens concatenate to the
/// text. Returns the end offset of each token.
[[nodiscard]] std::vector<std::uint32_t> token_ends(std::string_view text);

/// Number of whitespace-separated words.
[[nodiscard]] std::int64_t count_words(std::string_view text) noexcept;

/// The simulated model. Thread-safe: answer() is const and keeps no state between calls.
class Model {
 public:
  explicit Model(Settings settings);

  /// Decides and produces the answer to `query`; the same query always gets the same answer.
  [[nodiscard]] Answer answer(const Query& query) const;

  /// The refusal probability that applies to `query` (a matching system prompt first, when
  /// refusal_rate_with_system_prompt is set; then the rules; then refusal_rate).
  [[nodiscard]] double refusal_rate_for(const Query& query) const;

  /// True when `user_text` is a rubric judge prompt: it has "#score:" and a line starting
  /// with "Model Response:".
  [[nodiscard]] static bool is_judge_prompt(std::string_view user_text) noexcept;

  [[nodiscard]] const Settings& settings() const noexcept { return settings_; }

 private:
  [[nodiscard]] std::uint64_t prompt_hash(const Query& query) const noexcept;
  [[nodiscard]] std::string judge_text(std::string_view user_text, std::uint64_t hash) const;
  void fill_stream(Answer& answer, std::string_view source, std::size_t tokens,
                   std::uint64_t hash) const;

  Settings settings_;
  std::string compliance_source_;  ///< compliance_text padded with filler to kPrecomputedTokens
  std::vector<std::uint32_t> compliance_ends_;
};

/// The last message whose role is "user" (empty when there is none).
[[nodiscard]] std::string_view last_user_text(std::span<const Message> messages) noexcept;

}  // namespace medsafe::sim
