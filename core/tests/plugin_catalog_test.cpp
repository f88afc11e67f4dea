#include "engine/plugin/plugin_catalog.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "medsafe/error.hpp"
#include "medsafe/http/transport.hpp"
#include "medsafe/version.hpp"
#include "support/temp_dir.hpp"

namespace medsafe {
namespace {

namespace fs = std::filesystem;
const fs::path kFixtures = MEDSAFE_FIXTURE_DIR;

std::string load_error(const std::string& fixture_case, const std::string& name) {
  PluginCatalog catalog = PluginCatalog::discover({kFixtures / fixture_case});
  try {
    (void)catalog.load(name, ComponentKind::backend, SourceLocation{"run.toml", 3, 10});
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::plugin);
    return e.what();
  }
  return "no error";
}

TEST(PluginCatalog, DiscoversManifestsAndLoadsAGoodPlugin) {
  PluginCatalog catalog = PluginCatalog::discover({kFixtures / "good"});
  ASSERT_NE(catalog.find("fixture_good"), nullptr);
  const ComponentFactory& factory =
      catalog.load("fixture_good", ComponentKind::backend, SourceLocation{"run.toml"});
  ASSERT_TRUE(factory.backend);
  // Loading again returns the same factory without loading the library twice.
  EXPECT_EQ(&factory, &catalog.load("fixture_good", ComponentKind::backend, {}));

  const Config config = Config::validate("models.m", toml::table{}, factory.manifest->config, "/");
  HttpTransport http;
  auto log = make_console_log(LogLevel::off);
  const ComponentContext context{
      .name = "m", .config = config, .http = http, .log = *log, .cache_dir = "/tmp"};
  auto backend = factory.backend(context);
  Request request;
  request.messages.push_back({"user", "abc"});
  std::string answer;
  backend->submit(request, [&answer](Response&& r) { answer = r.text; });
  EXPECT_EQ(answer, "cba");
}

TEST(PluginCatalog, UnknownNameListsWhatExistsAndWhereItLooked) {
  PluginCatalog catalog = PluginCatalog::discover({kFixtures / "good"});
  try {
    (void)catalog.load("nope", ComponentKind::backend, SourceLocation{"run.toml", 3, 10});
    FAIL();
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("run.toml:3:10: error: no backend plugin named 'nope'; available: "
                           "fixture_good"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find((kFixtures / "good").string()), std::string::npos) << message;
  }
}

TEST(PluginCatalog, WrongKindIsAnError) {
  PluginCatalog catalog = PluginCatalog::discover({kFixtures / "good"});
  EXPECT_THROW((void)catalog.load("fixture_good", ComponentKind::judge, {}), Error);
}

TEST(PluginCatalog, RefusesAnotherAbi) {
  const std::string message = load_error("bad_abi", "fixture_bad_abi");
  EXPECT_NE(message.find("built for medsafe ABI 999, this medsafe supports ABI " +
                         std::to_string(kAbiVersion) + ": rebuild the plugin"),
            std::string::npos)
      << message;
}

TEST(PluginCatalog, RefusesAnotherBuild) {
  const std::string message = load_error("bad_build", "fixture_bad_build");
  EXPECT_NE(message.find("built as 'medsafe-0.0/other-compiler/x'"), std::string::npos) << message;
}

TEST(PluginCatalog, RefusesAPluginBuiltAgainstAnotherTomlVersion) {
  // toml++ types cross the boundary (Config), so its version is part of the build id.
  const std::string ours = "toml++-" + std::to_string(TOML_LIB_MAJOR) + "." +
                           std::to_string(TOML_LIB_MINOR) + "." + std::to_string(TOML_LIB_PATCH);
  EXPECT_NE(std::string(MEDSAFE_BUILD_ID).find("/" + ours), std::string::npos) << MEDSAFE_BUILD_ID;
  const std::string message = load_error("other_toml", "fixture_other_toml");
  const std::string theirs =
      "toml++-" + std::to_string(TOML_LIB_MAJOR) + ".99." + std::to_string(TOML_LIB_PATCH);
  EXPECT_NE(message.find("built as '"), std::string::npos) << message;
  EXPECT_NE(message.find(theirs + "'"), std::string::npos) << message;
  EXPECT_NE(message.find("toml++"), message.rfind("toml++")) << "both ids are named: " << message;
}

TEST(PluginCatalog, RefusesALibraryWithoutEntry) {
  const std::string message = load_error("no_entry", "fixture_no_entry");
  EXPECT_NE(message.find("not a medsafe plugin"), std::string::npos) << message;
}

TEST(PluginCatalog, TellsAPluginOfAnOlderSdkByItsEntryToBeRebuilt) {
  const std::string message = load_error("old_entry", "fixture_old_entry");
  EXPECT_NE(message.find("an older medsafe SDK"), std::string::npos) << message;
  EXPECT_NE(message.find("rebuild the plugin"), std::string::npos) << message;
  EXPECT_EQ(message.find("not a medsafe plugin"), std::string::npos) << message;
}

TEST(PluginCatalog, ReportsARegistrationThatThrowsAndDoesNotRunItAgain) {
  const std::string message = load_error("throw_register", "fixture_throw_register");
  EXPECT_NE(message.find("registering its components threw: registration exploded"),
            std::string::npos)
      << message;
  // Another catalog (another run in the same process) is told why, without the module's code
  // running a second time after it threw.
  const std::string again = load_error("throw_register", "fixture_throw_register");
  EXPECT_NE(again.find("an earlier load of this module failed: registering its components "
                       "threw: registration exploded"),
            std::string::npos)
      << again;
}

TEST(PluginCatalog, MissingLibraryIsReadable) {
  testing::TempDir dir;
  dir.write("ghost.toml",
            "name = \"ghost\"\nkind = \"backend\"\nlibrary = \"libghost.so\"\nabi = " +
                std::to_string(kAbiVersion) + "\ndescription = \"d\"\n");
  PluginCatalog catalog = PluginCatalog::discover({dir.path()});
  try {
    (void)catalog.load("ghost", ComponentKind::backend, {});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot load the library"), std::string::npos) << e.what();
  }
}

TEST(PluginCatalog, BadManifestIsAProblemNotAFailure) {
  testing::TempDir dir;
  dir.write("broken.toml", "name = \"broken\"\nkind = \"oracle\"\n");
  const PluginCatalog catalog = PluginCatalog::discover({dir.path(), kFixtures / "good"});
  EXPECT_NE(catalog.find("fixture_good"), nullptr);
  ASSERT_EQ(catalog.problems().size(), 1U);
  EXPECT_NE(catalog.problems()[0].message.find("broken.toml"), std::string::npos);
}

TEST(PluginCatalog, FirstFolderWinsAndLaterOnesAreShadowed) {
  testing::TempDir dir;
  fs::copy(kFixtures / "good", dir.path() / "copy");
  const PluginCatalog catalog = PluginCatalog::discover({kFixtures / "good", dir.path() / "copy"});
  ASSERT_NE(catalog.find("fixture_good"), nullptr);
  EXPECT_EQ(catalog.find("fixture_good")->file.parent_path(), kFixtures / "good");
  EXPECT_EQ(catalog.shadowed().size(), 1U);
}

TEST(PluginCatalog, RefusesAWorldWritablePluginFolder) {
  testing::TempDir dir;
  const fs::path folder = dir.path() / "open";
  fs::copy(kFixtures / "good", folder);
  ::chmod(folder.c_str(), 0777);
  PluginCatalog catalog = PluginCatalog::discover({folder});
  try {
    (void)catalog.load("fixture_good", ComponentKind::backend, {});
    FAIL() << "loaded a plugin from a world-writable folder";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("can be written by any user (mode 0777)"), std::string::npos) << message;
    EXPECT_NE(message.find("chmod o-w"), std::string::npos) << message;
  }
}

TEST(PluginCatalog, SearchPathHonoursTheEnvironment) {
  ::setenv("MEDSAFE_PLUGIN_PATH", "/opt/a:/opt/b", 1);
  const std::vector<fs::path> path = plugin_search_path({"/first"});
  ::unsetenv("MEDSAFE_PLUGIN_PATH");
  ASSERT_GE(path.size(), 4U);
  EXPECT_EQ(path[0], fs::path("/first"));
  EXPECT_EQ(path[1], fs::path("/opt/a"));
  EXPECT_EQ(path[2], fs::path("/opt/b"));
}

}  // namespace
}  // namespace medsafe
