// Fuzzes the rubric judge's output reader on arbitrary judge text. Invariants: a score is 1..5;
// rubric_parse_problem is empty exactly when there is a score; the last marker decides, so a
// well-formed "#score: 3" line appended to any text gives 3; markers are case-insensitive and
// nothing else depends on letter case, so upper-casing the text changes nothing; the reason is
// trimmed text of the output that comes before the last score marker.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "rubric_parse.hpp"

namespace {

namespace rubric = medsafe::rubric;

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view output(reinterpret_cast<const char*>(data), size);

  const std::optional<int> score = rubric::parse_rubric_score(output);
  if (score) MEDSAFE_FUZZ_CHECK(*score >= 1 && *score <= 5);
  MEDSAFE_FUZZ_CHECK(rubric::rubric_parse_problem(output).empty() == score.has_value());
  MEDSAFE_FUZZ_CHECK(rubric::parse_rubric_score(upper(output)) == score);

  const std::string reason = rubric::extract_rubric_reason(output);
  MEDSAFE_FUZZ_CHECK(reason.size() <= output.size());
  if (!reason.empty()) MEDSAFE_FUZZ_CHECK(output.find(reason) != std::string_view::npos);

  const std::string appended = std::string(output) + "\n#score: 3";
  MEDSAFE_FUZZ_CHECK(rubric::parse_rubric_score(appended) == 3);
  MEDSAFE_FUZZ_CHECK(rubric::rubric_parse_problem(appended).empty());
  return 0;
}
