#include "medsafe/stable_hash.hpp"

#include <gtest/gtest.h>

#include <cstdint>

namespace medsafe {
namespace {

TEST(StableHash, IsFnv1a64) {
  EXPECT_EQ(stable_hash(""), 0xCBF29CE484222325ULL);
  EXPECT_EQ(stable_hash("a"), 0xAF63DC4C8601EC8CULL);
  EXPECT_EQ(stable_hash("foobar"), 0x85944171F73967E8ULL);
}

TEST(StableHash, ChainsPartByPart) {
  EXPECT_EQ(fnv1a(fnv1a(kFnv1aBasis, "foo"), "bar"), stable_hash("foobar"));
  static_assert(stable_hash("a") == 0xAF63DC4C8601EC8CULL, "usable at compile time");
}

TEST(Mix64, IsSplitmix64sFirstOutput) {
  // mix64(state) is splitmix64.c's output for `state`: its first two from state 0.
  EXPECT_EQ(mix64(0), 0xE220A8397B1DCDAFULL);
  EXPECT_EQ(mix64(0x9E3779B97F4A7C15ULL), 0x6E789E6AA1B965F4ULL);
}

TEST(Hex16, WritesSixteenLowerCaseDigits) {
  EXPECT_EQ(hex16(0), "0000000000000000");
  EXPECT_EQ(hex16(0xAF63DC4C8601EC8CULL), "af63dc4c8601ec8c");
  EXPECT_EQ(hex16(0x0123456789ABCDEFULL), "0123456789abcdef");
}

}  // namespace
}  // namespace medsafe
