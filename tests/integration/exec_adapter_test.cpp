// The example Python adapter (docs/examples/exec_adapter.py) answers the 900 MedSafetyBench test
// prompts through the exec protocol, forwarding them to the simulated OpenAI-compatible server
// with many requests in flight, and the example judge (docs/examples/exec_judge.py) scores them.
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "engine/store/store.hpp"
#include "exec_components.hpp"
#include "exec_test_support.hpp"
#include "report/run_reader.hpp"
#include "sim_server.hpp"
#include "support/loaded_plugin.hpp"
#include "support/temp_dir.hpp"

namespace medsafe::exec {
namespace {

using testing::Collector;
using testing::exec_config;
using testing::KeptLog;

constexpr const char* kRefusal =
    "I'm sorry, but I can't help with that request. [simulated refusal]";

std::vector<PromptItem> medsafetybench_items(const std::filesystem::path& data) {
  testing::LoadedPlugin plugin("medsafetybench", ComponentKind::suite);
  const Config config = plugin.config("path = '" + (data / "medsafetybench").string() + "'");
  return plugin.factory().suite(plugin.context(config))->load();
}

TEST(ExecPythonAdapter, Answers900PromptsWithManyInFlightAndTheJudgeScoresThem) {
  EXEC_REQUIRE_PYTHON();
  MEDSAFE_REQUIRE_SHARED_DATA(data);
  const std::vector<PromptItem> items = medsafetybench_items(data);
  ASSERT_EQ(items.size(), 900U);

  sim::ServerOptions options;
  // Some time per answer, so that requests overlap at the server.
  options.settings = sim::settings_from_toml(
      "seed = 3\nrefusal_rate = 0.5\nttft_ms = 15\nitl_ms = 1\noutput_tokens = 24", "sim.toml");
  sim::SimServer server(options);
  server.start();

  KeptLog log;
  const std::string adapter = std::string(EXEC_EXAMPLES_DIR) + "/exec_adapter.py";
  ExecBackend backend(exec_config("command = ['" + testing::python() + "', '" + adapter +
                                  "', '--base-url', '" + server.base_url() +
                                  "', '--model', 'medsafe-sim', '--threads', '16']\n"
                                  "max_in_flight = 16"),
                      "python-adapter", log);
  Collector<Response> responses;
  for (std::size_t i = 0; i < items.size(); ++i) {
    Request request;
    request.id = "py/msb/" + items[i].id + "#0";
    request.messages.push_back(Message{"user", items[i].prompt});
    request.max_tokens = 64;
    request.temperature = 0.0;
    backend.submit(std::move(request), responses.callback(i));
  }
  ASSERT_TRUE(responses.wait(items.size(), std::chrono::seconds(300)))
      << responses.arrived() << " of 900 answered; log:\n"
      << log.all();

  int refused = 0;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const Response& r = responses[i];
    ASSERT_TRUE(r.ok()) << items[i].id << ": " << to_string(r.outcome) << ": " << r.error;
    EXPECT_EQ(r.usage.source, TokenSource::usage);
    if (r.text == kRefusal) {
      ++refused;
    } else {
      EXPECT_EQ(r.text.rfind("[simulated answer]", 0), 0U) << r.text;
      EXPECT_EQ(r.usage.completion_tokens, 24);
      // Streamed: each of the server's events became a delta, stamped as a token event.
      EXPECT_EQ(r.timing.token_events.size(), 24U);
    }
  }
  EXPECT_GT(refused, 300);
  EXPECT_LT(refused, 600);
  const sim::ServerStats stats = server.stats();
  EXPECT_EQ(stats.chat_completions, 900U);
  EXPECT_EQ(stats.streamed, 900U);
  EXPECT_EQ(stats.errors, 0U);
  EXPECT_GE(stats.max_in_flight, 8U) << "the server never saw 8 requests at once";
  EXPECT_GE(backend.stats().max_in_flight, 8U);
  EXPECT_EQ(backend.stats().started, 1U);

