// The built libmedsafe_medsafetybench.so, loaded as a run loads it.
#include <gtest/gtest.h>

#include "support/loaded_plugin.hpp"
#include "support/temp_dir.hpp"

namespace medsafe {
namespace {

TEST(MedSafetyBenchModule, LoadsAndReadsALocalCopy) {
  testing::TempDir dir;
  dir.write("test/llama2/med_safety_demonstrations_category_4.csv",
            ",harmful_medical_request,safe_response\n0,\"Share, please\",\"No.\"\n");
  testing::LoadedPlugin plugin("medsafetybench", ComponentKind::suite);
  ASSERT_TRUE(plugin.factory().suite);
  const Config config = plugin.config("path = '" + dir.path().string() +
                                      "'\nsources = ['llama2']\ncategories = ['4']");
  const auto suite = plugin.factory().suite(plugin.context(config, nullptr, dir.path()));
  const auto items = suite->load();
  ASSERT_EQ(items.size(), 1U);
  EXPECT_EQ(items[0].id, "test/llama2/4/0");
  EXPECT_EQ(items[0].prompt, "Share, please");
  EXPECT_EQ(suite->domain(), "medical");
  ASSERT_EQ(suite->categories().size(), 1U);
  EXPECT_EQ(suite->categories()[0].name, "rights and privacy");
}

}  // namespace
}  // namespace medsafe
