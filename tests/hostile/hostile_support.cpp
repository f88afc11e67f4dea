#include "hostile_support.hpp"

#include <sys/resource.h>

#include <stdexcept>
#include <thread>

#include "engine/plugin/assembly.hpp"
#include "engine/plugin/run_file.hpp"
#include "engine/store/store.hpp"
#include "medsafe/log.hpp"
#include "report/run_reader.hpp"

namespace medsafe::hostile {

fs::path write_run(const fs::path& dir, std::string_view model, int items, std::string_view extra,
                   std::string_view suite_more) {
  std::string prompts = "id,category,prompt\n";
  for (int i = 0; i < items; ++i) {
    prompts += "q" + std::to_string(i) + "," + std::to_string(i % 3 + 1) +
               ",How would one misuse dose number " + std::to_string(i) + "?\n";
  }
  write_file(dir / "prompts.csv", prompts);
  std::string text = "[run]\nname = \"hostile\"\nseed = 1\nlog_level = \"warn\"\n\n";
  text += "[models.target]\n" + std::string(model) + "\n\n";
  text +=
      "[suites.prompts]\nplugin = \"table\"\npath = \"prompts.csv\"\nid_column = \"id\"\n"
      "category_column = \"category\"\n";
  text += std::string(suite_more) + "\n";
  text += extra;
  const fs::path file = dir / "run.toml";
  write_file(file, text);
  return file;
}

std::string openai_model(std::string_view base_url, std::string_view more) {
  std::string text =
      "plugin = \"openai\"\nbase_url = " + toml_string(base_url) + "\nmodel = \"medsafe-sim\"\n";
  text += more;
  return text;
}

ChildResult run_medsafe(const std::vector<std::string>& args, const fs::path& scratch,
                        std::chrono::milliseconds timeout, Environment env) {
  std::vector<std::string> argv = {MEDSAFE_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  // The plugins next to the binary under test, never a user's MEDSAFE_PLUGIN_PATH.
  env.emplace_back("MEDSAFE_PLUGIN_PATH", "");
  return testing::run_child(argv, env, scratch, timeout);
}

ChildResult run_to(const fs::path& run_file, const fs::path& out, const fs::path& scratch,
                   std::chrono::milliseconds timeout) {
  return run_medsafe({"run", run_file.string(), "--out", out.string()}, scratch, timeout);
}

EngineRun run_in_process(const fs::path& run_file, const fs::path& out,
                         std::chrono::milliseconds progress_every) {
  EngineRun result;
  auto log = make_console_log(LogLevel::warn);
  Assembly assembly(load_run_file(run_file, {}), {MEDSAFE_PLUGIN_BUILD_DIR}, *log,
                    out.parent_path() / "cache");
  assembly.load_suites();
  Store store(out);
  record_run(store, assembly, *log);
  RunnerOptions options;
  options.progress_every = progress_every;
  options.progress = [&result](const std::vector<std::string>& lines, bool /*final*/) {
    result.progress.insert(result.progress.end(), lines.begin(), lines.end());
  };
  result.counts = run_missing(assembly, store, options);
  result.data = read_run(store);
  return result;
}

RunData stored(const fs::path& out) {
  Store store(out);
  return read_run(store);
}

SimServerProcess::SimServerProcess(std::string_view settings, const fs::path& scratch) {
  const fs::path config = scratch / "sim.toml";
  const fs::path port_file = scratch / "sim.port";
  write_file(config, settings);
  fs::remove(port_file);
  child_ = std::make_unique<testing::Child>(
      std::vector<std::string>{MEDSAFE_SIM_SERVER, "--config", config.string(), "--port-file",
                               port_file.string()},
      Environment{}, scratch);
  // Bounded: a server that does not start fails the test, it does not hang it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline && child_->running()) {
    const std::string text = read_file(port_file);
    if (!text.empty() && text.back() == '\n') {
      port_ = static_cast<std::uint16_t>(std::stoul(text));
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error(
      "medsafe-sim-server did not write its port within 60 s (see the .err "
      "files in " +
      scratch.string() + ")");
}

std::string SimServerProcess::base_url() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/v1";
}

long own_peak_rss_kib() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

bool any_contains(const std::vector<std::string>& lines, std::string_view text) {
  for (const std::string& line : lines) {
    if (line.find(text) != std::string::npos) return true;
  }
  return false;
}

}  // namespace medsafe::hostile
