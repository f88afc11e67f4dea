// The model actually tested — its `model` id and the host of its base_url, never the URL's
// path, query, user info or a secret — is taken from the configuration and named per model in
// report.md, report.html and results.json.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "engine/plugin/assembly.hpp"
#include "medsafe/log.hpp"
#include "medsafe/manifest.hpp"
#include "report/metrics.hpp"
#include "report/report_html.hpp"
#include "report/report_json.hpp"
#include "report/report_markdown.hpp"
#include "report_test_data.hpp"

namespace medsafe {
namespace {

Manifest backend_manifest(std::string_view keys, std::string_view target = "") {
  std::string text =
      "name = \"b\"\nkind = \"backend\"\nlibrary = \"libb.so\"\nabi = 4\ndescription = \"d\"\n";
  if (!target.empty()) text += "target = \"" + std::string(target) + "\"\n";
  text += keys;
  return parse_manifest(text, "/plugins/b.toml");
}

constexpr std::string_view kHttpKeys = R"(
[config.model]
type = "string"
required = true
doc = "the model"
[config.base_url]
type = "string"
env = true
default = "http://127.0.0.1:8000/v1"
doc = "where"
)";

TEST(ModelTarget, IsTheModelKeyAndTheHostOfTheBaseUrlOnly) {
  ::setenv("MEDSAFE_TEST_TARGET_KEY", "k-7a0c55e1d9", 1);
  const Manifest manifest = backend_manifest(kHttpKeys);
  const Config config = Config::from_toml(
      "model = \"meta-llama/Llama-3.1-8B-Instruct\"\n"
      "base_url = \"https://user:pw@gpu-7.example.org:8443/v1/x?key=${MEDSAFE_TEST_TARGET_KEY}\"\n",
      manifest.config);
  const std::unique_ptr<Log> log = make_console_log(LogLevel::off);
  add_environment_secrets(*log, config);
  const ModelTarget target = model_target(config, manifest, *log);
  EXPECT_EQ(target.model_id, "meta-llama/Llama-3.1-8B-Instruct");
  EXPECT_EQ(target.host, "gpu-7.example.org:8443");
  ::unsetenv("MEDSAFE_TEST_TARGET_KEY");
}

TEST(ModelTarget, AHostFromTheEnvironmentIsRedacted) {
  ::setenv("MEDSAFE_TEST_TARGET_HOST", "inference.internal", 1);
  const Manifest manifest = backend_manifest(kHttpKeys);
  const Config config = Config::from_toml(
      "model = \"m\"\nbase_url = \"http://${MEDSAFE_TEST_TARGET_HOST}:8000/v1\"\n",
      manifest.config);
  const std::unique_ptr<Log> log = make_console_log(LogLevel::off);
  add_environment_secrets(*log, config);
  EXPECT_EQ(model_target(config, manifest, *log).host, "[redacted]:8000");
  ::unsetenv("MEDSAFE_TEST_TARGET_HOST");
}

TEST(ModelTarget, ABackendWithoutAModelKeySaysWhatItIs) {
  const Manifest manifest = backend_manifest(
      "[config.seed]\ntype = \"integer\"\ndefault = 0\n"
      "doc = \"seed\"\n",
      "simulated");
  const Config config = Config::from_toml("", manifest.config);
  const std::unique_ptr<Log> log = make_console_log(LogLevel::off);
  const ModelTarget target = model_target(config, manifest, *log);
  EXPECT_EQ(target.model_id, "simulated");
  EXPECT_EQ(target.host, "");
  // Without `target` in its manifest, nothing is claimed.
  const Manifest silent = backend_manifest("");
  EXPECT_EQ(model_target(Config::from_toml("", silent.config), silent, *log).model_id, "");
}

TEST(ModelTarget, EveryReportNamesTheModelTestedPerModel) {
  RunData d = test_data::small_run();
  d.info.models[0].model_id = "meta-llama/Llama-3.1-8B-Instruct";
  d.info.models[0].host = "127.0.0.1:8000";
  d.info.models[1].model_id = "simulated";
  const RunMetrics metrics = compute_metrics(d);

  const std::string md = report_markdown(d, metrics);
  EXPECT_NE(md.find("- Models under test: m (sim: meta-llama/Llama-3.1-8B-Instruct at "
                    "127.0.0.1:8000)\n"),
            std::string::npos)
      << md;
  const std::string html = report_html(d, metrics);
  EXPECT_NE(html.find("<li>model m: meta-llama/Llama-3.1-8B-Instruct at 127.0.0.1:8000 (sim)"
                      "</li>"),
            std::string::npos);
  EXPECT_NE(html.find("<li>judge model judge-model: simulated (sim)</li>"), std::string::npos);
  const auto json = results_json(d, metrics);
  EXPECT_EQ(json["models"][0]["model_id"], "meta-llama/Llama-3.1-8B-Instruct");
  EXPECT_EQ(json["models"][0]["host"], "127.0.0.1:8000");
  EXPECT_EQ(json["models"][1]["model_id"], "simulated");
  EXPECT_EQ(json["models"][1]["host"], "");
}

}  // namespace
}  // namespace medsafe
