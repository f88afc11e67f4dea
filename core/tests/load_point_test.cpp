// One load point against in-process backends: how many requests it sends, how many it keeps in
// flight, on which threads it calls submit, and that it ends when answers come back inside
// submit, from other threads, or only when cancelled.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/run/load_runner.hpp"
#include "report/run_reader.hpp"
#include "support/temp_dir.hpp"

namespace medsafe {
namespace {

using namespace std::chrono_literals;

// Counts what a load point does to a backend.
struct Tally {
  std::atomic<std::int64_t> submits{0};
  std::atomic<std::int64_t> in_flight{0};
  std::atomic<std::int64_t> max_in_flight{0};
  std::atomic<std::int64_t> submits_off_caller{0};  ///< not on the thread that measures

  std::thread::id caller = std::this_thread::get_id();

  void on_submit() {
    ++submits;
    const std::int64_t now = ++in_flight;
    std::int64_t seen = max_in_flight.load();
    while (now > seen && !max_in_flight.compare_exchange_weak(seen, now)) {
    }
    if (std::this_thread::get_id() != caller) ++submits_off_caller;
  }
  void on_answer() { --in_flight; }
};

Response answer(Outcome outcome) {
  Response response;
  response.outcome = outcome;
  response.text = "ok";
  const TimePoint now = Clock::now();
  response.timing.sent = now;
  response.timing.first_byte = now;
  response.timing.finished = now;
  if (outcome != Outcome::ok) response.error = "failed on purpose";
  return response;
}

// Answers every request from a thread of its own, never under its lock (so it allows
// reentrant submits when told to). Every `fail_inline_every`-th request instead fails inside
// submit, as a backend does when it cannot even build the request.
class WorkerBackend final : public Backend {
 public:
  WorkerBackend(Tally& tally, bool reentrant, int fail_inline_every = 0,
                bool answer_only_when_cancelled = false)
      : tally_(tally),
        reentrant_(reentrant),
        fail_inline_every_(fail_inline_every),
        hold_(answer_only_when_cancelled),
        worker_([this] { work(); }) {}

  ~WorkerBackend() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    worker_.join();
  }

  void submit(Request /*request*/, ResponseCallback done) override {
    tally_.on_submit();
    const std::int64_t n = ++numbered_;
    if (fail_inline_every_ > 0 && n % fail_inline_every_ == 0) {
      tally_.on_answer();
      done(answer(Outcome::backend_error));
      return;
    }
    {
      std::lock_guard lock(mutex_);
      jobs_.push_back(std::move(done));
    }
    wake_.notify_one();
  }

  // Delivers every held request as cancelled, on the calling thread (as the sim backend does).
  void cancel_all() override {
    std::deque<ResponseCallback> jobs;
    {
      std::lock_guard lock(mutex_);
      jobs.swap(jobs_);
    }
    for (ResponseCallback& done : jobs) {
      tally_.on_answer();
      done(answer(Outcome::cancelled));
    }
  }

  [[nodiscard]] bool reentrant_submit() const noexcept override { return reentrant_; }

 private:
  void work() {
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [this] { return stopping_ || (!hold_ && !jobs_.empty()); });
      if (stopping_) return;
      ResponseCallback done = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      tally_.on_answer();
      done(answer(Outcome::ok));
      lock.lock();
    }
  }

  Tally& tally_;
  bool reentrant_;
  int fail_inline_every_;
  bool hold_;
  std::atomic<std::int64_t> numbered_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<ResponseCallback> jobs_;
  bool stopping_ = false;
  std::thread worker_;  // last: started once everything above exists
};

class LoadPointTest : public ::testing::Test {
 protected:
  LoadPointTest() {
    model_spec_.section = "models";
    model_spec_.name = "m";
    suite_spec_.section = "suites";
    suite_spec_.name = "s";
    suite_.spec = &suite_spec_;
    for (int i = 0; i < 5; ++i) {
      suite_.items.push_back(
          {"item" + std::to_string(i), "1", "prompt " + std::to_string(i), "", {}});
    }
    load_.name = "x";
    load_.mode = LoadMode::concurrency;
  }

  LoadPointResult measure(std::unique_ptr<Backend> backend, double level) {
    model_.spec = &model_spec_;
    model_.backend = std::move(backend);
    row_.phase = "load/x/m/concurrency=" + std::to_string(level);
    row_.mode = "concurrency";
    row_.level = level;
    return measure_load_point(load_, model_, suite_, level, row_, store_, options_, 1);
  }

