#include "report/demos_leakage.hpp"

#include <algorithm>

#include "medsafe/stable_hash.hpp"
#include "medsafe/text.hpp"

namespace medsafe {

std::string normalize_for_matching(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool gap = false;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    const bool word = byte >= 0x80 || (byte >= '0' && byte <= '9') ||
                      (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z');
    if (!word) {
      gap = !out.empty();
      continue;
    }
    if (gap) out += ' ';
    gap = false;
    out += ascii_lower(c);
  }
  return out;
}

std::vector<std::uint64_t> word_shingles(std::string_view normalized, int width) {
  std::vector<std::string_view> words;
  for (std::size_t pos = 0; pos < normalized.size();) {
    const std::size_t end = std::min(normalized.find(' ', pos), normalized.size());
    if (end > pos) words.push_back(normalized.substr(pos, end - pos));
    pos = end + 1;
  }
  std::vector<std::uint64_t> shingles;
  if (words.empty()) return shingles;
  const std::size_t w = std::max<std::size_t>(1, static_cast<std::size_t>(width));
  const std::size_t count = words.size() >= w ? words.size() - w + 1 : 1;
  shingles.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    std::uint64_t hash = kFnv1aBasis;
    for (std::size_t k = i; k < std::min(i + w, words.size()); ++k) {
      // The separator keeps ("ab", "c") apart from ("a", "bc").
      hash = fnv1a(fnv1a(hash, words[k]), " ");
    }
    shingles.push_back(mix64(hash));
  }
  std::sort(shingles.begin(), shingles.end());
  shingles.erase(std::unique(shingles.begin(), shingles.end()), shingles.end());
  return shingles;
}

double jaccard(const std::vector<std::uint64_t>& a, const std::vector<std::uint64_t>& b) {
  if (a.empty() && b.empty()) return 0;
  std::size_t common = 0;
  auto i = a.begin();
  auto j = b.begin();
  while (i != a.end() && j != b.end()) {
    if (*i < *j) {
      ++i;
    } else if (*j < *i) {
      ++j;
    } else {
      ++common;
      ++i;
      ++j;
    }
  }
  return static_cast<double>(common) / static_cast<double>(a.size() + b.size() - common);
}

LeakageIndex::LeakageIndex(std::vector<LeakageTarget> targets, double threshold, int shingle_width)
    : targets_(std::move(targets)), threshold_(threshold), width_(shingle_width) {
  shingles_.reserve(targets_.size());
  for (std::size_t t = 0; t < targets_.size(); ++t) {
    std::string normalized = normalize_for_matching(targets_[t].prompt);
    shingles_.push_back(word_shingles(normalized, width_));
    for (const std::uint64_t s : shingles_.back()) {
      postings_[s].push_back(static_cast<std::uint32_t>(t));
    }
    if (!normalized.empty()) exact_.emplace(std::move(normalized), t);
  }
}

std::optional<LeakageMatch> LeakageIndex::find(std::string_view prompt) const {
  const std::string normalized = normalize_for_matching(prompt);
  if (normalized.empty()) return std::nullopt;
  if (const auto same = exact_.equal_range(normalized); same.first != same.second) {
    std::size_t first = same.first->second;
    for (auto it = same.first; it != same.second; ++it) first = std::min(first, it->second);
    return LeakageMatch{true, 1.0, first};
  }
  const std::vector<std::uint64_t> mine = word_shingles(normalized, width_);
  // Shared shingles per target, counted over the posting lists: the exact intersection sizes
  // of every target that shares at least one shingle (all others have similarity 0).
  std::unordered_map<std::uint32_t, std::uint32_t> common;
  for (const std::uint64_t s : mine) {
    const auto found = postings_.find(s);
    if (found == postings_.end()) continue;
    for (const std::uint32_t t : found->second) ++common[t];
  }
  std::optional<LeakageMatch> best;
  for (const auto& [t, shared] : common) {
    const std::size_t both = mine.size() + shingles_[t].size() - shared;
    const double similarity = static_cast<double>(shared) / static_cast<double>(both);
    if (similarity < threshold_) continue;
    if (!best || similarity > best->similarity ||
        (similarity == best->similarity && t < best->target)) {
      best = LeakageMatch{false, similarity, t};
    }
  }
  return best;
}

}  // namespace medsafe
