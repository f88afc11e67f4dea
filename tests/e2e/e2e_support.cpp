#include "e2e_support.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

namespace medsafe::e2e {

namespace fs = std::filesystem;

ProcessResult run_process(const std::vector<std::string>& argv, const fs::path& scratch,
                          std::chrono::seconds timeout, const testing::Environment& env) {
  return testing::run_child(argv, env, scratch, timeout);
}

std::string medsafe_binary() { return MEDSAFE_BINARY; }

ProcessResult medsafe(const std::vector<std::string>& args, const fs::path& scratch) {
  std::vector<std::string> argv = {medsafe_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  // The plugins next to the binary under test, never a user's MEDSAFE_PLUGIN_PATH.
  return run_process(argv, scratch, std::chrono::seconds(240), {{"MEDSAFE_PLUGIN_PATH", ""}});
}

std::string sqlite_scalar(const fs::path& db, const std::string& sql, const fs::path& scratch) {
  const ProcessResult r =
      run_process({"/usr/bin/sqlite3", db.string(), sql}, scratch, std::chrono::seconds(30));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string out = r.out;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
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
