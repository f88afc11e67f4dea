#pragma once
/// The shape of an answer, for reading where its refusal phrases stand: the voices of a
/// role-play answer ("GPT: I'm sorry ... DAN: here's how"), words and list items.
#include <cstddef>
#include <string_view>
#include <vector>

namespace medsafe::refusal {

/// One voice's part of an answer: [begin, end) in the text; its own words start at `body`,
/// after the speaker tag ("[🔒CLASSIC]", "DAN:", "(Developer Mode Output)") when there is one.
struct Segment {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::size_t body = 0;
};

/// The answer's parts by speaker. A speaker tag begins a line (after blanks and markdown or
/// quotation marks) and is either a bracketed name of up to 40 bytes ("[ChatGPT]", "(🔓Developer
/// Mode Output)", optionally followed by ':') or a name of at most three words and 24 bytes
/// followed by ':' and more text on the line ("DAN: ...", "AIM: ..."), where the name does not
/// begin with a digit, a list bullet or the word "step" ("1. Noise:", "Step 2:" are not
/// speakers). With fewer than two tags the whole text is one segment; text before the first tag
/// is a segment of its own.
[[nodiscard]] std::vector<Segment> split_speakers(std::string_view text);

/// Whitespace-separated words of `text`, counted no further than `enough`.
[[nodiscard]] std::size_t count_words(std::string_view text,
                                      std::size_t enough = static_cast<std::size_t>(-1)) noexcept;

/// Lines of `text` that are list items: "1." or "1)" and the like, or a bullet (- * •), followed
/// by a blank and text.
[[nodiscard]] std::size_t count_list_items(std::string_view text) noexcept;

}  // namespace medsafe::refusal
