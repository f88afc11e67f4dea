#pragma once
/// Helpers shared by the medsafetybench tests.
#include <gtest/gtest.h>

#include <string>

#include "medsafe/error.hpp"
#include "medsafe/manifest.hpp"
#include "medsafetybench_suite.hpp"

namespace medsafe::medsafetybench {

inline const ConfigSchema& manifest_schema() {
  static const ConfigSchema schema = read_manifest(MEDSAFETYBENCH_MANIFEST).config;
  return schema;
}

/// A suite configured by TOML text (cache folder `cache`, no log).
inline MedSafetyBenchSuite make_suite(const std::string& toml,
                                      const std::filesystem::path& cache = {}) {
  return MedSafetyBenchSuite(Config::from_toml(toml, manifest_schema(), "run.toml"), cache,
                             nullptr);
}

/// The message of the Error that `action` throws, checking its kind.
template <typename Action>
std::string error_of(Action action, ErrorKind kind) {
  try {
    action();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return {};
}

inline void expect_contains(const std::string& text, const std::string& part) {
  EXPECT_NE(text.find(part), std::string::npos) << "'" << part << "' not in: " << text;
}

}  // namespace medsafe::medsafetybench
