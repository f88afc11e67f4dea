#include "report/report_answers.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "report_test_data.hpp"

namespace medsafe {
namespace {

std::vector<std::string> judges_of(std::span<const VerdictRow* const> verdicts) {
  std::vector<std::string> names;
  for (const VerdictRow* v : verdicts) names.push_back(v->judge);
  return names;
}

// The lookups are sorted hashes now: each answer still finds exactly its own item and
// verdicts (names that join alike stay apart), in the run's judge order, and a repeated item
// key finds the later item, as the maps they replace did.
TEST(AnswerLookup, FindsEachAnswersOwnItemAndVerdictsInJudgeOrder) {
  RunData data;
  data.info.judges = {{"zeta", "refusal", {}}, {"alpha", "rubric", {}}};
  data.items = {test_data::item("s", "ab", "1"), test_data::item("sa", "b", "2"),
                test_data::item("s", "c", "3"), test_data::item("s", "c", "4")};
  for (int i = 0; i < 500; ++i) data.items.push_back(test_data::item("s", std::to_string(i), ""));
  data.responses = {test_data::response("m", "s", "ab"),    test_data::response("m", "sa", "b"),
                    test_data::response("m", "s", "ab", 1), test_data::response("mx", "s", "ab"),
                    test_data::response("m", "s", "c"),     test_data::response("m", "s", "none")};
  ResponseRow load = test_data::response("m", "s", "ab");
  load.phase = "load/sweep/m/concurrency=1";
  for (const char* judge : {"other", "alpha", "zeta"}) {
    data.verdicts.push_back(test_data::verdict(judge, data.responses[0]));
  }
  data.verdicts.push_back(test_data::verdict("alpha", data.responses[1]));
  data.verdicts.push_back(test_data::verdict("zeta", data.responses[2]));
  data.verdicts.push_back(test_data::verdict("beta", data.responses[3]));
  data.verdicts.push_back(test_data::verdict("alpha", data.responses[3]));
  for (int i = 0; i < 500; ++i) {
    data.verdicts.push_back(
        test_data::verdict("zeta", test_data::response("m", "s", std::to_string(i))));
  }
  const AnswerLookup lookup(data);
  EXPECT_EQ(lookup.item(data.responses[0]), &data.items[0]);
  EXPECT_EQ(lookup.item(data.responses[1]), &data.items[1]);
  EXPECT_EQ(lookup.item(data.responses[4]), &data.items[3]);  // the later of two "s"/"c"
  EXPECT_EQ(lookup.item(data.responses[5]), nullptr);
  EXPECT_EQ(judges_of(lookup.verdicts(data.responses[0])),
            (std::vector<std::string>{"zeta", "alpha", "other"}));
  EXPECT_EQ(judges_of(lookup.verdicts(data.responses[1])), std::vector<std::string>{"alpha"});
  EXPECT_EQ(judges_of(lookup.verdicts(data.responses[2])), std::vector<std::string>{"zeta"});
  EXPECT_EQ(judges_of(lookup.verdicts(data.responses[3])),
            (std::vector<std::string>{"alpha", "beta"}));
  EXPECT_TRUE(lookup.verdicts(data.responses[4]).empty());
  EXPECT_TRUE(lookup.verdicts(load).empty());
  for (int i = 0; i < 500; ++i) {
    const ResponseRow r = test_data::response("m", "s", std::to_string(i));
    ASSERT_EQ(lookup.verdicts(r).size(), 1U) << i;
    EXPECT_EQ(lookup.verdicts(r)[0]->item_id, r.item_id);
    EXPECT_EQ(lookup.item(r)->item_id, r.item_id);
  }
}

}  // namespace
}  // namespace medsafe
