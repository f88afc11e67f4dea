// The plugin tests' loader (tests/support/plugin_module.hpp), which loads a module with the SDK
// alone: on the loader fixtures, each a real module with one defect, it fails as clearly as the
// engine's catalog does, and on the good one it gives a working factory.
#include "support/plugin_module.hpp"

#include <gtest/gtest.h>

#include <string>

#include "medsafe/error.hpp"
#include "medsafe/http/transport.hpp"
#include "support/temp_dir.hpp"

namespace medsafe {
namespace {

namespace fs = std::filesystem;
const fs::path kFixtures = MEDSAFE_FIXTURE_DIR;

std::string load_error(const fs::path& folder, const std::string& name,
                       ComponentKind kind = ComponentKind::backend) {
  try {
    (void)testing::load_module_component(folder, name, kind);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::plugin);
    return e.what();
  }
  return "no error";
}

TEST(PluginModule, LoadsAGoodModuleOnceAndItsFactoryWorks) {
  const testing::ModuleComponent& component =
      testing::load_module_component(kFixtures / "good", "fixture_good", ComponentKind::backend);
  EXPECT_EQ(component.manifest.name, "fixture_good");
  EXPECT_EQ(component.manifest.file, kFixtures / "good" / "fixture_good.toml");
  ASSERT_TRUE(component.backend);
  EXPECT_FALSE(component.suite);
  EXPECT_FALSE(component.judge);
  EXPECT_EQ(&component, &testing::load_module_component(kFixtures / "good", "fixture_good",
                                                        ComponentKind::backend));

  const Config config = Config::validate("models.m", toml::table{}, component.manifest.config, "/");
  HttpTransport http;
  auto log = make_console_log(LogLevel::off);
  const ComponentContext context{.name = "m", .config = config, .http = http, .log = *log};
  auto backend = component.backend(context);
  Request request;
  request.messages.push_back({"user", "abc"});
  std::string answer;
  backend->submit(request, [&answer](Response&& r) { answer = r.text; });
  EXPECT_EQ(answer, "cba");
}

TEST(PluginModule, AMissingManifestNamesTheFileAndWhatTheFolderHolds) {
  const std::string message = load_error(kFixtures / "good", "nope");
  EXPECT_NE(message.find("no plugin manifest " + (kFixtures / "good" / "nope.toml").string()),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("manifests in that folder: fixture_good"), std::string::npos) << message;
}

TEST(PluginModule, TheWrongKindIsAnError) {
  const std::string message = load_error(kFixtures / "good", "fixture_good", ComponentKind::judge);
  EXPECT_NE(message.find("'fixture_good' is a backend plugin, not a judge"), std::string::npos)
      << message;
}

TEST(PluginModule, AManifestOfAnotherNameIsAnError) {
  testing::TempDir dir;
  dir.write("alias.toml", "name = \"real\"\nkind = \"backend\"\nlibrary = \"libreal.so\"\nabi = " +
                              std::to_string(kAbiVersion) + "\ndescription = \"d\"\n");
  const std::string message = load_error(dir.path(), "alias");
  EXPECT_NE(message.find("names the component 'real', not 'alias'"), std::string::npos) << message;
}

TEST(PluginModule, AManifestOfAnotherAbiIsRefusedBeforeLoading) {
  testing::TempDir dir;
  dir.write("old.toml",
            "name = \"old\"\nkind = \"backend\"\nlibrary = \"libold.so\"\nabi = 1\n"
            "description = \"d\"\n");
  const std::string message = load_error(dir.path(), "old");
  EXPECT_NE(message.find("says ABI 1, this medsafe supports " + std::to_string(kAbiVersion)),
            std::string::npos)
      << message;
}

TEST(PluginModule, AMissingModuleIsNamed) {
  testing::TempDir dir;
  dir.write("ghost.toml",
            "name = \"ghost\"\nkind = \"backend\"\nlibrary = \"libghost.so\"\nabi = " +
                std::to_string(kAbiVersion) + "\ndescription = \"d\"\n");
  const std::string message = load_error(dir.path(), "ghost");
  EXPECT_NE(message.find((dir.path() / "libghost.so").string() + "): cannot load the library"),
            std::string::npos)
      << message;
}

TEST(PluginModule, RefusesAModuleBuiltForAnotherAbi) {
  const std::string message = load_error(kFixtures / "bad_abi", "fixture_bad_abi");
  EXPECT_NE(message.find("built for medsafe ABI 999, this medsafe supports ABI " +
                         std::to_string(kAbiVersion) + ": rebuild the plugin"),
            std::string::npos)
      << message;
}

TEST(PluginModule, RefusesAModuleOfAnotherBuild) {
  const std::string message = load_error(kFixtures / "bad_build", "fixture_bad_build");
  EXPECT_NE(message.find("built as 'medsafe-0.0/other-compiler/x'"), std::string::npos) << message;
}

TEST(PluginModule, RefusesAModuleWithoutTheHandshakeEntry) {
  const std::string message = load_error(kFixtures / "no_entry", "fixture_no_entry");
  EXPECT_NE(message.find("not a medsafe plugin (it has no 'medsafe_plugin_handshake_v1' entry"),
            std::string::npos)
      << message;
}

TEST(PluginModule, ReportsARegistrationThatThrowsAndDoesNotRetryIt) {
  const std::string message = load_error(kFixtures / "throw_register", "fixture_throw_register");
  EXPECT_NE(message.find("registering its components threw: registration exploded"),
            std::string::npos)
      << message;
  const std::string again = load_error(kFixtures / "throw_register", "fixture_throw_register");
  EXPECT_NE(again.find("an earlier load of this module failed"), std::string::npos) << again;
}

}  // namespace
}  // namespace medsafe
