// A model served by two replicas (openai `base_urls`, two medsafe-sim-server processes on
// 127.0.0.1): one is killed mid-run, and no item is lost: the requests it failed go on to the
// other at once, each answer records where it went, and latency.csv and report.md show the
// failover per replica.
#include <signal.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "e2e_support.hpp"

namespace medsafe::e2e {
namespace {

namespace fs = std::filesystem;
using testing::Child;

const testing::Environment kEnv = {{"MEDSAFE_PLUGIN_PATH", ""}};

// A medsafe-sim-server on 127.0.0.1 that answers in about 40 ms; its base URL once it listens.
struct Replica {
  explicit Replica(const fs::path& folder) {
    fs::create_directories(folder);
    write_file(folder / "sim.toml", "ttft_ms = 20\nitl_ms = 0.5\noutput_tokens = 40\n");
    child = std::make_unique<Child>(
        std::vector<std::string>{MEDSAFE_SIM_SERVER, "--port", "0", "--port-file",
                                 (folder / "port").string(), "--config",
                                 (folder / "sim.toml").string()},
        testing::Environment{}, folder);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (read_file(folder / "port").empty() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    const std::string port = read_file(folder / "port");
    EXPECT_FALSE(port.empty()) << "medsafe-sim-server wrote no port";
    url = "http://127.0.0.1:" + std::string(port.substr(0, port.find_first_of("\r\n"))) + "/v1";
  }
  std::unique_ptr<Child> child;
  std::string url;
};

TEST(Replicas, KillingOneReplicaMidRunLosesNoItemAndTheReportShowsTheFailover) {
  ScratchDir scratch;
  const fs::path dir = scratch.path();
  Replica a(dir / "a");
  Replica b(dir / "b");
  ASSERT_FALSE(a.url.empty() || b.url.empty());
  std::string csv = "id,prompt\n";
  for (int i = 0; i < 120; ++i)
    csv += "q" + std::to_string(i) + ",Request number " + std::to_string(i) + "\n";
  write_file(dir / "p.csv", csv);
  write_file(dir / "run.toml",
             "[run]\nname = \"replicas\"\n\n[models.m]\nplugin = \"openai\"\n"
             "base_urls = [" +
                 toml_string(a.url) + ", " + toml_string(b.url) +
                 "]\nmodel = \"medsafe-sim\"\nconcurrency = 4\n\n"
                 "[suites.s]\nplugin = \"table\"\npath = \"p.csv\"\n"
                 "id_column = \"id\"\n");
  const fs::path out = dir / "out";
  Child run({medsafe_binary(), "run", (dir / "run.toml").string(), "--out", out.string(), "-q"},
            kEnv, dir);
  // Kill replica a once a quarter of the answers are stored.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  bool killed = false;
  while (std::chrono::steady_clock::now() < deadline && run.running()) {
    if (fs::exists(out / "medsafe.db")) {
      const ProcessResult n = run_process(
          {"/usr/bin/sqlite3", (out / "medsafe.db").string(), "SELECT COUNT(*) FROM responses"},
          dir, std::chrono::seconds(30));
      if (n.exit_code == 0 && !n.out.empty() && std::stoll(n.out) >= 30) {
        a.child->signal(SIGKILL);
        killed = true;
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(killed) << "the run ended before a quarter of its answers were stored";
  const ProcessResult done = run.wait(std::chrono::minutes(2));
  ASSERT_EQ(done.exit_code, 0) << done.err;

  auto sql = [&](const std::string& query) {
    return sqlite_scalar(out / "medsafe.db", query, dir);
  };
  // No item lost: every answer is ok.
  EXPECT_EQ(sql("SELECT COUNT(*) FROM responses WHERE outcome = 'ok'"), "120");
  // Requests a failed went on to b, and count as attempts; later ones went to b alone.
  const std::int64_t failed_over = std::stoll(
      sql("SELECT COUNT(*) FROM responses WHERE endpoints LIKE '%\"outcome\":\"transport_error\"%'"
          " AND attempts >= 2"));
  EXPECT_GE(failed_over, 1);
  EXPECT_EQ(sql("SELECT COUNT(*) FROM responses WHERE endpoints = ''"), "0");
  const std::string last_on_a =
      sql("SELECT COUNT(*) FROM responses WHERE json_extract(endpoints, '$[#-1].endpoint') = '" +
          a.url + "' AND outcome = 'ok'");
  EXPECT_GT(std::stoll(last_on_a), 0) << "a answered nothing before it was killed";
  EXPECT_LT(std::stoll(last_on_a), 120);

  const std::string latency = read_file(out / "latency.csv");
  EXPECT_NE(latency.find(",endpoint\n"), std::string::npos) << latency;  // the header's last column
  EXPECT_NE(latency.find("m,endpoint,"), std::string::npos) << latency;
  EXPECT_NE(latency.find("," + a.url + "\n"), std::string::npos) << latency;
  EXPECT_NE(latency.find("," + b.url + "\n"), std::string::npos) << latency;
  const std::string report = read_file(out / "report.md");
  const std::size_t table = report.find("## Endpoints");
  ASSERT_NE(table, std::string::npos) << report;
  // a's row: its sends, of which at least the failed-over ones failed there.
  const std::size_t row_a = report.find("| " + a.url + " |", table);
  ASSERT_NE(row_a, std::string::npos) << report;
  const std::string a_row = report.substr(row_a, report.find('\n', row_a) - row_a);
  const std::size_t failed_cell = a_row.find(" | ", a_row.find(" | ", 2) + 3);
  EXPECT_GE(std::stoll(a_row.substr(failed_cell + 3)), failed_over) << a_row;
  EXPECT_NE(report.find("| " + b.url + " |", table), std::string::npos) << report;
  EXPECT_NE(read_file(out / "report.html").find("id=\"endpoints\""), std::string::npos);
}

}  // namespace
}  // namespace medsafe::e2e
