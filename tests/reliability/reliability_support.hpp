#pragma once
/// Helpers of the reliability tests: the `medsafe` binary as a child process (to signal and
/// kill it), run files against an embedded simulated server, and the run store read back with
/// sqlite3 to reconcile it with the server's own log.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "sim_server.hpp"
#include "support/child_process.hpp"
#include "support/test_folder.hpp"

namespace medsafe::sim {
/// Prints a FaultKind by name in test failures.
inline void PrintTo(FaultKind kind, std::ostream* out) { *out << to_string(kind); }
}  // namespace medsafe::sim

namespace medsafe::reliability {

namespace fs = std::filesystem;

using testing::Child;
using testing::ChildResult;
using testing::Environment;
using testing::medsafetybench_dir;
using testing::read_file;
using testing::ScratchDir;
using testing::toml_string;
using testing::write_file;

/// The medsafe binary under test (a compile definition).
[[nodiscard]] std::string medsafe_binary();

/// Starts `medsafe ARGS...` with the plugins next to the binary only.
[[nodiscard]] std::vector<std::string> medsafe_argv(const std::vector<std::string>& args);

/// Runs medsafe to its end (at most `timeout`).
ChildResult run_medsafe(const std::vector<std::string>& args, const Environment& env,
                        const fs::path& scratch,
                        std::chrono::milliseconds timeout = std::chrono::minutes(3));

/// A simulated server on 127.0.0.1 with settings from TOML text (the `sim` manifest's keys).
[[nodiscard]] std::unique_ptr<sim::SimServer> start_sim_server(std::string_view settings_toml,
                                                               std::string api_key = {});

/// The environment variable the run files read the server's port from, so that one run file
/// (and one model fingerprint) serves servers on different ports.
inline constexpr std::string_view kPortVariable = "MEDSAFE_SIM_PORT";

/// What a run file over MedSafetyBench against the simulated server holds.
struct RunFileSpec {
  explicit RunFileSpec(fs::path folder) : data(std::move(folder)) {}
  fs::path data;               ///< the MedSafetyBench folder
  std::string model_keys;      ///< more lines of [models.target] (openai keys, flow control)
  int limit_per_category = 0;  ///< 0: all 900 items
  bool judge = true;           ///< add the offline refusal judge
  bool safety = true;          ///< the suite is answered in the safety phase
  std::string extra;           ///< more sections ([load.x] ...)
};

/// A run file: model "target" (openai backend at the sim server, base_url with ${PORT}),
/// suite "msb", judge "refusal".
[[nodiscard]] std::string run_file(const RunFileSpec& spec);

/// The environment for a run against a server on `port`.
[[nodiscard]] Environment run_environment(std::uint16_t port, Environment more = {});

/// One row of the store's `responses` table.
struct StoredResponse {
  std::string request_id;  ///< as medsafe sends it in X-Request-Id
  std::string item_id;
  std::string phase;
  std::string outcome;
  int attempts = 0;
  int http_status = 0;
};

/// Every response of the store in `run_dir` (opened read-only).
[[nodiscard]] std::vector<StoredResponse> stored_responses(const fs::path& run_dir);

/// Runs one query on the store in `run_dir` (read-only): the rows, each column as text ("" for
/// NULL).
[[nodiscard]] std::vector<std::vector<std::string>> query(const fs::path& run_dir,
                                                          std::string_view sql);

/// SQLite's PRAGMA integrity_check on the store in `run_dir`: "ok" or its complaints.
[[nodiscard]] std::string integrity_check(const fs::path& run_dir);

/// Server log entries by request id.
[[nodiscard]] std::map<std::string, std::vector<sim::LogEntry>> log_by_id(
    const std::vector<sim::LogEntry>& log);

/// Waits until the server has nothing in flight (a client's close is logged when the server
/// reads it, which may be just after the client exited); false after `bound`.
bool wait_until_idle(const sim::SimServer& server,
                     std::chrono::milliseconds bound = std::chrono::seconds(20));

/// Every file under `dir` (the store, its WAL, reports) whose bytes contain `secret`.
[[nodiscard]] std::vector<fs::path> files_containing(const fs::path& dir, std::string_view secret);

/// Simulated-server settings with failures of several kinds (429 with Retry-After, 500, error
/// events, malformed and cut streams), so that error paths are exercised too.
inline constexpr std::string_view kVariedFaults = R"(seed = 4
fault_429_rate = 0.1
retry_after_s = 0.05
fault_500_rate = 0.05
fault_error_event_rate = 0.05
fault_malformed_rate = 0.05
fault_reset_mid_stream_rate = 0.05)";

/// A CSV file as rows of fields (RFC 4180 quoting), the header first.
[[nodiscard]] std::vector<std::vector<std::string>> read_csv(const fs::path& file);

/// The rows of a CSV file as maps from the header's column names.
[[nodiscard]] std::vector<std::map<std::string, std::string>> csv_records(const fs::path& file);

/// The fixture of every reliability test: the MedSafetyBench data (skips without it) and a
/// scratch folder.
class ReliabilityFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::optional<fs::path> found = medsafetybench_dir();
    if (!found) {
      GTEST_SKIP() << "MedSafetyBench is not in " << MEDSAFE_SHARED_DATA
                   << "/medsafetybench (the shared data folder next to the project)";
    }
    data_ = *found;
  }
  [[nodiscard]] const fs::path& data() const { return data_; }
  [[nodiscard]] const fs::path& scratch() const { return scratch_.path(); }

 private:
  fs::path data_;
  ScratchDir scratch_;
};

}  // namespace medsafe::reliability
