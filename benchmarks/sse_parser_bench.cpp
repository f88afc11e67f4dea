// The SSE parser's throughput on a realistic OpenAI stream (256 tokens, about 60 KB): fed whole,
// in 1 KiB reads (a typical socket read), byte by byte, and split in two at every byte boundary
// (each split position once: the carry-over paths for a line or a CRLF cut anywhere).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <string>
#include <string_view>

#include "bench_streams.hpp"
#include "medsafe/http/sse.hpp"

namespace {

using medsafe::SseEvent;
using medsafe::SseParser;

const std::string& stream() {
  static const std::string bytes = medsafe::bench::openai_stream(256);
  return bytes;
}

// A shorter stream for the quadratic every-split benchmark.
const std::string& short_stream() {
  static const std::string bytes = medsafe::bench::openai_stream(16);
  return bytes;
}

// Counts events and touches their data, so nothing is optimised away.
struct Sink {
  std::size_t events = 0;
  std::size_t bytes = 0;
  SseParser::EventCallback callback() {
    return [this](const SseEvent& event) {
      ++events;
      bytes += event.data.size();
    };
  }
};

void feed_in_reads(const std::string& bytes, std::size_t read_size, Sink& sink) {
  SseParser parser;
  const auto callback = sink.callback();
  const medsafe::TimePoint now = medsafe::Clock::now();
  const std::string_view all(bytes);
  for (std::size_t at = 0; at < all.size(); at += read_size) {
    parser.feed(all.substr(at, read_size), now, callback);
  }
}

void BM_SseParserWhole(benchmark::State& state) {
  Sink sink;
  for (auto _ : state) feed_in_reads(stream(), stream().size(), sink);
  benchmark::DoNotOptimize(sink.bytes);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stream().size()));
  state.counters["events/s"] =
      benchmark::Counter(static_cast<double>(sink.events), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_SseParserWhole);

void BM_SseParserReads(benchmark::State& state) {
  const auto read_size = static_cast<std::size_t>(state.range(0));
  Sink sink;
  for (auto _ : state) feed_in_reads(stream(), read_size, sink);
  benchmark::DoNotOptimize(sink.bytes);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stream().size()));
  state.counters["events/s"] =
      benchmark::Counter(static_cast<double>(sink.events), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_SseParserReads)->Arg(1024)->Arg(1)->ArgName("read_bytes");

void BM_SseParserEverySplit(benchmark::State& state) {
  const std::string& bytes = short_stream();
  const std::string_view all(bytes);
  Sink sink;
  const auto callback = sink.callback();
  const medsafe::TimePoint now = medsafe::Clock::now();
  for (auto _ : state) {
    for (std::size_t split = 0; split <= all.size(); ++split) {
      SseParser parser;
      parser.feed(all.substr(0, split), now, callback);
      parser.feed(all.substr(split), now, callback);
    }
  }
  benchmark::DoNotOptimize(sink.bytes);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * (all.size() + 1) * all.size()));
  state.counters["splits/s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * (all.size() + 1)), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_SseParserEverySplit);

}  // namespace
