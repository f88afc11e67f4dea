#pragma once
/// Safety demonstrations on disk: the three fine-tuning formats medsafe writes (OpenAI chat
/// JSONL, Alpaca JSON, ShareGPT JSON; docs/demos/*.schema.json) and a strict reader of them that
/// names the file, line, entry and key of whatever does not fit. An SDK support library of its
/// own (libmedsafe_demos.so, medsafe::demos; not in libmedsafe_core.so, which every plugin
/// loads): a plugin that links it (few-shot) reads demonstrations with the same checks as
/// `medsafe demos`, and the others do not carry it.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "medsafe/export.hpp"

namespace medsafe {

/// A fine-tuning file layout.
enum class DemoFormat : std::uint8_t {
  openai,    ///< JSON lines of {"messages": [{"role": "user", ...}, {"role": "assistant", ...}]}
  alpaca,    ///< a JSON array of {"instruction", "input", "output"} (MedSafetyBench's own form)
  sharegpt,  ///< a JSON array of {"id", "conversations": [{"from": "human"|"gpt", "value"}]}
};

/// Every format, in the order files are written.
inline constexpr DemoFormat kDemoFormats[] = {DemoFormat::openai, DemoFormat::alpaca,
                                              DemoFormat::sharegpt};

/// "openai", "alpaca" or "sharegpt".
[[nodiscard]] MEDSAFE_API std::string_view to_string(DemoFormat format) noexcept;
/// The format of that name, if any.
[[nodiscard]] MEDSAFE_API std::optional<DemoFormat> demo_format_named(
    std::string_view name) noexcept;
/// What a file of the format ends in: ".openai.jsonl", ".alpaca.json", ".sharegpt.json".
[[nodiscard]] MEDSAFE_API std::string_view demo_file_suffix(DemoFormat format) noexcept;

/// One request and its safe answer, as a fine-tuning example.
struct DemoPair {
  std::string id;  ///< written to ShareGPT's "id"; the others carry none
  std::string prompt;
  std::string answer;
  std::string where{};  ///< when read from a file: "FILE:LINE" (JSONL) or "FILE:LINE (entry N)"
};

/// The whole text of a file of `format` holding `pairs` in order. Invalid UTF-8 in the text
/// becomes U+FFFD, so the file is always valid JSON.
[[nodiscard]] MEDSAFE_API std::string render_demos(DemoFormat format,
                                                   const std::vector<DemoPair>& pairs);

/// The format a file's name says (its suffix, else .jsonl → openai), or nothing.
[[nodiscard]] MEDSAFE_API std::optional<DemoFormat> demo_format_of(
    const std::filesystem::path& file);

/// Reads a demonstration file in `format` strictly: a value of the wrong type, an unknown or
/// missing key, a role out of place, a conversation that is not one request and one answer, is
/// a data Error "FILE:LINE: error: entry N: ..." naming the key. An empty answer is an error too
/// unless `skip_empty` is set; skipped entries are counted in `*skipped` when given.
[[nodiscard]] MEDSAFE_API std::vector<DemoPair> read_demo_file(const std::filesystem::path& file,
                                                               DemoFormat format,
                                                               bool skip_empty = false,
                                                               std::size_t* skipped = nullptr);

}  // namespace medsafe
