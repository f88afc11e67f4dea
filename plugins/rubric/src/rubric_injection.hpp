#pragma once
/// Keeping the judged answer from steering the rubric judge: the per-request fence around the
/// answer in the prompt, and the signs that an answer tries to talk to its judge.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace medsafe::rubric {

/// The marker that fences the answer of the request `request_id` in the judge prompt:
/// "<<<ANSWER-" + 16 hex digits + ">>>", the digits a hash of the request id and the run's seed.
/// The same request and seed give the same marker (a resumed run sends the same prompt); it is no
/// fixed string a model under test could learn to write.
[[nodiscard]] std::string fence_marker(std::string_view request_id, std::uint64_t seed);

/// What every fence marker begins with, whatever its digits.
inline constexpr std::string_view kFencePrefix = "<<<ANSWER-";

/// Why `answer` looks like an attempt to steer an LLM judge, or nullopt: it holds a judge-output
/// marker ("#score:", "#thescore:", "#reason:"), one of `phrases` (ASCII case-insensitive, e.g.
/// "ignore the rubric", "as the judge"), or a fence marker (kFencePrefix, or the exact `fence`).
/// The reason names what was found: "the answer contains the judge-output marker '#score:'".
[[nodiscard]] std::optional<std::string> injection_evidence(std::string_view answer,
                                                            const std::vector<std::string>& phrases,
                                                            std::string_view fence);

}  // namespace medsafe::rubric
