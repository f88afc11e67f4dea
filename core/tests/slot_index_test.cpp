#include "report/slot_index.hpp"

#include <gtest/gtest.h>

#include <string>

namespace medsafe {
namespace {

struct Named {
  std::string name;
  int sample = 0;
};

TEST(SlotIndex, FindsTheRowWhoseNamesMatchAmongRowsOfOneHash) {
  const Named a{"a", 0};
  const Named b{"b", 0};
  SlotIndex<Named> index;
  // Both under one hash, as a collision would put them: the names decide.
  index.add(7, &a);
  index.add(7, &b);
  index.seal();
  EXPECT_EQ(index.find(7, [](const Named& row) { return row.name == "a"; }), &a);
  EXPECT_EQ(index.find(7, [](const Named& row) { return row.name == "b"; }), &b);
  EXPECT_EQ(index.find(7, [](const Named& row) { return row.name == "c"; }), nullptr);
  EXPECT_EQ(index.find(8, [](const Named&) { return true; }), nullptr);
}

TEST(SlotIndex, OfTwoRowsInOneSlotTheLaterAddedIsFound) {
  const Named first{"x", 1};
  const Named later{"x", 1};
  const Named other{"y", 0};
  SlotIndex<Named> index;
  index.add(slot_hash({first.name}, first.sample), &first);
  index.add(slot_hash({other.name}, other.sample), &other);
  index.add(slot_hash({later.name}, later.sample), &later);
  index.seal();
  EXPECT_EQ(index.find(slot_hash({"x"}, 1), [](const Named& row) { return row.name == "x"; }),
            &later);
  EXPECT_EQ(index.size(), 3U);
}

TEST(SlotHash, TellsApartNamesSplitDifferentlyAndSamples) {
  EXPECT_NE(slot_hash({"ab", "c"}), slot_hash({"a", "bc"}));
  EXPECT_NE(slot_hash({"m", "s", "i"}, 0), slot_hash({"m", "s", "i"}, 1));
  EXPECT_EQ(slot_hash({"m", "s", "i"}, 2), slot_hash({"m", "s", "i"}, 2));
}

}  // namespace
}  // namespace medsafe
