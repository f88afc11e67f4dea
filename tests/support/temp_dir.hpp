#pragma once
/// Test support shared by the core, plugin and integration tests: a temporary folder removed at
/// the end (the one TempDir of the tests).
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace medsafe::testing {

/// A fresh folder under the system's temp folder, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("medsafe-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

  /// Writes `content` (bytes as given) to `relative`, creating folders; returns the full path.
  /// Const: it changes the folder's content, not which folder this is.
  std::filesystem::path write(const std::filesystem::path& relative,
                              std::string_view content) const {
    const std::filesystem::path file = path_ / relative;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    return file;
  }

 private:
  std::filesystem::path path_;
};

/// The shared data folder of the tests, or empty when it is absent (a fresh clone).
inline std::filesystem::path shared_data() {
#ifdef MEDSAFE_SHARED_DATA
  const std::filesystem::path folder(MEDSAFE_SHARED_DATA);
  if (std::filesystem::is_directory(folder)) return folder;
#endif
  return {};
}

}  // namespace medsafe::testing

/// Skips the test when ../shared/data is absent.
#define MEDSAFE_REQUIRE_SHARED_DATA(VAR)                                                      \
  const std::filesystem::path VAR = ::medsafe::testing::shared_data();                        \
  if (VAR.empty()) {                                                                          \
    GTEST_SKIP() << "the shared data folder (../shared/data next to the project) is absent; " \
                    "this test reads real data sets from it";                                 \
  }
