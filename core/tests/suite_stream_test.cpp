// Suite::stream()'s default: a suite that only loads still hands its items out in batches, so
// the core can read every plugin through stream() alone.
#include <gtest/gtest.h>

#include <span>
#include <string>
#include <vector>

#include "medsafe/suite.hpp"

namespace medsafe {
namespace {

class LoadOnlySuite final : public Suite {
 public:
  explicit LoadOnlySuite(int count) : count_(count) {}
  std::vector<PromptItem> load() override {
    ++loads;
    std::vector<PromptItem> items;
    for (int i = 0; i < count_; ++i) items.push_back({"q" + std::to_string(i), "", "p", "", {}});
    return items;
  }
  int loads = 0;

 private:
  int count_;
};

std::vector<std::size_t> batch_sizes(Suite& suite, std::size_t batch,
                                     std::vector<std::string>* ids = nullptr) {
  std::vector<std::size_t> sizes;
  suite.stream(
      [&](std::span<PromptItem> items) {
        sizes.push_back(items.size());
        for (PromptItem& item : items) {
          if (ids != nullptr) ids->push_back(std::move(item.id));
        }
      },
      batch);
  return sizes;
}

TEST(SuiteStream, DefaultSlicesLoadIntoBatchesInOrder) {
  LoadOnlySuite suite(7);
  std::vector<std::string> ids;
  EXPECT_EQ(batch_sizes(suite, 3, &ids), (std::vector<std::size_t>{3, 3, 1}));
  EXPECT_EQ(suite.loads, 1);
  EXPECT_EQ(ids, (std::vector<std::string>{"q0", "q1", "q2", "q3", "q4", "q5", "q6"}));
}

TEST(SuiteStream, DefaultTakesBatchZeroAsOneAndEmptySuitesAsNoBatch) {
  LoadOnlySuite two(2);
  EXPECT_EQ(batch_sizes(two, 0), (std::vector<std::size_t>{1, 1}));
  LoadOnlySuite none(0);
  EXPECT_TRUE(batch_sizes(none, 5).empty());
  LoadOnlySuite exact(4);
  EXPECT_EQ(batch_sizes(exact, 4), (std::vector<std::size_t>{4}));
}

}  // namespace
}  // namespace medsafe
