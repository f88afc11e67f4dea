// Stream event decoding, in events per second: OpenAI chunks through the fast scanner and through
// the full JSON parser it falls back to, Anthropic events, and whole streams through parser and
// response assembler (what the transport's I/O thread does per token).
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "anthropic_protocol.hpp"
#include "anthropic_response.hpp"
#include "bench_streams.hpp"
#include "medsafe/http/transport.hpp"
#include "openai_fast_decode.hpp"
#include "openai_protocol.hpp"
#include "openai_response.hpp"

namespace {

constexpr std::size_t kTokens = 256;

const std::vector<std::string>& chunks() {
  static const std::vector<std::string> all = medsafe::bench::openai_chunks(kTokens);
  return all;
}

std::size_t total_bytes(const std::vector<std::string>& texts) {
  std::size_t n = 0;
  for (const std::string& t : texts) n += t.size();
  return n;
}

template <typename Decode>
void decode_all(benchmark::State& state, Decode decode) {
  std::size_t content = 0;
  for (auto _ : state) {
    for (const std::string& chunk : chunks()) {
      const medsafe::openai::Decoded d = decode(chunk);
      content += d.content.size();
    }
  }
  benchmark::DoNotOptimize(content);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * chunks().size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * total_bytes(chunks())));
}

void BM_OpenAiChunkDecode(benchmark::State& state) {
  decode_all(state, [](const std::string& c) { return medsafe::openai::decode_stream_chunk(c); });
}
BENCHMARK(BM_OpenAiChunkDecode);

void BM_OpenAiChunkDecodeFullParser(benchmark::State& state) {
  decode_all(state,
             [](const std::string& c) { return medsafe::openai::detail::full_decode(c, true); });
}
BENCHMARK(BM_OpenAiChunkDecodeFullParser);

void BM_AnthropicEventDecode(benchmark::State& state) {
  const auto events = medsafe::bench::anthropic_events(kTokens);
  std::size_t text = 0;
  for (auto _ : state) {
    for (const auto& e : events)
      text += medsafe::anthropic::decode_event(e.type, e.data).text.size();
  }
  benchmark::DoNotOptimize(text);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * events.size()));
}
BENCHMARK(BM_AnthropicEventDecode);

// Parser + assembler over a whole stream's bytes (fed in 1 KiB reads), as the I/O thread does.
template <typename Assembler>
void assemble_stream(benchmark::State& state, const std::string& bytes, std::size_t events) {
  const std::string_view all(bytes);
  std::size_t text = 0;
  for (auto _ : state) {
    Assembler assembler("", medsafe::TimePoint{});
    medsafe::SseParser parser;
    const medsafe::SseParser::EventCallback on_event = [&assembler](const medsafe::SseEvent& e) {
      assembler.on_event(e);
    };
    const medsafe::TimePoint now = medsafe::Clock::now();
    for (std::size_t at = 0; at < all.size(); at += 1024)
      parser.feed(all.substr(at, 1024), now, on_event);
    medsafe::HttpResult result;
    result.status = 200;
    result.sse = true;
    const medsafe::Response response = assembler.finish(std::move(result));
    if (!response.ok()) state.SkipWithError(response.error.c_str());
    text += response.text.size();
  }
  benchmark::DoNotOptimize(text);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * events));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
}

void BM_OpenAiStreamAssemble(benchmark::State& state) {
  static const std::string bytes = medsafe::bench::openai_stream(kTokens);
  assemble_stream<medsafe::openai::ResponseAssembler>(state, bytes, chunks().size() + 1);
}
BENCHMARK(BM_OpenAiStreamAssemble);

void BM_AnthropicStreamAssemble(benchmark::State& state) {
  const auto events = medsafe::bench::anthropic_events(kTokens);
  std::string bytes;
  for (const auto& e : events) bytes += "event: " + e.type + "\ndata: " + e.data + "\n\n";
  assemble_stream<medsafe::anthropic::ResponseAssembler>(state, bytes, events.size());
}
BENCHMARK(BM_AnthropicStreamAssemble);

}  // namespace
