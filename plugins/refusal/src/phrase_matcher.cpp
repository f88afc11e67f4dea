#include "phrase_matcher.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "medsafe/text.hpp"

namespace medsafe::refusal {
namespace {

constexpr std::size_t kKeys = 4096;

bool is_word_char(char c) noexcept {
  const auto u = static_cast<unsigned char>(c);
  return (u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z');
}

// What may come before the first word of an answer without hiding a prefix match: blanks and
// markdown or quotation marks ("**I cannot** ...", "> I'm sorry").
bool is_lead_char(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '*' || c == '_' || c == '#' ||
         c == '>' || c == '"' || c == '`';
}

// 12 bits from two bytes: distinct for every pair of letters, digits, blanks and apostrophes,
// so a bucket rarely holds a phrase that cannot match.
std::size_t key(char first, char second) noexcept {
  return (static_cast<unsigned char>(first) & 63U) |
         ((static_cast<unsigned char>(second) & 63U) << 6U);
}

// Up to 8 bytes of `text` from `at`, zero-padded: one integer compare rejects almost every
// candidate phrase before memcmp is needed.
std::uint64_t load_head(std::string_view text, std::size_t at) noexcept {
  std::uint64_t head = 0;
  std::memcpy(&head, text.data() + at, std::min<std::size_t>(8, text.size() - at));
  return head;
}

const std::array<char, 256>& lower_table() {
  static const std::array<char, 256> table = [] {
    std::array<char, 256> t{};
    for (std::size_t i = 0; i < t.size(); ++i) {
      t[i] = ascii_lower(static_cast<char>(i));
    }
    return t;
  }();
  return table;
}

}  // namespace

std::size_t lead_length(std::string_view text) noexcept {
  std::size_t lead = 0;
  while (lead < text.size() && is_lead_char(text[lead])) ++lead;
  return lead;
}

std::string normalise(std::string_view text, bool fold_case) {
  const std::array<char, 256>& lower = lower_table();
  std::string out(text.size(), '\0');
  char* write = out.data();
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    // U+2018 and U+2019 are E2 80 98/99; U+02BC is CA BC.
    if (c == '\xE2' && i + 2 < text.size() && text[i + 1] == '\x80' &&
        (text[i + 2] == '\x98' || text[i + 2] == '\x99')) {
      *write++ = '\'';
      i += 2;
    } else if (c == '\xCA' && i + 1 < text.size() && text[i + 1] == '\xBC') {
      *write++ = '\'';
      i += 1;
    } else {
      *write++ = fold_case ? lower[static_cast<unsigned char>(c)] : c;
    }
  }
  out.resize(static_cast<std::size_t>(write - out.data()));
  return out;
}

PhraseMatcher::PhraseMatcher(const std::vector<std::string>& phrases, MatchMode mode,
                             bool case_sensitive)
    : mode_(mode), fold_case_(!case_sensitive) {
  for (const std::string& original : phrases) {
    if (original.empty()) continue;
    Phrase phrase;
    phrase.original = original;
    phrase.normalised = normalise(original, fold_case_);
    phrase.word_start = is_word_char(phrase.normalised.front());
    phrase.word_end = is_word_char(phrase.normalised.back());
    phrase.head = load_head(phrase.normalised, 0);
    phrase.head_mask = phrase.normalised.size() >= 8
                           ? ~std::uint64_t{0}
                           : (std::uint64_t{1} << (8 * phrase.normalised.size())) - 1;
    phrases_.push_back(std::move(phrase));
  }
  // Longest first, so the first phrase that matches at a position is the longest there.
  std::vector<std::uint32_t> order(phrases_.size());
  for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [this](std::uint32_t a, std::uint32_t b) {
    return phrases_[a].normalised.size() > phrases_[b].normalised.size();
  });
  auto build = [&](Index& index, bool word_start) {
    std::vector<std::vector<std::uint32_t>> buckets(kKeys);
    for (const std::uint32_t i : order) {
      const std::string& text = phrases_[i].normalised;
      if (text.size() >= 2 && phrases_[i].word_start == word_start) {
        buckets[key(text[0], text[1])].push_back(i);
      }
    }
    index.starts.assign(1, 0);
    for (const auto& bucket : buckets) {
      index.entries.insert(index.entries.end(), bucket.begin(), bucket.end());
      index.starts.push_back(static_cast<std::uint32_t>(index.entries.size()));
    }
  };
  build(word_starts_, true);
  build(anywhere_, false);
  for (const std::uint32_t i : order) {
    if (phrases_[i].normalised.size() == 1) single_bytes_.push_back(i);
  }
}

