#include "engine/run/shard.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "medsafe/error.hpp"

namespace medsafe {
namespace {

using Vars = std::map<std::string, std::string>;

EnvironmentLookup environment(Vars vars) {
  return [vars = std::move(vars)](const char* name) -> std::optional<std::string> {
    const auto found = vars.find(name);
    if (found == vars.end()) return std::nullopt;
    return found->second;
  };
}

std::string usage_error(const std::optional<std::string>& flag, const Vars& vars) {
  try {
    (void)resolve_shard(flag, environment(vars));
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return {};
}

std::string shard_text(const std::optional<std::string>& flag, const Vars& vars) {
  const std::optional<Shard> shard = resolve_shard(flag, environment(vars));
  return shard ? shard->text() : "none";
}

TEST(Shard, ParsesIndexOverCount) {
  const Shard s = parse_shard("3/4");
  EXPECT_EQ(s.index, 3);
  EXPECT_EQ(s.count, 4);
  EXPECT_EQ(s.text(), "3/4");
  EXPECT_EQ(s.folder_name(), "shard-3-of-4");
  EXPECT_FALSE(s.measures_load());
  EXPECT_TRUE(parse_shard("0/1").measures_load());
  for (const char* bad : {"4/4", "-1/4", "a/b", "1", "0/0", "1/", "/4", "0/100001", "1/4x"}) {
    EXPECT_THROW((void)parse_shard(bad), Error) << bad;
  }
  EXPECT_EQ(usage_error("4/4", {}),
            "--shard: '4/4' is not a shard: expected i/N with 0 <= i < N <= 100000, e.g. 0/4 for "
            "the first of four (docs/scale-out.md)");
}

TEST(Shard, TheFlagWinsOverTheEnvironmentAndNoneMeansAWholeRun) {
  const Vars slurm = {{"SLURM_ARRAY_TASK_ID", "2"},
                      {"SLURM_ARRAY_TASK_MIN", "0"},
                      {"SLURM_ARRAY_TASK_MAX", "3"},
                      {"SLURM_ARRAY_TASK_COUNT", "4"}};
  EXPECT_EQ(shard_text(std::nullopt, slurm), "2/4");
  EXPECT_EQ(shard_text("1/3", slurm), "1/3");
  EXPECT_EQ(shard_text("none", slurm), "none");
  EXPECT_EQ(shard_text(std::nullopt, {}), "none");
  EXPECT_EQ(resolve_shard(std::nullopt, environment(slurm))->source,
            "SLURM_ARRAY_TASK_ID=2 of SLURM_ARRAY_TASK_COUNT=4");
}

TEST(Shard, SlurmArraysCountFromTheirFirstTaskInTheirStep) {
  // --array=1-4: task 3 is the third shard.
  EXPECT_EQ(shard_text(std::nullopt, {{"SLURM_ARRAY_TASK_ID", "3"},
                                      {"SLURM_ARRAY_TASK_MIN", "1"},
                                      {"SLURM_ARRAY_TASK_MAX", "4"},
                                      {"SLURM_ARRAY_TASK_COUNT", "4"}}),
            "2/4");
  // --array=0-30:10: task 20 is shard 2 of 4.
  EXPECT_EQ(shard_text(std::nullopt, {{"SLURM_ARRAY_TASK_ID", "20"},
                                      {"SLURM_ARRAY_TASK_MIN", "0"},
                                      {"SLURM_ARRAY_TASK_MAX", "30"},
                                      {"SLURM_ARRAY_TASK_STEP", "10"},
                                      {"SLURM_ARRAY_TASK_COUNT", "4"}}),
            "2/4");
  // --array=1,4,9 has no index to count by.
  const std::string gaps = usage_error(std::nullopt, {{"SLURM_ARRAY_TASK_ID", "4"},
                                                      {"SLURM_ARRAY_TASK_MIN", "1"},
                                                      {"SLURM_ARRAY_TASK_MAX", "9"},
                                                      {"SLURM_ARRAY_TASK_STEP", "1"},
                                                      {"SLURM_ARRAY_TASK_COUNT", "3"}});
  EXPECT_NE(gaps.find("SLURM_ARRAY_TASK_ID=4 is not a task of a regular array"), std::string::npos)
      << gaps;
  EXPECT_NE(gaps.find("use --array=0-2, or pass --shard i/N in the job script instead"),
            std::string::npos)
      << gaps;
  EXPECT_NE(usage_error(std::nullopt, {{"SLURM_ARRAY_TASK_ID", "1"}})
                .find("SLURM_ARRAY_TASK_ID=1 is set, but not SLURM_ARRAY_TASK_COUNT"),
            std::string::npos);
  EXPECT_NE(usage_error(std::nullopt, {{"SLURM_ARRAY_TASK_ID", "x"}})
                .find("SLURM_ARRAY_TASK_ID=x is not a whole number"),
            std::string::npos);
}

TEST(Shard, KubernetesIndexedJobsTakeTheCountFromMedsafeShardCount) {
  EXPECT_EQ(shard_text(std::nullopt, {{"JOB_COMPLETION_INDEX", "1"}, {"MEDSAFE_SHARD_COUNT", "3"}}),
            "1/3");
  const std::string no_count = usage_error(std::nullopt, {{"JOB_COMPLETION_INDEX", "1"}});
  EXPECT_NE(no_count.find("JOB_COMPLETION_INDEX=1 is set (a Kubernetes Indexed Job), but not "
                          "MEDSAFE_SHARD_COUNT: set it to the Job's completions"),
            std::string::npos)
      << no_count;
  EXPECT_NE(usage_error(std::nullopt, {{"JOB_COMPLETION_INDEX", "3"}, {"MEDSAFE_SHARD_COUNT", "3"}})
                .find("JOB_COMPLETION_INDEX=3 of MEDSAFE_SHARD_COUNT=3: '3/3' is not a shard"),
            std::string::npos);
}

TEST(Shard, EveryItemIsInExactlyOneShardTheSameEverywhere) {
  std::vector<int> sizes(4);
  for (int i = 0; i < 4000; ++i) {
    const std::string id = "q" + std::to_string(i);
    const int shard = shard_of("suite", id, 4);
    ASSERT_GE(shard, 0);
    ASSERT_LT(shard, 4);
    ++sizes[static_cast<std::size_t>(shard)];
    EXPECT_EQ(shard_of("suite", id, 1), 0);
  }
  for (const int size : sizes) {
    EXPECT_GT(size, 850);  // 1000 expected; a bad hash puts most items in one shard
    EXPECT_LT(size, 1150);
  }
  // Pinned: a shard must hold the same items on every machine and in every release.
  EXPECT_EQ(shard_of("medsafety", "test/gpt4/1/0", 4), 1);
  EXPECT_EQ(shard_of("medsafety", "llama3/9/8096", 7), 4);  // both computed apart, in Python
  // The suite is part of the hash: the same ids of another suite fall elsewhere.
  int moved = 0;
  for (int i = 0; i < 100; ++i) {
    const std::string id = "q" + std::to_string(i);
    moved += shard_of("suite", id, 4) != shard_of("other", id, 4) ? 1 : 0;
  }
  EXPECT_GT(moved, 50);
}

TEST(Shard, PlanRoundTripsThroughItsJson) {
  ShardPlan plan;
  plan.shard = parse_shard("2/5", "SLURM_ARRAY_TASK_ID=2");
  plan.suites.push_back({"s", 900, 181, "0123456789abcdef"});
  const std::optional<ShardPlan> back = shard_plan_from_json(shard_plan_json(plan));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->shard.text(), "2/5");
  EXPECT_EQ(back->shard.source, "SLURM_ARRAY_TASK_ID=2");
  ASSERT_EQ(back->suites.size(), 1U);
  EXPECT_EQ(back->suites[0].items, 900);
  EXPECT_EQ(back->suites[0].kept, 181);
  EXPECT_EQ(back->suites[0].digest, "0123456789abcdef");
  EXPECT_FALSE(shard_plan_from_json("[]"));
  EXPECT_FALSE(shard_plan_from_json("{\"index\": \"1\"}"));
}

}  // namespace
}  // namespace medsafe
