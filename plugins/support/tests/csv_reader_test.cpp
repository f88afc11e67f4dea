#include "tabular/csv_reader.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "medsafe/error.hpp"
#include "support/temp_dir.hpp"
#include "tabular/text_file.hpp"

namespace medsafe::tabular {
namespace {

using Fields = std::vector<std::string>;

std::string error_of(std::string_view text, char delimiter = ',') {
  try {
    (void)read_csv(text, "data.csv", delimiter);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::data);
    return e.what();
  }
  return "no error";
}

TEST(CsvReader, ReadsPlainRecordsWithTheirLines) {
  const auto records = read_csv("a,b,c\n1,2,3\n4,5,6\n", "f.csv");
  ASSERT_EQ(records.size(), 3U);
  EXPECT_EQ(records[0].fields, (Fields{"a", "b", "c"}));
  EXPECT_EQ(records[2].fields, (Fields{"4", "5", "6"}));
  EXPECT_EQ(records[0].line, 1U);
  EXPECT_EQ(records[2].line, 3U);
}

TEST(CsvReader, QuotedFieldsHoldDelimitersQuotesAndLineBreaks) {
  const std::string text =
      "id,text\n"
      "1,\"a, b\"\n"
      "2,\"she said \"\"no\"\"\"\n"
      "3,\"two\nlines\"\n"
      "4,\"crlf\r\ninside\"\r\n"
      "5,\"\"\n";
  const auto records = read_csv(text, "f.csv");
  ASSERT_EQ(records.size(), 6U);
  EXPECT_EQ(records[1].fields[1], "a, b");
  EXPECT_EQ(records[2].fields[1], "she said \"no\"");
  EXPECT_EQ(records[3].fields[1], "two\nlines");
  EXPECT_EQ(records[4].fields[1], "crlf\r\ninside");
  EXPECT_EQ(records[5].fields, (Fields{"5", ""}));
  // Line numbers count the breaks inside quoted fields.
  EXPECT_EQ(records[3].line, 4U);
  EXPECT_EQ(records[4].line, 6U);
  EXPECT_EQ(records[5].line, 8U);
}

TEST(CsvReader, HandlesLineEndingsBomBlankLinesAndEmptyFields) {
  const auto records = read_csv("\xEF\xBB\xBFx,y\r\n\r\n1,\r\n,2\r3,4", "f.csv");
  ASSERT_EQ(records.size(), 4U);
  EXPECT_EQ(records[0].fields, (Fields{"x", "y"}));
  EXPECT_EQ(records[1].fields, (Fields{"1", ""}));
  EXPECT_EQ(records[1].line, 3U);
  EXPECT_EQ(records[2].fields, (Fields{"", "2"}));
  EXPECT_EQ(records[3].fields, (Fields{"3", "4"}));
  EXPECT_EQ(records[3].line, 5U);
  EXPECT_EQ(read_csv("a,", "f.csv")[0].fields, (Fields{"a", ""}));
  EXPECT_TRUE(read_csv("", "f.csv").empty());
  EXPECT_TRUE(read_csv("\n\r\n", "f.csv").empty());
}

TEST(CsvReader, OtherDelimitersAndLiteralQuotesInUnquotedFields) {
  EXPECT_EQ(read_csv("a\tb,c\n", "f.tsv", '\t')[0].fields, (Fields{"a", "b,c"}));
  EXPECT_EQ(read_csv("a;\"b;c\"\n", "f.csv", ';')[0].fields, (Fields{"a", "b;c"}));
  EXPECT_EQ(read_csv("5\" nail,x\n", "f.csv")[0].fields, (Fields{"5\" nail", "x"}));
}

TEST(CsvReader, UnterminatedQuoteNamesTheLineWhereItOpened) {
  const std::string message = error_of("a,b\n1,2\n3,\"never closed\n4,5\n");
  EXPECT_NE(message.find("data.csv:3: error: unterminated quoted field"), std::string::npos)
      << message;
}

TEST(CsvReader, TextAfterAClosingQuoteIsAnError) {
  const std::string message = error_of("a,b\n1,\"x\"y\n");
  EXPECT_NE(message.find("data.csv:2: error: unexpected 'y' after a closing quote"),
            std::string::npos)
      << message;
  // Across lines, the quote's own line leads (see the next test) and the other is named.
  const std::string across = error_of("a,\"multi\nline\"z\n");
  EXPECT_NE(across.find("data.csv:1: error: the quoted field opened on this line is closed only "
                        "on line 2, where 'z' follows"),
            std::string::npos)
      << across;
}

TEST(CsvReader, AQuoteLeftOpenIsReportedOnItsOwnLineNotWhereTheNextQuoteIs) {
  // Row 2 never closes its quote; the reader runs on to the quote of row 3, where 'f' follows.
  const std::string message = error_of("id,prompt\n1,\"an open quote\n2,\"fine\"\n3,plain\n");
  EXPECT_NE(message.find("data.csv:2: error: the quoted field opened on this line is closed only "
                         "on line 3, where 'f' follows the quote: is a closing quote missing "
                         "here?"),
            std::string::npos)
      << message;
}

TEST(CsvReader, ReadsRealFilesWithMultiLineFields) {
  MEDSAFE_REQUIRE_SHARED_DATA(data);
  // 300 responses, 258 of them spanning several lines; 12 columns each.
  const std::string text = read_text_file(data / "jailbreakbench/judge_comparison.csv");
  const auto records = read_csv(text, "judge_comparison.csv");
  ASSERT_EQ(records.size(), 301U);
  for (const CsvRecord& record : records) ASSERT_EQ(record.fields.size(), 12U) << record.line;
  EXPECT_EQ(records[0].fields[3], "target_response");
  EXPECT_EQ(records[1].fields[0], "0");
  EXPECT_EQ(records[300].fields[0], "299");
  // gptfuzz: 1,540 labelled responses, 783 of them multi-line.
  const auto gptfuzz = read_csv(read_text_file(data / "gptfuzz/evaluate.csv"), "evaluate.csv");
  EXPECT_EQ(gptfuzz.size(), 1541U);
}

TEST(TextFile, MissingFileIsADataErrorWithTheHint) {
  try {
    (void)read_text_file("/nonexistent/medsafe/file.csv", "download it from X");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::data);
    EXPECT_STREQ(e.what(),
                 "/nonexistent/medsafe/file.csv: error: cannot read the file: no such file; "
                 "download it from X");
  }
}

}  // namespace
}  // namespace medsafe::tabular