  [[nodiscard]] std::size_t stored_rows() { return read_run(store_).responses.size(); }

  testing::TempDir dir_;
  Store store_{dir_.path()};
  ModelSpec model_spec_;
  SuiteSpec suite_spec_;
  ModelSlot model_;
  SuiteSlot suite_;
  LoadSpec load_;
  LoadPointRow row_;
  RunnerOptions options_;
  Tally tally_;
};

TEST_F(LoadPointTest, AReentrantBackendIsRefilledFromItsCallbacksAndKeepsTheLevel) {
  load_.requests = 400;
  load_.warmup_requests = 8;
  const LoadPointResult result = measure(std::make_unique<WorkerBackend>(tally_, true), 4);
  EXPECT_TRUE(result.complete);
  EXPECT_EQ(result.failed, 0);
  EXPECT_EQ(row_.sent, 408);
  EXPECT_EQ(row_.warmup, 8);
  EXPECT_EQ(tally_.submits.load(), 408);
  EXPECT_EQ(tally_.in_flight.load(), 0);
  EXPECT_LE(tally_.max_in_flight.load(), 4);
  // The first four leave from the measuring thread; after that, answers send the next ones.
  EXPECT_GT(tally_.submits_off_caller.load(), 300);
  EXPECT_EQ(stored_rows(), 408U);
  ASSERT_TRUE(result.send_lag_p99_ms.has_value());
}

TEST_F(LoadPointTest, AnyOtherBackendIsOnlyCalledFromTheMeasuringThread) {
  load_.requests = 200;
  const LoadPointResult result = measure(std::make_unique<WorkerBackend>(tally_, false), 4);
  EXPECT_TRUE(result.complete);
  EXPECT_EQ(row_.sent, 200);
  EXPECT_EQ(tally_.submits.load(), 200);
  EXPECT_LE(tally_.max_in_flight.load(), 4);
  EXPECT_EQ(tally_.submits_off_caller.load(), 0);
  EXPECT_EQ(stored_rows(), 200U);
}

TEST_F(LoadPointTest, AnswersGivenInsideSubmitAreCountedWhereverTheSubmitCameFrom) {
  // Every third request fails inside submit: on the measuring thread at first, then inside
  // other answers' callbacks on the worker thread.
  load_.requests = 300;
  const LoadPointResult result = measure(std::make_unique<WorkerBackend>(tally_, true, 3), 8);
  EXPECT_TRUE(result.complete);
  EXPECT_EQ(row_.sent, 300);
  EXPECT_EQ(result.failed, 100);
  EXPECT_EQ(tally_.in_flight.load(), 0);
  EXPECT_LE(tally_.max_in_flight.load(), 8);
  EXPECT_EQ(stored_rows(), 300U);
}

TEST_F(LoadPointTest, ABackendThatFailsEveryRequestInsideSubmitStillEndsByDuration) {
  // Every answer comes back before submit returns, so nothing is ever in flight: the point
  // must neither recurse nor spin past its duration.
  load_.duration_s = 0.2;
  const auto started = Clock::now();
  const LoadPointResult result = measure(std::make_unique<WorkerBackend>(tally_, true, 1), 16);
  EXPECT_LT(Clock::now() - started, 30s);
  EXPECT_TRUE(result.complete);
  EXPECT_GT(row_.sent, 16);
  EXPECT_EQ(result.failed, row_.sent);
  EXPECT_EQ(tally_.submits.load(), row_.sent);
  EXPECT_EQ(stored_rows(), static_cast<std::size_t>(row_.sent));
}

TEST_F(LoadPointTest, AnInterruptCancelsWhatIsInFlightAndKeepsItsRows) {
  // The backend answers only when cancelled, and then on the measuring thread itself: the
  // point must not hold its lock while it cancels.
  std::atomic<int> interrupt{0};
  options_.interrupt = &interrupt;
  options_.grace = 50ms;
  load_.duration_s = 60;
  std::thread stopper([&] {
    std::this_thread::sleep_for(100ms);
    interrupt = 1;
  });
  const LoadPointResult result = measure(std::make_unique<WorkerBackend>(tally_, true, 0, true), 6);
  stopper.join();
  EXPECT_FALSE(result.complete);
  EXPECT_EQ(row_.sent, 6);
  EXPECT_EQ(result.failed, 6);
  EXPECT_EQ(tally_.in_flight.load(), 0);
  EXPECT_EQ(stored_rows(), 6U);
}

}  // namespace
}  // namespace medsafe
