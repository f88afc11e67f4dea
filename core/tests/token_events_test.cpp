#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <vector>

#include "engine/store/run_data.hpp"

namespace medsafe {
namespace {

// Token stamps are kept as variable-length differences: every value comes back exactly, in
// order, whatever its size or the direction of the step.
TEST(TokenEvents, EveryStampComesBackExactly) {
  const std::vector<std::vector<std::int64_t>> cases = {
      {},
      {1'200'000},
      {1'200'000, 1'250'000, 1'250'000, 1'250'001},
      {5, 3, -7, 0, 1LL << 40},
      {std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::int64_t>::min(), 0},
  };
  for (const auto& values : cases) {
    TokenEvents events;
    for (const std::int64_t v : values) events.push_back(v);
    EXPECT_EQ(events.to_vector(), values);
    EXPECT_EQ(events.size(), values.size());
    EXPECT_EQ(events.empty(), values.empty());
    if (!values.empty()) {
      EXPECT_EQ(events.front(), values.front());
      EXPECT_EQ(events.back(), values.back());
    }
  }
  const TokenEvents listed = {1'700'000'000'000'000'000, 1'700'000'000'012'345'678};
  EXPECT_EQ(listed.to_vector(),
            (std::vector<std::int64_t>{1'700'000'000'000'000'000, 1'700'000'000'012'345'678}));
  EXPECT_EQ(listed, (TokenEvents{1'700'000'000'000'000'000, 1'700'000'000'012'345'678}));
  EXPECT_FALSE(listed == TokenEvents{});
}

}  // namespace
}  // namespace medsafe
