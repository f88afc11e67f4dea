// The built libmedsafe_table.so, loaded as a run loads it.
#include <gtest/gtest.h>

#include "support/loaded_plugin.hpp"
#include "support/temp_dir.hpp"

namespace medsafe {
namespace {

TEST(TableModule, LoadsAndReadsAFile) {
  testing::TempDir dir;
  const auto file = dir.write("p.csv", "prompt,c\nhello,x\n");
  testing::LoadedPlugin plugin("table", ComponentKind::suite);
  ASSERT_TRUE(plugin.factory().suite);
  const Config config =
      plugin.config("path = '" + file.string() + "'\ncategory_column = 'c'\ndomain = 'medical'");
  const auto suite = plugin.factory().suite(plugin.context(config));
  const auto items = suite->load();
  ASSERT_EQ(items.size(), 1U);
  EXPECT_EQ(items[0].prompt, "hello");
  EXPECT_EQ(suite->domain(), "medical");
  EXPECT_EQ(suite->categories().at(0).id, "x");
}

}  // namespace
}  // namespace medsafe
