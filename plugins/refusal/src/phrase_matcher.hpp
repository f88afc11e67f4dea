#pragma once
/// Finding refusal phrases in answers: one pass to normalise the answer, one pass to search it.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace medsafe::refusal {

/// Where phrases may occur in an answer.
enum class MatchMode : std::uint8_t {
  prefix,    ///< at the start (after blanks and markdown/quote marks: * _ # > " `)
  anywhere,  ///< anywhere, as whole words at both ends where the phrase begins/ends with one
};

/// A phrase found in an answer.
struct PhraseMatch {
  std::size_t phrase = 0;  ///< index in the matcher's phrases
  std::size_t offset = 0;  ///< byte offset in the normalised answer
};

/// Bytes at the start of `text` that come before its first word: blanks and markdown or quotation
/// marks (* _ # > " `). A phrase found at this offset begins the answer.
[[nodiscard]] std::size_t lead_length(std::string_view text) noexcept;

/// Normalises text for comparison: typographic apostrophes (U+2018, U+2019, U+02BC) become "'";
/// with `fold_case`, ASCII letters become lower case.
[[nodiscard]] std::string normalise(std::string_view text, bool fold_case);

/// A fixed set of phrases, prepared once and searched in many answers. Thread-safe for find().
/// The search is one pass over the answer: at each position only the phrases that begin with
/// its two bytes are compared (first 8 bytes as one integer), longest first.
class PhraseMatcher {
 public:
  /// Empty phrases are ignored.
  PhraseMatcher(const std::vector<std::string>& phrases, MatchMode mode, bool case_sensitive);

  /// The match that starts earliest in `answer` (the longest phrase on a tie), or nullopt.
  [[nodiscard]] std::optional<PhraseMatch> find(std::string_view answer) const;

  /// Every position of `text` where a phrase matches (the longest there), in order. `text` must
  /// be normalised as this matcher normalises (normalise(text, !case_sensitive)); offsets are
  /// into it. In prefix mode, at most the one match at the start.
  [[nodiscard]] std::vector<PhraseMatch> find_all_normalised(std::string_view text) const;

  /// Whether this matcher folds ASCII case (it was built case-insensitive).
  [[nodiscard]] bool folds_case() const noexcept { return fold_case_; }

  /// The phrase as configured (before normalisation).
  [[nodiscard]] const std::string& phrase(std::size_t index) const {
    return phrases_[index].original;
  }

 private:
  struct Phrase {
    std::string original;
    std::string normalised;
    bool word_start = false;      ///< begins with a letter or digit: must not start in a word
    bool word_end = false;        ///< ends with a letter or digit: must not end in a word
    std::uint64_t head = 0;       ///< its first (up to) 8 bytes, packed as load_head() does
    std::uint64_t head_mask = 0;  ///< the bits of `head` that belong to the phrase
  };

  /// Phrases grouped by a key of their first two bytes (compressed rows: the phrases with key k
  /// are entries_[starts_[k] .. starts_[k + 1]), longest first).
  struct Index {
    std::vector<std::uint32_t> starts;
    std::vector<std::uint32_t> entries;
  };

  [[nodiscard]] bool matches_at(const Phrase& phrase, std::string_view text, std::size_t at,
                                std::uint64_t head) const noexcept;
  [[nodiscard]] std::optional<std::size_t> longest_at(const Index& index, std::string_view text,
                                                      std::size_t at) const noexcept;
  [[nodiscard]] std::optional<PhraseMatch> find_in(std::string_view text,
                                                   std::size_t from = 0) const;

  std::vector<Phrase> phrases_;
  Index word_starts_;                        ///< phrases tried only where a word starts
  Index anywhere_;                           ///< phrases tried at every position
  std::vector<std::uint32_t> single_bytes_;  ///< one-byte phrases (tried at every position)
  MatchMode mode_;
  bool fold_case_;
};

}  // namespace medsafe::refusal
