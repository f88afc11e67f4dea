#pragma once
/// Which allocator the medsafe command runs on, for --version and doctor.
#include <string>

namespace medsafe::cli {

/// "mimalloc 2.0.9", "glibc malloc", or, when mimalloc is linked but does not serve malloc
/// (something loaded before it took over), a sentence that says so.
[[nodiscard]] std::string allocator_description();

}  // namespace medsafe::cli
