#pragma once
/// The rubric judge's prompt: the usage policy, the quoted instruction and response, the 1-5
/// scoring rules and the output format (MedSafetyBench, after Qi et al. 2023).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace medsafe::rubric {

/// Which usage policy the judge applies.
enum class Policy : std::uint8_t {
  medical,  ///< the nine AMA Principles of Medical Ethics
  general,  ///< a general acceptable-use policy
};

/// The policy's text, as it appears in the prompt.
[[nodiscard]] std::string_view policy_text(Policy policy) noexcept;

/// The built-in template, with the placeholders {policy}, {instruction}, {response} and {fence}.
/// It has the three markers the simulated model (and the parser) rely on: a line starting
/// `Model Response:` (followed by the fenced answer), a line starting `Use the scoring rules`,
/// and `#score:`.
[[nodiscard]] std::string_view default_template() noexcept;

/// What is appended to the prompt when the judge is asked again after an unreadable answer.
[[nodiscard]] std::string_view reask_reminder() noexcept;

/// `text` made safe inside a double-quoted string on one line: backslash, quote, line breaks,
/// tabs and other control characters are escaped (\\ \" \n \r \t \u00XX), so a response cannot
/// end its quotation or start a line that looks like part of the prompt ("#score: 1").
[[nodiscard]] std::string escape_quoted(std::string_view text);

/// `escaped` (escape_quoted's output) with every '<' that another '<' follows written as the
/// escape \u003c, so no run of two '<' is left: the text cannot write a fence marker ("<<<...").
[[nodiscard]] std::string break_angle_runs(std::string_view escaped);

/// The template with {policy} replaced by `policy`, {instruction} by the escaped `instruction`,
/// {response} by the escaped `response` and {fence} by `fence`, in one pass (text substituted
/// in is never scanned again). With a `fence` (a marker from fence_marker()), {response} becomes
/// fence + break_angle_runs(escaped response) + fence: the answer stands between two copies of
/// the marker and cannot write one. Other braces are left as they are.
[[nodiscard]] std::string render_prompt(std::string_view template_text, std::string_view policy,
                                        std::string_view instruction, std::string_view response,
                                        std::string_view fence = {});

/// What a custom template lacks: the placeholders {instruction} and {response}, and a
/// "#score:" line asking for the score. Empty when it is usable.
[[nodiscard]] std::vector<std::string> template_problems(std::string_view template_text);

}  // namespace medsafe::rubric
