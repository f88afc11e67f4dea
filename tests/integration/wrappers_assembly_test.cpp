// The wrapper plugins as a run makes them: inner models and judges are made first whatever
// their place in the run file; a missing name or a cycle is an error naming the key and line.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>

#include "engine/plugin/assembly.hpp"
#include "engine/plugin/run_file.hpp"
#include "guard_backend.hpp"
#include "medsafe/error.hpp"
#include "support/temp_dir.hpp"

namespace medsafe {
namespace {

const char* const kSuite = R"(
[suites.syn]
plugin = "synthetic"
count = 2
)";

std::unique_ptr<Assembly> assemble(testing::TempDir& dir, const std::string& models) {
  const auto file = dir.write("run.toml", "[run]\nname = \"wrappers\"\n" + models + kSuite);
  static auto log = make_console_log(LogLevel::off);
  return std::make_unique<Assembly>(load_run_file(file, {}),
                                    std::vector<std::filesystem::path>{MEDSAFE_PLUGIN_BUILD_DIR},
                                    *log, dir.path() / "cache");
}

std::string error_of(testing::TempDir& dir, const std::string& models) {
  try {
    (void)assemble(dir, models);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

Response ask(Backend& backend, const std::string& text) {
  Request request;
  request.id = "guarded/syn/1#0";
  request.messages.push_back(Message{"user", text});
  std::optional<Response> got;
  std::mutex mutex;
  std::condition_variable arrived;
  backend.submit(request, [&](Response&& r) {
    const std::lock_guard lock(mutex);
    got = std::move(r);
    arrived.notify_all();
  });
  std::unique_lock lock(mutex);
  arrived.wait(lock, [&] { return got.has_value(); });
  return std::move(*got);
}

TEST(WrapperAssembly, MakesInnerModelsAndJudgesFirstWhereverTheyAre) {
  testing::TempDir dir;
  // The guard comes first, its judge's model and its inner model last.
  auto assembly = assemble(dir, R"(
[models.guarded]
plugin = "guard"
inner = "safe_prompt"
judge = "harm"

[models.safe_prompt]
plugin = "system-prompt"
under_test = false
inner = "target"
prompt = "You follow the AMA Principles of Medical Ethics."

[judges.harm]
plugin = "rubric"
model = "judge_model"

[models.target]
plugin = "sim"
under_test = false
refusal_rate = 0
refusal_rate_with_system_prompt = 1

[models.judge_model]
plugin = "sim"
under_test = false
)");
  ASSERT_EQ(assembly->models().size(), 4U);
  EXPECT_EQ(assembly->models()[0].spec->name, "guarded");  // run-file order is kept
  // The rubric judge on the sim scores any request text 4 (no refusal in it): blocked.
  const Response blocked = ask(assembly->model("guarded", {}), "a question");
  EXPECT_EQ(blocked.finish_reason, wrappers::kGuardBlocked);
  // Through the system prompt the sim refuses (its simulated reaction, refusal rate 1).
  const Response wrapped = ask(assembly->model("safe_prompt", {}), "a question");
  EXPECT_NE(wrapped.text.find("[simulated refusal]"), std::string::npos) << wrapped.text;
  const Response bare = ask(assembly->model("target", {}), "a question");
  EXPECT_NE(bare.text.find("[simulated answer]"), std::string::npos) << bare.text;
}

TEST(WrapperAssembly, AMissingInnerModelNamesTheKeyAndLine) {
  testing::TempDir dir;
  const std::string message = error_of(dir, R"(
[models.safe]
plugin = "system-prompt"
inner = "nobody"
prompt = "p"
)");
  EXPECT_NE(message.find("run.toml:6:9: error: no model named 'nobody' in this run; its models: "
                         "safe"),
            std::string::npos)
      << message;
}

TEST(WrapperAssembly, ACycleOfWrappersIsAnError) {
  testing::TempDir dir;
  (void)dir.write("d.openai.jsonl",
                  R"({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", )"
                  R"("content": "no"}]})"
                  "\n");
  const std::string cycle = error_of(dir, R"(
[models.a]
plugin = "system-prompt"
inner = "b"
prompt = "p"

[models.b]
plugin = "few-shot"
inner = "a"
demos = "d.openai.jsonl"
k = 1
)");
  EXPECT_NE(cycle.find("run.toml:11:9: error: the model 'a' is named here while it is being made: "
                       "a cycle (models.a -> models.b -> models.a)"),
            std::string::npos)
      << cycle;

  const std::string self = error_of(dir, R"(
[models.a]
plugin = "guard"
inner = "a"
judge = "harm"

[judges.harm]
plugin = "rubric"
model = "a"
)");
  EXPECT_NE(self.find("a cycle (models.a -> judges.harm -> models.a)"), std::string::npos) << self;
}

TEST(WrapperAssembly, AGuardNamingAMissingOrScorelessJudgeNamesTheKey) {
  testing::TempDir dir;
  const std::string missing = error_of(dir, R"(
[models.target]
plugin = "sim"

[models.guarded]
plugin = "guard"
inner = "target"
judge = "nobody"
)");
  EXPECT_NE(missing.find("run.toml:10:9: error: no judge named 'nobody' in this run; its "
                         "judges: none"),
            std::string::npos)
      << missing;
  const std::string scoreless = error_of(dir, R"(
[models.target]
plugin = "sim"

[models.guarded]
plugin = "guard"
inner = "target"
judge = "refusal"

[judges.refusal]
plugin = "refusal"
)");
  EXPECT_NE(scoreless.find("run.toml:10:9: error: 'models.guarded.judge' names 'refusal', which "
                           "gives no 1-5 harm scores"),
            std::string::npos)
      << scoreless;
}

}  // namespace
}  // namespace medsafe
