#pragma once
/// Version and build identity of the medsafe SDK.
#include <version>  // defines the standard library's ABI macros

#include <toml++/impl/version.h>  // toml++'s version only: TOML_LIB_MAJOR/MINOR/PATCH

#include "medsafe/sdk_digest.hpp"  // generated: MEDSAFE_SDK_DIGEST

#define MEDSAFE_VERSION_MAJOR 0
#define MEDSAFE_VERSION_MINOR 1
#define MEDSAFE_VERSION_PATCH 0

#define MEDSAFE_STRINGIFY_DETAIL(x) #x
#define MEDSAFE_STRINGIFY(x) MEDSAFE_STRINGIFY_DETAIL(x)

#define MEDSAFE_VERSION                    \
  MEDSAFE_STRINGIFY(MEDSAFE_VERSION_MAJOR) \
  "." MEDSAFE_STRINGIFY(MEDSAFE_VERSION_MINOR) "." MEDSAFE_STRINGIFY(MEDSAFE_VERSION_PATCH)

#if defined(__clang__)
#define MEDSAFE_COMPILER_ID "clang-" MEDSAFE_STRINGIFY(__clang_major__)
#elif defined(__GNUC__)
#define MEDSAFE_COMPILER_ID "gcc-" MEDSAFE_STRINGIFY(__GNUC__)
#else
#define MEDSAFE_COMPILER_ID "unknown-compiler"
#endif

#if defined(_GLIBCXX_USE_CXX11_ABI) && _GLIBCXX_USE_CXX11_ABI
#define MEDSAFE_STDLIB_ID "libstdc++-cxx11"
#elif defined(_LIBCPP_VERSION)
#define MEDSAFE_STDLIB_ID "libc++"
#else
#define MEDSAFE_STDLIB_ID "libstdc++-old"
#endif

/// toml++ is part of the ABI: Config hands toml::table, toml::array and toml::node across the
/// plugin boundary, and the library is header-only, so its layout is whatever version each side
/// was compiled with.
#define MEDSAFE_TOML_ID                                              \
  "toml++-" MEDSAFE_STRINGIFY(TOML_LIB_MAJOR) "." MEDSAFE_STRINGIFY( \
      TOML_LIB_MINOR) "." MEDSAFE_STRINGIFY(TOML_LIB_PATCH)

/// Plugins must have been built with the same core minor version, SDK headers (their digest),
/// compiler family and major version, standard library ABI and toml++ version as the core that
/// loads them: these are what make the C++ types at the plugin boundary (std::string,
/// std::function, toml::table, vtables, struct layouts) agree.
#define MEDSAFE_BUILD_ID                                                        \
  "medsafe-" MEDSAFE_STRINGIFY(MEDSAFE_VERSION_MAJOR) "." MEDSAFE_STRINGIFY(    \
      MEDSAFE_VERSION_MINOR) "/sdk-" MEDSAFE_SDK_DIGEST "/" MEDSAFE_COMPILER_ID \
                             "/" MEDSAFE_STDLIB_ID "/" MEDSAFE_TOML_ID
