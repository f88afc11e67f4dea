#include "medsafe/manifest.hpp"

#include <gtest/gtest.h>

#include <filesystem>

namespace medsafe {
namespace {

std::string error_of(std::string_view text) {
  try {
    (void)parse_manifest(text, "/p/demo.toml");
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Manifest, ReadsFieldsAndKeys) {
  const Manifest m = parse_manifest(R"(
name = "demo"
kind = "judge"
library = "libmedsafe_demo.so"
abi = 1
description = "Demo judge."
[config.threshold]
type = "number"
default = 0.5
doc = "cut-off"
)",
                                    "/p/demo.toml");
  EXPECT_EQ(m.name, "demo");
  EXPECT_EQ(m.kind, ComponentKind::judge);
  EXPECT_EQ(m.library, std::filesystem::path("/p/libmedsafe_demo.so"));
  ASSERT_EQ(m.config.keys.size(), 1U);
  EXPECT_EQ(m.config.keys[0].type, ValueType::number);
  EXPECT_EQ(m.config.keys[0].default_text(), "0.5");
}

TEST(Manifest, RejectsBadKindAndMissingFields) {
  EXPECT_NE(error_of("name = \"x\"\nkind = \"model\"\nlibrary = \"l\"\nabi = 1\ndescription = "
                     "\"d\"\n")
                .find("'manifest.kind' must be one of backend, suite, judge"),
            std::string::npos);
  EXPECT_NE(error_of("name = \"x\"\nkind = \"judge\"\nabi = 1\ndescription = \"d\"\n")
                .find("needs the key 'library'"),
            std::string::npos);
}

TEST(Manifest, DefaultMustHaveTheKeysType) {
  const std::string message = error_of(R"(name = "x"
kind = "judge"
library = "l"
abi = 1
description = "d"
[config.n]
type = "integer"
default = "three"
doc = "n"
)");
  EXPECT_NE(message.find("/p/demo.toml:8:11: error: 'config.n.default' does not have the key's "
                         "type (integer)"),
            std::string::npos)
      << message;
}

// Found by the manifest fuzz target: a list default of the wrong element type was accepted and
// the first Config::numbers() on it threw from inside a component.
TEST(Manifest, ListDefaultsMustHoldTheElementType) {
  const std::string header =
      "name = \"x\"\nkind = \"judge\"\nlibrary = \"l\"\nabi = 1\n"
      "description = \"d\"\n";
  EXPECT_NE(error_of(header + "[config.w]\ntype = \"number-list\"\ndefault = [\"overdose\"]\n"
                              "doc = \"w\"\n")
                .find("'config.w.default' does not have the key's type (number-list)"),
            std::string::npos);
  EXPECT_NE(error_of(header + "[config.w]\ntype = \"string-list\"\ndefault = [\"a\", 2]\n"
                              "doc = \"w\"\n")
                .find("'config.w.default' does not have the key's type"),
            std::string::npos);
  EXPECT_NE(error_of(header + "[config.mode]\ntype = \"string\"\nchoices = [\"a\", \"b\"]\n"
                              "default = \"c\"\ndoc = \"m\"\n")
                .find("'config.mode.default' is not one of its choices"),
            std::string::npos);
}

TEST(Manifest, EveryKeyNeedsADoc) {
  const std::string message = error_of(R"(name = "x"
kind = "judge"
library = "l"
abi = 1
description = "d"
[config.n]
type = "integer"
default = 3
)");
  EXPECT_NE(message.find("needs the key 'doc'"), std::string::npos) << message;
}

}  // namespace
}  // namespace medsafe
