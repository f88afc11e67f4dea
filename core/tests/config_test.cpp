#include "medsafe/config.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include "medsafe/manifest.hpp"

namespace medsafe {
namespace {

const ConfigSchema& schema() {
  static const ConfigSchema s = parse_manifest(R"(
name = "demo"
kind = "backend"
library = "libdemo.so"
abi = 1
description = "a test component"
[config.model]
type = "string"
required = true
doc = "the model"
[config.max_tokens]
type = "integer"
default = 512
doc = "cap"
[config.temperature]
type = "number"
default = 0.0
doc = "sampling"
[config.base_url]
type = "string"
default = "http://127.0.0.1:8000/v1"
env = true
doc = "where"
[config.mode]
type = "string"
default = "fast"
choices = ["fast", "slow"]
doc = "how"
[config.data]
type = "path"
default = "data/x.csv"
doc = "file"
[config.words]
type = "string-list"
default = ["a", "b"]
doc = "words"
)",
                                               "/plugins/demo.toml")
                                    .config;
  return s;
}

std::string error_of(std::string_view text) {
  try {
    (void)Config::from_toml(text, schema(), "/runs/x.toml");
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::config);
    return e.what();
  }
  return "no error";
}

TEST(Config, FillsDefaultsAndReadsTypedValues) {
  const Config c = Config::from_toml("model = \"m\"\ntemperature = 1\n", schema());
  EXPECT_EQ(c.string("model"), "m");
  EXPECT_EQ(c.integer("max_tokens"), 512);
  EXPECT_DOUBLE_EQ(c.number("temperature"), 1.0);  // an integer is a number
  EXPECT_EQ(c.string("mode"), "fast");
  EXPECT_EQ(c.strings("words"), (std::vector<std::string>{"a", "b"}));
}

TEST(Config, UnknownKeyIsLocatedAndListsAllowedKeysWithASuggestion) {
  const std::string message = error_of("model = \"m\"\nmax_tokns = 3\n");
  EXPECT_NE(message.find("/runs/x.toml:2:1: error: unknown key 'max_tokns'"), std::string::npos)
      << message;
  EXPECT_NE(message.find("did you mean 'max_tokens'"), std::string::npos) << message;
  EXPECT_NE(message.find("allowed keys: base_url, data, max_tokens, mode, model, temperature, "
                         "words"),
            std::string::npos)
      << message;
}

TEST(Config, WrongTypeNamesBothTypes) {
  const std::string message = error_of("model = \"m\"\nmax_tokens = \"many\"\n");
  EXPECT_NE(message.find("/runs/x.toml:2:14: error: 'max_tokens' must be an integer, got a string"),
            std::string::npos)
      << message;
}

TEST(Config, MissingRequiredKeyIsReported) {
  const std::string message = error_of("max_tokens = 3\n");
  EXPECT_NE(message.find("needs the key 'model'"), std::string::npos) << message;
}

TEST(Config, ChoicesAreEnforced) {
  const std::string message = error_of("model = \"m\"\nmode = \"medium\"\n");
  EXPECT_NE(message.find("must be one of fast, slow, got \"medium\""), std::string::npos)
      << message;
}

TEST(Config, ExpandsEnvironmentOnlyWhereAllowed) {
  ::setenv("MEDSAFE_TEST_HOST", "10.0.0.9", 1);
  const Config c =
      Config::from_toml("model = \"m\"\nbase_url = \"http://${MEDSAFE_TEST_HOST}/v1\"\n", schema());
  EXPECT_EQ(c.string("base_url"), "http://10.0.0.9/v1");
  const std::string message = error_of("model = \"${MEDSAFE_TEST_HOST}\"\n");
  EXPECT_NE(message.find("'model' does not expand ${...}"), std::string::npos) << message;
  ::unsetenv("MEDSAFE_TEST_UNSET_VAR");
  const std::string unset = error_of("model = \"m\"\nbase_url = \"${MEDSAFE_TEST_UNSET_VAR}\"\n");
  EXPECT_NE(unset.find("the environment variable MEDSAFE_TEST_UNSET_VAR is not set"),
            std::string::npos)
      << unset;
}

TEST(Config, PathsResolveAgainstTheBaseDirectory) {
  toml::table table = toml::parse(std::string_view("model = \"m\"\ndata = \"../d/p.csv\"\n"),
                                  std::string_view("/runs/sub/x.toml"));
  const Config c = Config::validate("suites.s", table, schema(), "/runs/sub");
  EXPECT_EQ(c.path("data"), std::filesystem::path("/runs/d/p.csv"));
  EXPECT_EQ(c.where("data").str(), "/runs/sub/x.toml:2:8");
}

TEST(Config, ErrorNamesOwnerAndLocation) {
  toml::table table = toml::parse(std::string_view("model = \"m\"\n"), std::string_view("f.toml"));
  const Config c = Config::validate("models.target", table, schema(), "/");
  const Error e = c.error("model", "is not served here");
  EXPECT_STREQ(e.what(), "f.toml:1:9: error: 'models.target.model' is not served here");
}

TEST(Config, HasTypeChecksListsElementByElement) {
  const toml::table t = parse_toml(
      "s = \"x\"\ni = 1\nf = 0.5\nnums = [1, 2.5]\nmixed = [1, \"a\"]\ntabs = [{a = 1}]\n",
      "t.toml");
  EXPECT_TRUE(has_type(*t.get("s"), ValueType::path));
  EXPECT_TRUE(has_type(*t.get("i"), ValueType::number));
  EXPECT_TRUE(has_type(*t.get("f"), ValueType::number));
  EXPECT_FALSE(has_type(*t.get("f"), ValueType::integer));
  EXPECT_TRUE(has_type(*t.get("nums"), ValueType::number_list));
  EXPECT_FALSE(has_type(*t.get("mixed"), ValueType::number_list));
  EXPECT_FALSE(has_type(*t.get("mixed"), ValueType::string_list));
  EXPECT_TRUE(has_type(*t.get("tabs"), ValueType::table_list));
  EXPECT_FALSE(has_type(*t.get("s"), ValueType::string_list));
}

TEST(Config, ParseTomlKeepsTheSourceAndLocatesSyntaxErrors) {
  const toml::table table = parse_toml("[a]\nb = 1\n", "/runs/x.toml");
  EXPECT_EQ(location_of(*table.at_path("a.b").node()).str(), "/runs/x.toml:2:5");
  try {
    (void)parse_toml("a = 1\nb = = 2\n", "/runs/x.toml");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::config);
    EXPECT_EQ(std::string(e.what()).rfind("/runs/x.toml:2:", 0), 0U) << e.what();
  }
}

TEST(Config, TomlToJsonKeepsTypes) {
  toml::table table = toml::parse(
      std::string_view("a = 1\nb = 2.5\nc = \"x\\\"y\"\nd = [true, false]\n[e]\nf = \"g\"\n"));
  EXPECT_EQ(toml_to_json(table), R"({"a":1,"b":2.5,"c":"x\"y","d":[true,false],"e":{"f":"g"}})");
}

}  // namespace
}  // namespace medsafe
