#include "tabular/sampling.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

namespace medsafe::tabular {
namespace {

std::vector<std::string> make_ids(std::size_t n, const std::string& prefix = "id-") {
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < n; ++i) ids.push_back(prefix + std::to_string(i));
  return ids;
}

std::vector<std::string_view> views(const std::vector<std::string>& ids) {
  return {ids.begin(), ids.end()};
}

TEST(StableHash, IsPinned) {
  // Samples must not change between releases: these values are part of the contract.
  EXPECT_EQ(seeded_hash("test/gpt4/3/17", 0), seeded_hash("test/gpt4/3/17", 0));
  EXPECT_NE(seeded_hash("a", 0), seeded_hash("a", 1));
  EXPECT_NE(seeded_hash("ab", 0), seeded_hash("ba", 0));
  EXPECT_EQ(seeded_hash("", 0), 0x5b21f68ffa77f14cULL);
  EXPECT_EQ(seeded_hash("test/gpt4/3/17", 42), 0xdf0f08b45d834a85ULL);
}

TEST(SamplePositions, ZeroOrTooManyMeansAll) {
  const auto ids = make_ids(5);
  const std::vector<std::size_t> all = {0, 1, 2, 3, 4};
  EXPECT_EQ(sample_positions(views(ids), 0, 7), all);
  EXPECT_EQ(sample_positions(views(ids), 5, 7), all);
  EXPECT_EQ(sample_positions(views(ids), 99, 7), all);
  EXPECT_TRUE(sample_positions({}, 3, 7).empty());
}

TEST(SamplePositions, PicksDistinctPositionsInOrderDeterministically) {
  const auto ids = make_ids(100);
  const auto sample = sample_positions(views(ids), 10, 3);
  ASSERT_EQ(sample.size(), 10U);
  EXPECT_TRUE(std::is_sorted(sample.begin(), sample.end()));
  EXPECT_EQ(std::set<std::size_t>(sample.begin(), sample.end()).size(), 10U);
  EXPECT_EQ(sample_positions(views(ids), 10, 3), sample);
  EXPECT_NE(sample_positions(views(ids), 10, 4), sample);
}

TEST(SamplePositions, DependsOnIdsNotOnTheirOrder) {
  auto ids = make_ids(50);
  const auto sample = sample_positions(views(ids), 7, 11);
  std::set<std::string> picked;
  for (const std::size_t i : sample) picked.insert(ids[i]);
  std::reverse(ids.begin(), ids.end());
  std::set<std::string> picked_reversed;
  for (const std::size_t i : sample_positions(views(ids), 7, 11)) picked_reversed.insert(ids[i]);
  EXPECT_EQ(picked, picked_reversed);
}

TEST(SamplePositions, AddedItemsOnlyDisplaceWhatTheyOutrank) {
  auto ids = make_ids(200);
  std::set<std::string> before;
  for (const std::size_t i : sample_positions(views(ids), 20, 5)) before.insert(ids[i]);
  const auto extra = make_ids(50, "new-");
  ids.insert(ids.end(), extra.begin(), extra.end());
  for (const std::size_t i : sample_positions(views(ids), 20, 5)) {
    EXPECT_TRUE(before.contains(ids[i]) || ids[i].starts_with("new-")) << ids[i];
  }
}

TEST(SamplePositions, IsRoughlyUniform) {
  const auto ids = make_ids(1000);
  const auto sample = sample_positions(views(ids), 500, 9);
  const auto first_half =
      std::count_if(sample.begin(), sample.end(), [](std::size_t i) { return i < 500; });
  EXPECT_GT(first_half, 200);
  EXPECT_LT(first_half, 300);
}

}  // namespace
}  // namespace medsafe::tabular
