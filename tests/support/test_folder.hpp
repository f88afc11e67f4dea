#pragma once
/// A test's own scratch folder, the files tests write and read, and the shared data they use.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace medsafe::testing {

/// A fresh folder for the current test (<tmp>/medsafe_<suite>_<test>_<pid>), removed afterwards
/// unless the test failed: then it stays for a person to look at.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// The whole content of a file ("" when it cannot be read).
[[nodiscard]] std::string read_file(const std::filesystem::path& path);

/// Writes `text` to `path`.
void write_file(const std::filesystem::path& path, std::string_view text);

/// The MedSafetyBench folder of the shared data (../shared/data), or nothing when it is absent
/// (a fresh clone has none: tests that need it skip).
[[nodiscard]] std::optional<std::filesystem::path> medsafetybench_dir();

/// `text` as a TOML basic string, quotes included (for run files tests write).
[[nodiscard]] std::string toml_string(std::string_view text);

}  // namespace medsafe::testing
