// Secrets from the environment: "${NAME}" expanded in tables marked env (HTTP headers), every
// value it put in recorded, registered with the run's log (one set of secrets for every log
// line, stored text and error message), and redacted also in the forms a server echoes.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "engine/plugin/assembly.hpp"
#include "medsafe/config.hpp"
#include "medsafe/log.hpp"
#include "medsafe/manifest.hpp"

namespace medsafe {
namespace {

constexpr const char* kToken = "tok-3f9a1c77e2";

const ConfigSchema& schema() {
  static const ConfigSchema s = parse_manifest(
                                    "name = \"env\"\nkind = \"backend\"\nlibrary = \"libenv.so\"\n"
                                    "abi = 1\ndescription = \"keys that expand the environment\"\n"
                                    R"([config]
base_url = { type = "string", default = "http://127.0.0.1:8000/v1", env = true, doc = "where" }
mode = { type = "string", default = "fast", choices = ["fast", "slow"], env = true, doc = "how" }
headers = { type = "table", default = {}, env = true, doc = "extra headers" }
extra_body = { type = "table", default = {}, doc = "not expanded" }
)",
                                    "/plugins/demo.toml")
                                    .config;
  return s;
}

class EnvSecrets : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("MEDSAFE_TEST_TOKEN", kToken, 1);
    ::setenv("MEDSAFE_TEST_PORT", "8123", 1);
  }
  void TearDown() override {
    ::unsetenv("MEDSAFE_TEST_TOKEN");
    ::unsetenv("MEDSAFE_TEST_PORT");
  }
};

TEST_F(EnvSecrets, HeaderValuesAreExpandedAndEveryValueUsedIsRecorded) {
  const auto table = std::make_shared<const toml::table>(toml::parse(
      std::string_view("base_url = \"http://h:${MEDSAFE_TEST_PORT}/v1\"\n"
                       "headers = { Authorization = \"Bearer ${MEDSAFE_TEST_TOKEN}\", X = \"y\" }\n"
                       "extra_body = { note = \"${NOT_EXPANDED}\" }\n"),
      std::string_view("/runs/x.toml")));
  const Config c = Config::validate("models.m", table, schema(), "/runs");
  // The table handed out is the expanded copy, not the parsed original.
  ASSERT_NE(c.table("headers"), nullptr);
  EXPECT_EQ(c.table("headers")->get("Authorization")->value<std::string>(),
            std::string("Bearer ") + kToken);
  EXPECT_EQ(c.table("headers")->get("X")->value<std::string>(), "y");
  // A table not marked env keeps "${...}" as written (and it is no secret).
  EXPECT_EQ(c.table("extra_body")->get("note")->value<std::string>(), "${NOT_EXPANDED}");
  EXPECT_EQ(c.from_environment(), (std::vector<std::string>{"8123", kToken}));
}

TEST_F(EnvSecrets, AnUnsetVariableInAHeaderIsLocatedAtItsValue) {
  ::unsetenv("MEDSAFE_TEST_MISSING");
  try {
    (void)Config::from_toml("headers = { A = \"${MEDSAFE_TEST_MISSING}\" }\n", schema(),
                            "/runs/x.toml");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/runs/x.toml:1:17: error: 'headers.A' uses "
                                         "${MEDSAFE_TEST_MISSING}, but the environment variable "
                                         "MEDSAFE_TEST_MISSING is not set"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(EnvSecrets, AChoiceErrorQuotesTheValueAsWrittenNotAsExpanded) {
  try {
    (void)Config::from_toml("mode = \"${MEDSAFE_TEST_TOKEN}\"\n", schema(), "/runs/x.toml");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find(kToken), std::string::npos) << message;
    EXPECT_NE(message.find("got \"${MEDSAFE_TEST_TOKEN}\" (expanded from the environment)"),
              std::string::npos)
        << message;
  }
}

TEST_F(EnvSecrets, TheRunLogRedactsEnvironmentValuesButNotShortOnes) {
  const Config c = Config::from_toml(
      "base_url = \"http://h:${MEDSAFE_TEST_PORT}/v1?key=${MEDSAFE_TEST_TOKEN}\"\n", schema());
  auto secrets = std::make_shared<Secrets>();
  const std::unique_ptr<Log> log = make_console_log(LogLevel::off, secrets);
  add_environment_secrets(*log, c);
  const std::string url = c.string("base_url");
  EXPECT_EQ(log->redact(url), "http://h:8123/v1?key=[redacted]");
  // The set is shared: what main() prints for an error that ends a command is redacted alike.
  EXPECT_EQ(secrets->redact("bad url " + url), "bad url http://h:8123/v1?key=[redacted]");
}

TEST(Secrets, RedactsTheJsonAndPercentEncodedFormsLongestFirst) {
  Secrets secrets;
  secrets.add("k/ey\"+1");
  secrets.add("k");  // a shorter secret inside the longer one must not split it
  EXPECT_EQ(secrets.redact("raw k/ey\"+1 json k/ey\\\"+1 url k%2Fey%22%2B1 and k"),
            "raw [redacted] json [redacted] url [redacted] and [redacted]");
  EXPECT_EQ(Secrets().redact("nothing registered"), "nothing registered");
}

}  // namespace
}  // namespace medsafe
