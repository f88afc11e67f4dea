#pragma once
/// Version and build identity of the medsafe SDK.
#include <version>  // defines the standard library's ABI macros

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

/// Plugins must have been built with the same core minor version, SDK headers (their digest),
/// compiler family and major version, and standard library ABI as the core that loads them:
/// these are what make the C++ types at the plugin boundary (std::string, std::function,
/// vtables, struct layouts) agree.
#define MEDSAFE_BUILD_ID                                                        \
  "medsafe-" MEDSAFE_STRINGIFY(MEDSAFE_VERSION_MAJOR) "." MEDSAFE_STRINGIFY(    \
      MEDSAFE_VERSION_MINOR) "/sdk-" MEDSAFE_SDK_DIGEST "/" MEDSAFE_COMPILER_ID \
                             "/" MEDSAFE_STDLIB_ID
