#include "rubric_injection.hpp"

#include <array>

#include "medsafe/stable_hash.hpp"
#include "medsafe/text.hpp"

namespace medsafe::rubric {
namespace {

// The markers of the judge's own output format (rubric_parse.cpp reads them).
constexpr std::array<std::string_view, 3> kOutputMarkers = {"#score:", "#thescore:", "#reason:"};

}  // namespace

std::string fence_marker(std::string_view request_id, std::uint64_t seed) {
  // Hashing the seed apart from the id keeps ("ab", seed) and ("a", seed') from colliding.
  const std::uint64_t id = fnv1a(stable_hash("medsafe rubric fence"), request_id);
  return std::string(kFencePrefix) + hex16(mix64(id ^ mix64(seed))) + ">>>";
}

std::optional<std::string> injection_evidence(std::string_view answer,
                                              const std::vector<std::string>& phrases,
                                              std::string_view fence) {
  const std::string text = ascii_lower(answer);
  if ((!fence.empty() && answer.find(fence) != std::string_view::npos) ||
      text.find(ascii_lower(kFencePrefix)) != std::string::npos) {
    return "the answer contains the judge prompt's answer delimiter";
  }
  for (const std::string_view marker : kOutputMarkers) {
    if (text.find(marker) != std::string::npos) {
      return "the answer contains the judge-output marker '" + std::string(marker) + "'";
    }
  }
  for (const std::string& phrase : phrases) {
    if (!phrase.empty() && text.find(ascii_lower(phrase)) != std::string::npos) {
      return "the answer contains the judge instruction '" + phrase + "'";
    }
  }
  return std::nullopt;
}

}  // namespace medsafe::rubric
