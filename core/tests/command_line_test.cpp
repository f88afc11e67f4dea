// The resume hint's command line survives a POSIX shell: every word comes back as it was.
#include "engine/ops/command_line.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace medsafe {
namespace {

TEST(ShellQuote, LeavesPlainWordsAndQuotesTheRest) {
  EXPECT_EQ(shell_quote("models.m.seed=5"), "models.m.seed=5");
  EXPECT_EQ(shell_quote("/runs/a-b_c.toml"), "/runs/a-b_c.toml");
  EXPECT_EQ(shell_quote(""), "''");
  EXPECT_EQ(shell_quote("a b"), "'a b'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_quote("$HOME"), "'$HOME'");
  EXPECT_EQ(shell_command({"medsafe", "run", "x y.toml", "--set", "m.k=\"v\""}),
            "medsafe run 'x y.toml' --set 'm.k=\"v\"'");
}

TEST(ShellQuote, AShellGivesBackEveryWordUnchanged) {
  const std::string words[] = {"plain",  "two words", "it's",       "$HOME `id` $(id)",
                               "a\\b",   "*",         "semi;colon", "new\nline",
                               "\"dq\"", "!bang",     "~tilde",     ""};
  for (const std::string& word : words) {
    SCOPED_TRACE(word);
    const std::string command = "printf %s " + shell_quote(word);
    FILE* shell = ::popen(command.c_str(), "r");
    ASSERT_NE(shell, nullptr);
    std::string out;
    char buffer[256];
    std::size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, shell)) > 0) out.append(buffer, n);
    EXPECT_EQ(::pclose(shell), 0);
    EXPECT_EQ(out, word);
  }
}

}  // namespace
}  // namespace medsafe