  // The example judge scores every answer through the same protocol.
  const std::string judge_program = std::string(EXEC_EXAMPLES_DIR) + "/exec_judge.py";
  ExecJudge judge(exec_config("command = ['" + testing::python() + "', '" + judge_program +
                                  "']\nrefusal = true\nmax_in_flight = 32",
                              true),
                  "keywords", log);
  Collector<Verdict> verdicts;
  for (std::size_t i = 0; i < items.size(); ++i) {
    JudgeInput input;
    input.model = "python-adapter";
    input.suite = "msb";
    input.domain = "medical";
    input.item = items[i];
    input.response = responses[i].text;
    judge.evaluate(std::move(input), verdicts.callback(i));
  }
  ASSERT_TRUE(verdicts.wait(items.size(), std::chrono::seconds(300)));
  int ones = 0;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const Verdict& v = verdicts[i];
    ASSERT_EQ(v.status, VerdictStatus::ok) << v.reason;
    const bool is_refusal = responses[i].text == kRefusal;
    EXPECT_EQ(v.score, is_refusal ? 1 : 5) << responses[i].text;
    EXPECT_EQ(v.refused, is_refusal);
    ones += v.score == 1 ? 1 : 0;
  }
  EXPECT_EQ(ones, refused);
  std::printf(
      "exec adapter: 900 answers (%d refusals), server max in flight %llu, exec max in "
      "flight %llu\n",
      refused, static_cast<unsigned long long>(stats.max_in_flight),
      static_cast<unsigned long long>(backend.stats().max_in_flight));
}

// The same through `medsafe run`: a run file with the adapter as the model under test and the
// example judge, the real binary, the answers and verdicts read back from the run's store.
TEST(ExecPythonAdapter, MedsafeRunOf900PromptsThroughTheProtocol) {
  EXEC_REQUIRE_PYTHON();
  MEDSAFE_REQUIRE_SHARED_DATA(data);
  sim::ServerOptions options;
  options.settings = sim::settings_from_toml(
      "seed = 3\nrefusal_rate = 0.5\nttft_ms = 15\nitl_ms = 1\noutput_tokens = 24", "sim.toml");
  sim::SimServer server(options);
  server.start();

  testing::TempDir dir;
  const std::string examples = EXEC_EXAMPLES_DIR;
  const std::filesystem::path run_file = dir.write("run.toml", R"(
[run]
name = "exec-adapter"
log_level = "warn"

[models.python]
plugin = "exec"
command = [")" + testing::python() + R"(", ")" + examples + R"(/exec_adapter.py",
           "--base-url", ")" + server.base_url() + R"(", "--threads", "16"]
max_in_flight = 16
concurrency = 32

[suites.msb]
plugin = "medsafetybench"
path = ")" + (data / "medsafetybench").string() + R"("

[judges.keywords]
plugin = "exec-judge"
command = [")" + testing::python() + R"(", ")" + examples + R"(/exec_judge.py"]
refusal = true
concurrency = 16
)");
  const std::filesystem::path out = dir.path() / "out";
  const std::string command = std::string("'") + MEDSAFE_CLI + "' run '" + run_file.string() +
                              "' --out '" + out.string() + "' --quiet 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[4096];
  while (const std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  const int status = ::pclose(pipe);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output;

  Store store(out);
  const RunData run = read_run(store);
  std::map<std::string, const ResponseRow*> answers;
  for (const ResponseRow& r : run.responses) {
    if (r.phase == "safety") answers[r.item_id] = &r;
  }
  ASSERT_EQ(answers.size(), 900U);
  int refused = 0;
  for (const auto& [id, r] : answers) {
    ASSERT_EQ(r->outcome, Outcome::ok) << id << ": " << r->error;
    refused += r->text == kRefusal ? 1 : 0;
    if (r->text != kRefusal) {
      EXPECT_EQ(r->token_event_ns.size(), 24U) << id;
    }
  }
  int verdicts = 0;
  for (const VerdictRow& v : run.verdicts) {
    if (v.judge != "keywords") continue;
    ++verdicts;
    ASSERT_EQ(v.status, VerdictStatus::ok) << v.reason;
    const bool is_refusal = answers.at(v.item_id)->text == kRefusal;
    EXPECT_EQ(v.score, is_refusal ? 1 : 5) << v.item_id;
    EXPECT_EQ(v.refused, is_refusal);
  }
  EXPECT_EQ(verdicts, 900);
  EXPECT_GT(refused, 300);
  EXPECT_GE(server.stats().max_in_flight, 8U);
  EXPECT_EQ(server.stats().chat_completions, 900U);
}

}  // namespace
}  // namespace medsafe::exec
