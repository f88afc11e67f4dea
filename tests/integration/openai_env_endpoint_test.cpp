// Credentials an OpenAI-compatible endpoint takes other than as api_key_env — a header value and
// a key in the URL's query — come from the environment ("${NAME}"): they reach the server
// expanded, the API path goes before the query, and the backend's own debug line is redacted
// once the run registers them.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "engine/plugin/assembly.hpp"
#include "medsafe/manifest.hpp"
#include "openai_backend.hpp"
#include "support/backend_test_support.hpp"
#include "support/scripted_server.hpp"

namespace medsafe::openai {
namespace {

constexpr const char* kToken = "tok-env-3c9e1f7a22d5";
constexpr const char* kKey = "key-env-84b0d6e2c1f9";

TEST(OpenAiEnvEndpoint, HeaderAndQueryValuesFromTheEnvironmentReachTheServerExpanded) {
  ::setenv("MEDSAFE_TEST_OPENAI_HEADER_TOKEN", kToken, 1);
  ::setenv("MEDSAFE_TEST_OPENAI_QUERY_KEY", kKey, 1);
  test::ScriptedServer server;
  server.enqueue(test::http_response(
      200, R"({"choices":[{"index":0,"message":{"role":"assistant","content":"no"},)"
           R"("finish_reason":"stop"}]})"));
  static const ConfigSchema schema = read_manifest(MEDSAFE_OPENAI_MANIFEST).config;
  const Config config = Config::from_toml(
      "base_url = \"" + server.base_url() +
          "/v1/?api-version=2024-10&key=${MEDSAFE_TEST_OPENAI_QUERY_KEY}\"\nmodel = \"m\"\n"
          "stream = false\nheaders = { Authorization = \"Bearer "
          "${MEDSAFE_TEST_OPENAI_HEADER_TOKEN}\", X-Team = \"med\" }\n",
      schema, "run.toml");
  HttpTransport transport;
  test::CapturingLog log;
  add_environment_secrets(log, config);  // as the run's assembly does before making it
  const ComponentContext context{.name = "target", .config = config, .http = transport, .log = log};
  OpenAiBackend backend(context);
  test::Waiter waiter;
  Request request;
  request.id = "target/s/1#0";
  request.messages = {{"user", "q"}};
  backend.submit(std::move(request), waiter.callback());
  EXPECT_EQ(waiter.wait().outcome, Outcome::ok);

  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1U);
  EXPECT_EQ(requests[0].target,
            "/v1/chat/completions?api-version=2024-10&key=" + std::string(kKey));
  ASSERT_NE(requests[0].header("authorization"), nullptr);
  EXPECT_EQ(*requests[0].header("authorization"), "Bearer " + std::string(kToken));
  EXPECT_EQ(*requests[0].header("x-team"), "med");
  // The debug line names the URL; the run's log (the console one) redacts what it registered.
  EXPECT_EQ(log.redact(log.text()).find(kKey), std::string::npos);
  EXPECT_NE(log.text().find("?api-version=2024-10&key="), std::string::npos) << log.text();
  ::unsetenv("MEDSAFE_TEST_OPENAI_HEADER_TOKEN");
  ::unsetenv("MEDSAFE_TEST_OPENAI_QUERY_KEY");
}

}  // namespace
}  // namespace medsafe::openai
