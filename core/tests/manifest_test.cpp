#include "medsafe/manifest.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "medsafe/error.hpp"

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

const std::string kHeader =
    "name = \"x\"\nkind = \"backend\"\nlibrary = \"l\"\nabi = 1\ndescription = \"d\"\n";

std::vector<std::string> key_names(const Manifest& m) {
  std::vector<std::string> names;
  for (const KeySpec& key : m.config.keys) names.push_back(key.name);
  return names;
}

// Every key medsafe::http's read_endpoint() reads (core/src/http/endpoint.cpp, replicas.cpp).
const std::vector<std::string> kEndpointKeys = {"api_key_env",
                                                "api_key_file",
                                                "base_url",
                                                "base_urls",
                                                "ca_bundle",
                                                "connect_timeout_ms",
                                                "first_byte_timeout_ms",
                                                "headers",
                                                "idle_timeout_ms",
                                                "total_timeout_ms",
                                                "verify_tls"};

TEST(ManifestInclude, TheFragmentGivesTheEndpointKeysInNameOrder) {
  const Manifest m = parse_manifest(kHeader +
                                        "include = [\"http_endpoint\"]\n"
                                        "[config.model]\ntype = \"string\"\n"
                                        "required = true\ndoc = \"m\"\n",
                                    "/p/demo.toml");
  std::vector<std::string> expected = kEndpointKeys;
  expected.push_back("model");
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(key_names(m), expected);
  const KeySpec* base_url = m.config.find("base_url");
  ASSERT_NE(base_url, nullptr);
  EXPECT_EQ(base_url->type, ValueType::string);
  EXPECT_TRUE(base_url->env_expand);
  EXPECT_EQ(base_url->default_text(), "\"http://127.0.0.1:8000/v1\"");
  const KeySpec* timeout = m.config.find("total_timeout_ms");
  ASSERT_NE(timeout, nullptr);
  EXPECT_EQ(timeout->type, ValueType::integer);
  EXPECT_EQ(timeout->default_text(), "600000");
  EXPECT_FALSE(timeout->doc.empty());
}

TEST(ManifestInclude, AManifestGivesAnIncludedKeyItsOwnDefaultAndDoc) {
  const Manifest m = parse_manifest(kHeader +
                                        "include = [\"http_endpoint\"]\n"
                                        "[config.base_url]\n"
                                        "default = \"https://api.example.com/v1\"\n"
                                        "doc = \"requests go to <base_url>/generate\"\n",
                                    "/p/demo.toml");
  const KeySpec* base_url = m.config.find("base_url");
  ASSERT_NE(base_url, nullptr);
  EXPECT_EQ(base_url->doc, "requests go to <base_url>/generate");
  EXPECT_EQ(base_url->default_text(), "\"https://api.example.com/v1\"");
  EXPECT_EQ(base_url->type, ValueType::string);  // the rest stays the fragment's
  EXPECT_TRUE(base_url->env_expand);
  const std::vector<std::string> names = key_names(m);
  EXPECT_EQ(std::count(names.begin(), names.end(), "base_url"), 1);
}

TEST(ManifestInclude, AWrongNameIsAnErrorAtTheManifestsIncludeLine) {
  const std::string message =
      error_of(kHeader + "include = [\"http_endpoint\", \"http_endpont\"]\n");
  EXPECT_NE(message.find("/p/demo.toml:6:29: error: 'include' names \"http_endpont\", which is "
                         "not a manifest fragment of this medsafe (there is: http_endpoint)"),
            std::string::npos)
      << message;
  EXPECT_NE(error_of(kHeader + "include = [\"http_endpoint\", \"http_endpoint\"]\n")
                .find("/p/demo.toml:6:29: error: 'include' names \"http_endpoint\" twice"),
            std::string::npos);
  EXPECT_NE(error_of(kHeader + "include = \"http_endpoint\"\n").find("'manifest.include'"),
            std::string::npos);
}

TEST(ManifestInclude, AnIncludedKeyTakesNoTypeOfItsOwn) {
  // Redeclaring the key would let its type drift from what read_endpoint() reads.
  const std::string message =
      error_of(kHeader +
               "include = [\"http_endpoint\"]\n[config.connect_timeout_ms]\n"
               "type = \"string\"\ndoc = \"t\"\n");
  EXPECT_NE(message.find("/p/demo.toml:8:8: error: 'config.connect_timeout_ms.type': the key "
                         "comes from the included fragment 'http_endpoint'; a manifest may give "
                         "it only its own default and doc"),
            std::string::npos)
      << message;
  const std::string wrong_default =
      error_of(kHeader + "include = [\"http_endpoint\"]\n[config.verify_tls]\ndefault = \"yes\"\n");
  EXPECT_NE(wrong_default.find("/p/demo.toml:8:11: error: 'config.verify_tls.default' does not "
                               "have the key's type (boolean)"),
            std::string::npos)
      << wrong_default;
}

TEST(ManifestInclude, ARunFilesBadValueOfAnIncludedKeyNamesItsKeyAndLine) {
  const Manifest m = parse_manifest(kHeader + "include = [\"http_endpoint\"]\n", "/p/demo.toml");
  std::string message = "no error";
  try {
    (void)Config::from_toml("base_url = \"http://h/v1\"\nidle_timeout_ms = \"soon\"\n", m.config,
                            "/runs/run.toml");
  } catch (const Error& e) {
    message = e.what();
  }
  EXPECT_NE(message.find("/runs/run.toml:2:19: error: 'idle_timeout_ms' must be an integer"),
            std::string::npos)
      << message;
}

// The shipped HTTP backends take the keys from the fragment (and so all of them), not copies.
TEST(ManifestInclude, TheHttpBackendsManifestsHoldEveryEndpointKey) {
  for (const char* plugin : {"openai", "anthropic"}) {
    const std::filesystem::path file =
        std::filesystem::path(MEDSAFE_SOURCE_DIR) / "plugins" / plugin / "plugin.toml";
    const Manifest m = read_manifest(file);
    const std::vector<std::string> names = key_names(m);
    for (const std::string& key : kEndpointKeys) {
      EXPECT_NE(std::find(names.begin(), names.end(), key), names.end()) << plugin << ": " << key;
    }
    EXPECT_TRUE(std::is_sorted(names.begin(), names.end())) << plugin;
  }
  const Manifest anthropic =
      read_manifest(std::filesystem::path(MEDSAFE_SOURCE_DIR) / "plugins/anthropic/plugin.toml");
  EXPECT_EQ(anthropic.config.find("base_url")->default_text(), "\"https://api.anthropic.com/v1\"");
  EXPECT_NE(anthropic.config.find("api_key_env")->doc.find("x-api-key"), std::string::npos);
}

}  // namespace
}  // namespace medsafe
