#include "e2e_support.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace medsafe::e2e {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> environment_with(
    const std::vector<std::pair<std::string, std::string>>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    const std::string name = entry.substr(0, entry.find('='));
    const bool replaced =
        std::any_of(extra.begin(), extra.end(), [&](const auto& kv) { return kv.first == name; });
    if (!replaced) env.push_back(entry);
  }
  for (const auto& [name, value] : extra) env.push_back(name + "=" + value);
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

ScratchDir::ScratchDir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  path_ = fs::temp_directory_path() / ("medsafe_e2e_" + std::string(info->test_suite_name()) + "_" +
                                       info->name() + "_" + std::to_string(::getpid()));
  fs::remove_all(path_);
  fs::create_directories(path_);
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;
  // Keep the folder of a failed test for a person to look at.
  if (!::testing::Test::HasFailure()) fs::remove_all(path_, ignored);
}

ProcessResult run_process(const std::vector<std::string>& argv, const fs::path& scratch,
                          std::chrono::seconds timeout,
                          const std::vector<std::pair<std::string, std::string>>& env) {
  static int serial = 0;
  const std::string stem = "process-" + std::to_string(++serial);
  const fs::path out_file = scratch / (stem + ".out");
  const fs::path err_file = scratch / (stem + ".err");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_file.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_file.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  // Its own process group, so a timeout also ends the helpers it started (Chromium's).
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attributes, 0);
  std::vector<std::string> args = argv;
  std::vector<std::string> envs = environment_with(env);
  auto arg_pointers = pointers(args);
  auto env_pointers = pointers(envs);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, args.front().c_str(), &actions, &attributes,
                                  arg_pointers.data(), env_pointers.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  ProcessResult result;
  if (spawned != 0) {
    result.err = "cannot start " + args.front() + ": " + std::strerror(spawned);
    return result;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (true) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) break;
    if (std::chrono::steady_clock::now() > deadline) {
      result.timed_out = true;
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!result.timed_out && WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  result.out = read_file(out_file);
  result.err = read_file(err_file);
  return result;
}

std::string medsafe_binary() { return MEDSAFE_BINARY; }

ProcessResult medsafe(const std::vector<std::string>& args, const fs::path& scratch) {
  std::vector<std::string> argv = {medsafe_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  // The plugins next to the binary under test, never a user's MEDSAFE_PLUGIN_PATH.
  return run_process(argv, scratch, std::chrono::seconds(240), {{"MEDSAFE_PLUGIN_PATH", ""}});
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_file(const fs::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::string toml_string(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

std::optional<fs::path> medsafetybench_dir() {
  const fs::path dir = fs::path(MEDSAFE_SHARED_DATA) / "medsafetybench";
  if (!fs::is_directory(dir / "test")) return std::nullopt;
  return fs::absolute(dir);
}

std::optional<std::string> chromium() {
  const char* configured = std::getenv("MEDSAFE_CHROMIUM");
  const std::string path =
      configured != nullptr && *configured != '\0' ? configured : "/usr/bin/chromium";
  if (::access(path.c_str(), X_OK) != 0) return std::nullopt;
  return path;
}

namespace {

// A fresh profile and HOME each time, no network, no background services: the page alone.
std::vector<std::string> chromium_args(const std::string& browser, const fs::path& scratch) {
  static int profile = 0;
  const fs::path data = scratch / ("chromium-profile-" + std::to_string(++profile));
  fs::create_directories(data);
  return {browser,
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--user-data-dir=" + data.string(),
          "--virtual-time-budget=5000"};
}

}  // namespace

std::string dump_dom(const std::string& browser, const std::string& url, const fs::path& scratch) {
  auto args = chromium_args(browser, scratch);
  args.push_back("--dump-dom");
  args.push_back(url);
  const ProcessResult r =
      run_process(args, scratch, std::chrono::seconds(180), {{"HOME", scratch.string()}});
  EXPECT_EQ(r.exit_code, 0) << "chromium failed: " << r.err;
  EXPECT_FALSE(r.timed_out);
  return r.out;
}

ProcessResult screenshot(const std::string& browser, const std::string& url, const fs::path& png,
                         const fs::path& scratch) {
  auto args = chromium_args(browser, scratch);
  args.push_back("--screenshot=" + png.string());
  args.push_back("--window-size=1400,3000");
  args.push_back(url);
  return run_process(args, scratch, std::chrono::seconds(180), {{"HOME", scratch.string()}});
}

std::string file_url(const fs::path& path) { return "file://" + fs::absolute(path).string(); }

std::size_t count(std::string_view text, std::string_view what) {
  std::size_t n = 0;
  for (auto pos = text.find(what); pos != std::string_view::npos; pos = text.find(what, pos + 1))
    ++n;
  return n;
}

std::vector<std::string> start_tags(std::string_view html, std::string_view tag,
                                    std::string_view marker) {
  std::vector<std::string> tags;
  const std::string open = "<" + std::string(tag) + " ";
  for (auto pos = html.find(open); pos != std::string_view::npos; pos = html.find(open, pos + 1)) {
    const auto end = html.find('>', pos);
    if (end == std::string_view::npos) break;
    const std::string_view start = html.substr(pos, end - pos + 1);
    if (start.find(marker) != std::string_view::npos) tags.emplace_back(start);
  }
  return tags;
}

std::string element_by_id(std::string_view html, std::string_view tag, std::string_view id) {
  const std::string needle = "id=\"" + std::string(id) + "\"";
  for (auto pos = html.find("<" + std::string(tag) + " "); pos != std::string_view::npos;
       pos = html.find("<" + std::string(tag) + " ", pos + 1)) {
    const auto end = html.find('>', pos);
    if (html.substr(pos, end - pos).find(needle) == std::string_view::npos) continue;
    const auto close = html.find("</" + std::string(tag) + ">", end);
    return std::string(
        html.substr(pos, close == std::string_view::npos ? html.size() - pos : close - pos));
  }
  return {};
}

}  // namespace medsafe::e2e

namespace medsafe::e2e {

std::string medsafetybench_run_file(const std::filesystem::path& data, std::string_view target_keys,
                                    bool careful) {
  std::string text = "[run]\nname = \"e2e-medsafetybench\"\nseed = 11\n\n";
  text += "[models.target]\nplugin = \"sim\"\nrefusal_rate = 0.6\nconcurrency = 64\n";
  text += std::string(target_keys) + "\n\n";
  if (careful)
    text += "[models.careful]\nplugin = \"sim\"\nrefusal_rate = 0.9\nconcurrency = 64\n\n";
  text += "[models.judge]\nplugin = \"sim\"\nunder_test = false\nconcurrency = 64\n\n";
  text += "[suites.medsafety]\nplugin = \"medsafetybench\"\npath = " + toml_string(data.string()) +
          "\nsplit = \"test\"\n\n";
  text += "[judges.refusal]\nplugin = \"refusal\"\n\n";
  text += "[judges.harm]\nplugin = \"rubric\"\nmodel = \"judge\"\nconcurrency = 64\n";
  return text;
}

}  // namespace medsafe::e2e
