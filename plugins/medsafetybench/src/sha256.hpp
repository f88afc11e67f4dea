#pragma once
/// SHA-256 digests (OpenSSL) as lower-case hex, for verifying downloaded data files.
#include <filesystem>
#include <string>
#include <string_view>

namespace medsafe::medsafetybench {

/// The SHA-256 of `bytes`, 64 lower-case hex digits.
[[nodiscard]] std::string sha256_hex(std::string_view bytes);

/// The SHA-256 of the file's bytes; throws an io Error naming the file when it cannot be read.
[[nodiscard]] std::string sha256_file_hex(const std::filesystem::path& file);

/// True for 64 hex digits (either case).
[[nodiscard]] bool is_sha256_hex(std::string_view text) noexcept;

}  // namespace medsafe::medsafetybench
