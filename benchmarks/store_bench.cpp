// Store inserts (SQLite, WAL, synchronous=NORMAL), rows per second: each put_response committed
// on its own, and grouped in Store::batch() transactions as the runner groups a wake-up's
// completions.
#include <benchmark/benchmark.h>

#include <unistd.h>
#include <filesystem>
#include <string>

#include "engine/store/store.hpp"

namespace {

namespace fs = std::filesystem;

// A fresh store in a temporary folder, removed afterwards.
class TempStore {
 public:
  TempStore()
      : dir_(fs::temp_directory_path() / ("medsafe-bench-store-" + std::to_string(::getpid()) +
                                          "-" + std::to_string(++count_))),
        store_((fs::remove_all(dir_), dir_)) {}
  ~TempStore() {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  medsafe::Store& store() { return store_; }

 private:
  static inline int count_ = 0;
  fs::path dir_;
  medsafe::Store store_;
};

// A streamed 128-token answer as a load point stores it.
medsafe::ResponseRow row(std::int64_t n) {
  medsafe::ResponseRow r;
  r.model = "target";
  r.suite = "synthetic";
  r.item_id = "syn-" + std::to_string(n);
  r.phase = "load/sweep/target/concurrency=64";
  r.text = std::string(600, 'x');
  r.finish_reason = "length";
  r.prompt_tokens = 128;
  r.completion_tokens = 128;
  r.token_source = medsafe::TokenSource::usage;
  r.intended_send_ns = 1'000'000'000 + n;
  r.sent_ns = r.intended_send_ns + 1000;
  r.first_byte_ns = r.sent_ns + 200'000'000;
  for (int i = 0; i < 128; ++i) r.token_event_ns.push_back(r.first_byte_ns + i * 20'000'000LL);
  r.finished_ns = r.token_event_ns.back() + 1000;
  return r;
}

void BM_StorePutResponse(benchmark::State& state) {
  TempStore temp;
  std::int64_t n = 0;
  for (auto _ : state) temp.store().put_response(row(n++));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StorePutResponse)->Unit(benchmark::kMicrosecond);

void BM_StorePutResponseBatched(benchmark::State& state) {
  const auto batch_size = state.range(0);
  TempStore temp;
  std::int64_t n = 0;
  for (auto _ : state) {
    medsafe::Transaction batch = temp.store().batch();
    for (std::int64_t i = 0; i < batch_size; ++i) temp.store().put_response(row(n++));
    batch.commit();
  }
  state.SetItemsProcessed(state.iterations() * batch_size);
}
BENCHMARK(BM_StorePutResponseBatched)
    ->Arg(8)
    ->Arg(64)
    ->ArgName("rows_per_batch")
    ->Unit(benchmark::kMicrosecond);

}  // namespace
