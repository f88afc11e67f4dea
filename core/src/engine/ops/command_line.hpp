#pragma once
/// Command lines as a person retypes them: the resume hint and the reports print the command that
/// continues a run, so it must survive a POSIX shell unchanged.
#include <string>
#include <string_view>
#include <vector>

namespace medsafe {

/// `word` as one POSIX shell word: unchanged when it holds only characters no shell treats
/// specially (letters, digits and `@%+=:,./-_`), else in single quotes (a `'` inside written
/// as `'\''`); the empty word is `''`.
[[nodiscard]] std::string shell_quote(std::string_view word);

/// The words, each shell_quote()d, joined by spaces.
[[nodiscard]] std::string shell_command(const std::vector<std::string>& words);

}  // namespace medsafe