bool PhraseMatcher::matches_at(const Phrase& phrase, std::string_view text, std::size_t at,
                               std::uint64_t head) const noexcept {
  const std::string& p = phrase.normalised;
  if ((head & phrase.head_mask) != phrase.head || text.size() - at < p.size()) return false;
  if (p.size() > 8 && std::memcmp(text.data() + at + 8, p.data() + 8, p.size() - 8) != 0) {
    return false;
  }
  const std::size_t end = at + p.size();
  return !(phrase.word_end && end < text.size() && is_word_char(text[end]));
}

std::optional<std::size_t> PhraseMatcher::longest_at(const Index& index, std::string_view text,
                                                     std::size_t at) const noexcept {
  const std::size_t k = key(text[at], text[at + 1]);
  const std::uint32_t begin = index.starts[k];
  const std::uint32_t end = index.starts[k + 1];
  if (begin == end) return std::nullopt;
  const std::uint64_t head = load_head(text, at);
  for (std::uint32_t e = begin; e < end; ++e) {
    const std::uint32_t i = index.entries[e];
    if (matches_at(phrases_[i], text, at, head)) return i;
  }
  return std::nullopt;
}

std::optional<PhraseMatch> PhraseMatcher::find_in(std::string_view text, std::size_t from) const {
  // In prefix mode only the first position after the lead counts.
  std::size_t first = from;
  std::size_t last = text.size();
  if (mode_ == MatchMode::prefix) {
    first = lead_length(text);
    if (from > first) return std::nullopt;
    last = std::min(first + 1, text.size());
  }
  // Usually every phrase begins with a letter: then only word starts need a look.
  const bool only_word_starts = anywhere_.entries.empty() && single_bytes_.empty();
  for (std::size_t at = first; at < last; ++at) {
    // Phrases that begin with a letter or digit start only where a word starts: "as an ai"
    // is not in "was an airline".
    const bool word_start = at == 0 || !is_word_char(text[at - 1]) || mode_ == MatchMode::prefix;
    if (only_word_starts && !word_start) continue;
    std::optional<std::size_t> found;
    if (at + 1 < text.size()) {
      if (word_start) found = longest_at(word_starts_, text, at);
      if (!anywhere_.entries.empty()) {
        const std::optional<std::size_t> other = longest_at(anywhere_, text, at);
        if (other &&
            (!found || phrases_[*other].normalised.size() > phrases_[*found].normalised.size())) {
          found = other;
        }
      }
    }
    for (std::size_t k = 0; !found && k < single_bytes_.size(); ++k) {
      const Phrase& phrase = phrases_[single_bytes_[k]];
      if ((word_start || !phrase.word_start) && matches_at(phrase, text, at, load_head(text, at))) {
        found = single_bytes_[k];
      }
    }
    if (found) return PhraseMatch{*found, at};
  }
  return std::nullopt;
}

std::optional<PhraseMatch> PhraseMatcher::find(std::string_view answer) const {
  return find_in(normalise(answer, fold_case_));
}

std::vector<PhraseMatch> PhraseMatcher::find_all_normalised(std::string_view text) const {
  std::vector<PhraseMatch> matches;
  for (std::optional<PhraseMatch> m = find_in(text); m; m = find_in(text, m->offset + 1)) {
    matches.push_back(*m);
  }
  return matches;
}

}  // namespace medsafe::refusal
