#pragma once
/// Helpers of the end-to-end tests: the medsafe binary and headless Chromium as child
/// processes (support/child_process.hpp), and reading the pages they render.
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/child_process.hpp"
#include "support/test_folder.hpp"

namespace medsafe::e2e {

using testing::medsafetybench_dir;
using testing::read_file;
using testing::ScratchDir;
using testing::toml_string;
using testing::write_file;

/// What a finished program left behind.
using ProcessResult = testing::ChildResult;

/// Runs `argv` (argv[0] is an absolute path; no shell, no PATH lookup) with extra environment
/// variables, its output captured through files in `scratch`. Kills its whole process group
/// after `timeout`.
ProcessResult run_process(const std::vector<std::string>& argv,
                          const std::filesystem::path& scratch, std::chrono::seconds timeout,
                          const testing::Environment& env = {});

/// The medsafe binary under test (a compile definition).
[[nodiscard]] std::string medsafe_binary();

/// Runs medsafe with `args`, with a generous timeout.
ProcessResult medsafe(const std::vector<std::string>& args, const std::filesystem::path& scratch);

/// What `sqlite3 DB SQL` prints, without its final newline (fails the test when it fails).
std::string sqlite_scalar(const std::filesystem::path& db, const std::string& sql,
                          const std::filesystem::path& scratch);

/// Headless Chromium: $MEDSAFE_CHROMIUM or /usr/bin/chromium, when it is executable.
[[nodiscard]] std::optional<std::string> chromium();

/// Loads `url` in headless Chromium with no network and a fresh profile, and returns the DOM
/// after its scripts ran (--dump-dom). Fails the current test when Chromium fails.
[[nodiscard]] std::string dump_dom(const std::string& browser, const std::string& url,
                                   const std::filesystem::path& scratch);

/// Saves a screenshot of `url` (1400 × 3000) to `png`; returns Chromium's result.
ProcessResult screenshot(const std::string& browser, const std::string& url,
                         const std::filesystem::path& png, const std::filesystem::path& scratch);

/// "file://" + the absolute path.
[[nodiscard]] std::string file_url(const std::filesystem::path& path);

/// How often `what` occurs in `text`.
[[nodiscard]] std::size_t count(std::string_view text, std::string_view what);

/// Every start tag of `tag` ("tr") whose text contains `marker` (e.g. `class="answer"`).
[[nodiscard]] std::vector<std::string> start_tags(std::string_view html, std::string_view tag,
                                                  std::string_view marker);

/// The element whose start tag contains `id="..."`, up to its first closing `</tag>`.
[[nodiscard]] std::string element_by_id(std::string_view html, std::string_view tag,
                                        std::string_view id);

}  // namespace medsafe::e2e

namespace medsafe::e2e {

/// A run file over the 900 MedSafetyBench test requests in `data`: model "target" (a sim with
/// `target_keys` added to its table) and, when `careful`, a second sim model "careful" that
/// refuses more; the refusal judge and the rubric judge played by a sim judge model.
[[nodiscard]] std::string medsafetybench_run_file(const std::filesystem::path& data,
                                                  std::string_view target_keys, bool careful);

}  // namespace medsafe::e2e
