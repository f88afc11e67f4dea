// A stand-in for libFuzzer's main in builds without it (GCC, the normal test run): runs the fuzz
// target once over each input it is given, so that CI exercises every target on its seed corpus
// and on any crash reproducer. Accepts what libFuzzer accepts for this use: files and folders
// (all regular files inside, in name order); other arguments starting with '-' (libFuzzer flags
// such as -runs=0) are ignored.
//
// `-mutate_seconds=N` then fuzzes for N seconds without coverage guidance: seeded random
// mutations of the inputs (bit flips, byte edits, inserted and deleted runs, splices of two
// inputs, "interesting" bytes). That is CI's short fuzz pass under ASan+UBSan with GCC; long,
// coverage-guided runs use libFuzzer (the `fuzz` preset, tests/fuzz/run_fuzzers.sh). A failing
// input is written to ./<program>-crash-seed-<n> before the target runs it, so a crash leaves
// its reproducer behind. `-seed=N` picks the mutation sequence (default 1).
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <vector>

// libFuzzer's entry point, named by libFuzzer.
// NOLINTNEXTLINE(readability-identifier-naming)
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;

std::vector<fs::path> inputs_in(const fs::path& argument) {
  std::vector<fs::path> files;
  if (fs::is_directory(argument)) {
    for (const fs::directory_entry& entry : fs::directory_iterator(argument)) {
      if (entry.is_regular_file()) files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(argument);
  }
  return files;
}

bool read_input(const fs::path& file, std::string& bytes) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "replay: cannot read %s\n", file.c_str());
    return false;
  }
  bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

void run_bytes(const std::string& bytes) {
  // An exactly-sized heap copy, so that a sanitizer build catches reads past the input's end.
  const auto copy = std::make_unique<std::uint8_t[]>(bytes.size() + (bytes.empty() ? 1 : 0));
  std::copy(bytes.begin(), bytes.end(), copy.get());
  LLVMFuzzerTestOneInput(copy.get(), bytes.size());
}

constexpr std::size_t kMaxInput = 1 << 16;

// One random edit of `input`; `other` is another input to splice from.
void mutate(std::string& input, const std::string& other, std::mt19937_64& random) {
  static constexpr char kInteresting[] = {'\0', '\n', '\r', '"', '\\', ':',    '=',    '[',
                                          ']',  '{',  '}',  ',', '#',  '\x7f', '\xff', '\xc3'};
  auto below = [&random](std::size_t n) { return n == 0 ? 0 : random() % n; };
  switch (random() % 7) {
    case 0:  // flip a bit
      if (!input.empty()) input[below(input.size())] ^= static_cast<char>(1U << below(8));
      break;
    case 1:  // set a byte to a random or an interesting value
      if (!input.empty()) {
        input[below(input.size())] = random() % 2 != 0 ? static_cast<char>(random())
                                                       : kInteresting[below(sizeof kInteresting)];
      }
      break;
    case 2:  // delete a run
      if (!input.empty()) {
        const std::size_t at = below(input.size());
        input.erase(at, 1 + below(std::min<std::size_t>(16, input.size() - at)));
      }
      break;
    case 3:  // insert interesting bytes
      input.insert(below(input.size() + 1), 1 + below(4), kInteresting[below(sizeof kInteresting)]);
      break;
    case 4:  // duplicate a run
      if (!input.empty()) {
        const std::size_t at = below(input.size());
        const std::string run = input.substr(at, 1 + below(32));
        input.insert(below(input.size() + 1), run);
      }
      break;
    case 5:  // splice: a run of another input
      if (!other.empty()) {
        const std::size_t from = below(other.size());
        input.insert(below(input.size() + 1), other.substr(from, 1 + below(64)));
      }
      break;
    default:  // truncate
      if (!input.empty()) input.resize(below(input.size()));
      break;
  }
  if (input.size() > kMaxInput) input.resize(kMaxInput);
}

// Mutates the seeds for `seconds`; returns how many inputs ran.
std::uint64_t fuzz(const std::vector<std::string>& seeds, double seconds, std::uint64_t seed,
                   const std::string& crash_file) {
  std::mt19937_64 random(seed);
  const auto stop =
      std::chrono::steady_clock::now() + std::chrono::duration<double>(std::max(0.0, seconds));
  std::uint64_t runs = 0;
  while (std::chrono::steady_clock::now() < stop) {
    std::string input = seeds[random() % seeds.size()];
    const std::string& other = seeds[random() % seeds.size()];
    const std::size_t edits = 1 + random() % 8;
    for (std::size_t i = 0; i < edits; ++i) mutate(input, other, random);
    {
      std::ofstream out(crash_file, std::ios::binary | std::ios::trunc);
      out.write(input.data(), static_cast<std::streamsize>(input.size()));
    }
    run_bytes(input);
    ++runs;
  }
  std::error_code ignored;
  fs::remove(crash_file, ignored);  // no crash: nothing to keep
  return runs;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t count = 0;
  double mutate_seconds = 0;
  std::uint64_t seed = 1;
  std::vector<std::string> seeds;
  for (int i = 1; i < argc; ++i) {
    const std::string argument = argv[i];
    if (argument.starts_with("-mutate_seconds=")) {
      mutate_seconds = std::strtod(argument.c_str() + 16, nullptr);
      continue;
    }
    if (argument.starts_with("-seed=")) {
      seed = std::strtoull(argument.c_str() + 6, nullptr, 10);
      continue;
    }
    if (argument.starts_with("-")) continue;
    if (!fs::exists(argument)) {
      std::fprintf(stderr, "replay: %s does not exist\n", argument.c_str());
      return 1;
    }
    for (const fs::path& file : inputs_in(argument)) {
      std::string bytes;
      if (!read_input(file, bytes)) return 1;
      run_bytes(bytes);
      seeds.push_back(std::move(bytes));
      ++count;
    }
  }
  if (count == 0) {
    std::fprintf(stderr,
                 "replay: no inputs (usage: %s [-mutate_seconds=N] [-seed=N] FILE|FOLDER...)\n",
                 argv[0]);
    return 1;
  }
  std::printf("replay: %zu inputs ran without a failure\n", count);
  if (mutate_seconds > 0) {
    const std::string crash_file =
        fs::path(argv[0]).filename().string() + "-crash-seed-" + std::to_string(seed);
    const std::uint64_t runs = fuzz(seeds, mutate_seconds, seed, crash_file);
    std::printf("replay: %llu mutated inputs in %.0f s (seed %llu) ran without a failure\n",
                static_cast<unsigned long long>(runs), mutate_seconds,
                static_cast<unsigned long long>(seed));
  }
  return 0;
}
