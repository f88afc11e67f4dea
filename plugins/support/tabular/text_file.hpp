#pragma once
/// Reading whole data files, with errors that say what is missing and how to get it.
#include <filesystem>
#include <string>
#include <string_view>

namespace medsafe::tabular {

/// The bytes of `file`. Throws a data Error "file: error: cannot read ...: <reason>", followed
/// by `hint` (how to get the file) when it is not empty.
[[nodiscard]] std::string read_text_file(const std::filesystem::path& file,
                                         std::string_view hint = {});

}  // namespace medsafe::tabular
