// Prints how exactly medsafe times streams, at concurrency 1, 16 and 128 (or those given):
//   latency_accuracy [ROUNDS] [CONCURRENCY...]
// Each round measures every concurrency once against a fresh simulated server (TTFT 200 ms,
// 20 ms between events, 8 tokens); the last lines give, per concurrency, the median over rounds
// of the TTFT and ITL median errors (medsafe − server) and of the event delivery delay.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <vector>

#include "latency_accuracy.hpp"

int main(int argc, char** argv) {
  using medsafe::latency_test::AccuracySetup;
  const int rounds = argc > 1 ? std::max(1, std::atoi(argv[1])) : 3;
  std::vector<int> levels;
  for (int i = 2; i < argc; ++i) levels.push_back(std::atoi(argv[i]));
  if (levels.empty()) levels = {1, 16, 128};
  std::map<int, std::vector<double>> ttft, itl, delay;
  try {
    for (int round = 1; round <= rounds; ++round) {
      for (const int c : levels) {
        AccuracySetup setup;
        setup.concurrency = c;
        setup.requests = c == 1 ? 20 : 4 * c;
        setup.warmup = c;
        const auto f = medsafe::latency_test::measure_accuracy(setup);
        std::printf("round %d %s\n", round, f.describe().c_str());
        ttft[c].push_back(f.ttft_median_error_ms());
        itl[c].push_back(f.itl_median_error_ms());
        delay[c].push_back(f.event_delay_ms.p50.value_or(-1));
      }
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "latency_accuracy: %s\n", error.what());
    return 1;
  }
  const auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  };
  std::printf("\nmedian over %d rounds (medsafe - server, ms):\n", rounds);
  for (const int c : levels) {
    const auto [ttft_min, ttft_max] = std::minmax_element(ttft[c].begin(), ttft[c].end());
    const auto [itl_min, itl_max] = std::minmax_element(itl[c].begin(), itl[c].end());
    std::printf(
        "concurrency %3d: TTFT error %+.3f (range %+.3f..%+.3f), ITL error %+.3f (range "
        "%+.3f..%+.3f), event delay %.3f\n",
        c, median(ttft[c]), *ttft_min, *ttft_max, median(itl[c]), *itl_min, *itl_max,
        median(delay[c]));
  }
  return 0;
}
