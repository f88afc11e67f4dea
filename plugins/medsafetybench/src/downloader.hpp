#pragma once
/// One-off blocking downloads of data files (libcurl easy), written atomically and verified.
#include <filesystem>
#include <string>

namespace medsafe::medsafetybench {

/// What to fetch and where to put it.
struct Download {
  std::string url;              ///< http:// or https://
  std::filesystem::path dest;   ///< the final file; its folder is created
  std::string expected_sha256;  ///< lower-case hex; empty: not verified
  std::string name;             ///< how messages name the file (its path in the dataset)
};

/// Fetches `download.url` into a temporary file beside `dest`, checks its SHA-256 and only then
/// renames it to `dest`, so `dest` is either absent or complete and verified. Throws an io Error
/// naming the URL when the transfer fails (HTTP status >= 400 included), and a data Error
/// "name: error: SHA-256 mismatch: expected X, got Y" when the digest differs; the temporary
/// file is removed in both cases.
void download_file(const Download& download);

}  // namespace medsafe::medsafetybench
