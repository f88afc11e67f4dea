// The built module: found by its manifest, loaded through the engine's catalog, configured
// like a run file's [models.x] table, and answering in process.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>

#include "engine/plugin/plugin_catalog.hpp"
#include "medsafe/http/transport.hpp"
#include "medsafe/log.hpp"
#include "medsafe/plugin.hpp"

namespace {

TEST(SimPlugin, LoadsAndAnswersLikeARunFileModel) {
  medsafe::PluginCatalog catalog = medsafe::PluginCatalog::discover({SIM_PLUGIN_DIR});
  const medsafe::Manifest* manifest = catalog.find("sim");
  ASSERT_NE(manifest, nullptr) << "no sim.toml in " << SIM_PLUGIN_DIR;
  EXPECT_EQ(manifest->kind, medsafe::ComponentKind::backend);
  const medsafe::ComponentFactory& factory =
      catalog.load("sim", medsafe::ComponentKind::backend, medsafe::SourceLocation{"test", 1, 1});
  ASSERT_TRUE(factory.backend);

  const toml::table table = toml::parse(std::string_view("refusal_rate = 0\noutput_tokens = 7"),
                                        std::string_view("run.toml"));
  const medsafe::Config config =
      medsafe::Config::validate("models.quick", table, manifest->config, ".");
  medsafe::HttpTransport http;
  const std::unique_ptr<medsafe::Log> log = medsafe::make_console_log(medsafe::LogLevel::warn);
  const medsafe::ComponentContext context{
      .name = "quick", .config = config, .http = http, .log = *log};
  const std::unique_ptr<medsafe::Backend> backend = factory.backend(context);

  std::promise<medsafe::Response> answered;
  medsafe::Request request;
  request.id = "quick/suite/1#0";
  request.messages = {{"user", "How much paracetamol is too much?"}};
  backend->submit(request,
                  [&answered](medsafe::Response&& r) { answered.set_value(std::move(r)); });
  std::future<medsafe::Response> future = answered.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  const medsafe::Response response = future.get();
  EXPECT_EQ(response.outcome, medsafe::Outcome::ok);
  EXPECT_EQ(response.usage.completion_tokens, 7);
  EXPECT_TRUE(response.text.starts_with("[simulated answer]")) << response.text;
}

TEST(SimPlugin, RejectsABadRunFileTable) {
  medsafe::PluginCatalog catalog = medsafe::PluginCatalog::discover({SIM_PLUGIN_DIR});
  const medsafe::Manifest* manifest = catalog.find("sim");
  ASSERT_NE(manifest, nullptr);
  const toml::table table = toml::parse(std::string_view("refusal_rate = 0\nttft_msec = 3"),
                                        std::string_view("run.toml"));
  try {
    (void)medsafe::Config::validate("models.quick", table, manifest->config, ".");
    ADD_FAILURE() << "a misspelt key was accepted";
  } catch (const medsafe::Error& e) {
    EXPECT_NE(std::string(e.what()).find("run.toml:2"), std::string::npos) << e.what();
  }
}

}  // namespace
