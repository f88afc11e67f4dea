// The load sweep's progress lines: which point of how many, requests done of planned, failures,
// rate and ETA; and a point reporting them while it measures.
#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "engine/run/load_runner.hpp"
#include "support/temp_dir.hpp"

namespace medsafe {
namespace {

using namespace std::chrono_literals;

LoadProgress progress() {
  LoadProgress p;
  p.point = 2;
  p.points = 6;
  p.model = "target";
  p.mode = "concurrency";
  p.level = 4;
  p.done = 150;
  p.planned = 450;
  p.elapsed_s = 3;
  return p;
}

TEST(LoadProgressLine, CountsRateAndEtaByRequests) {
  EXPECT_EQ(load_progress_line(progress()),
            "load point 2/6 (target at concurrency 4): 150/450 requests, 50.0 req/s, ETA 6s");
  LoadProgress failed = progress();
  failed.failed = 3;
  EXPECT_EQ(load_progress_line(failed),
            "load point 2/6 (target at concurrency 4): 150/450 requests, 3 failed, 50.0 req/s, "
            "ETA 6s");
}

TEST(LoadProgressLine, ByDurationTheTimeLeftIsTheEta) {
  LoadProgress p = progress();
  p.mode = "rate";
  p.level = 2.5;
  p.planned = 0;
  p.duration_s = 10;
  p.done = 7;
  p.elapsed_s = 2.5;
  EXPECT_EQ(load_progress_line(p),
            "load point 2/6 (target at rate 2.5): 7 requests, 2.8 req/s, 2.5/10.0 s, ETA 8s");
  // With both bounds, whichever ends the point first.
  p.planned = 10;
  EXPECT_EQ(load_progress_line(p),
            "load point 2/6 (target at rate 2.5): 7/10 requests, 2.8 req/s, 2.5/10.0 s, ETA 1s");
}

TEST(LoadProgressLine, NothingDoneYetHasNoEta) {
  LoadProgress p = progress();
  p.done = 0;
  p.elapsed_s = 0;
  EXPECT_EQ(load_progress_line(p),
            "load point 2/6 (target at concurrency 4): 0/450 requests, 0.0 req/s");
}

// Answers every request inside submit, after a short pause, so a point takes a while.
class SlowInlineBackend final : public Backend {
 public:
  void submit(Request /*request*/, ResponseCallback done) override {
    std::this_thread::sleep_for(2ms);
    Response r;
    r.text = "ok";
    r.timing.sent = r.timing.first_byte = r.timing.finished = Clock::now();
    done(std::move(r));
  }
};

TEST(LoadProgressLine, APointReportsAsItMeasuresAndWhenItEnds) {
  testing::TempDir dir;
  Store store(dir.path());
  ModelSpec model_spec;
  model_spec.name = "m";
  SuiteSpec suite_spec;
  suite_spec.name = "s";
  ModelSlot model;
  model.spec = &model_spec;
  model.backend = std::make_unique<SlowInlineBackend>();
  SuiteSlot suite;
  suite.spec = &suite_spec;
  suite.items.push_back({"i", "1", "prompt", "", {}});
  LoadSpec load;
  load.name = "sweep";
  load.mode = LoadMode::concurrency;
  load.requests = 60;
  LoadPointRow row;
  row.phase = "load/sweep/m/concurrency=1";
  std::mutex mutex;
  std::vector<std::string> lines;
  RunnerOptions options;
  options.progress_every = 20ms;
  options.progress = [&](const std::vector<std::string>& shown, bool) {
    std::lock_guard lock(mutex);
    lines.insert(lines.end(), shown.begin(), shown.end());
  };
  const LoadPointResult result =
      measure_load_point(load, model, suite, 1, row, store, options, 1, 3, 5);
  EXPECT_TRUE(result.complete);
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines.front().rfind("load point 3/5 (m at concurrency 1): 0/60 requests", 0), 0u)
      << lines.front();
  EXPECT_EQ(lines.back().rfind("load point 3/5 (m at concurrency 1): 60/60 requests", 0), 0u)
      << lines.back();
  EXPECT_NE(lines.back().find("(done)"), std::string::npos) << lines.back();
}

}  // namespace
}  // namespace medsafe
