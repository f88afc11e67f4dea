// Invisible format characters in model output and prompts — bidirectional overrides, isolates
// and marks ("Trojan Source"), zero-width spaces, tag characters — never reach report.html raw:
// each is shown as a visible marker naming it, so an answer cannot look reversed or hide words.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "report/metrics.hpp"
#include "report/report_html.hpp"
#include "report/report_html_common.hpp"
#include "report_test_data.hpp"

namespace medsafe {
namespace {

// The UTF-8 of every character the reports must never write raw.
const std::vector<std::pair<std::string, std::string>>& invisible() {
  static const std::vector<std::pair<std::string, std::string>> all = {
      {"\xE2\x80\xAA", "202A"},      {"\xE2\x80\xAB", "202B"},     {"\xE2\x80\xAC", "202C"},
      {"\xE2\x80\xAD", "202D"},      {"\xE2\x80\xAE", "202E"},     {"\xE2\x81\xA6", "2066"},
      {"\xE2\x81\xA7", "2067"},      {"\xE2\x81\xA8", "2068"},     {"\xE2\x81\xA9", "2069"},
      {"\xE2\x80\x8E", "200E"},      {"\xE2\x80\x8F", "200F"},     {"\xD8\x9C", "061C"},
      {"\xE2\x80\x8B", "200B"},      {"\xE2\x81\xA0", "2060"},     {"\xEF\xBB\xBF", "FEFF"},
      {"\xF3\xA0\x80\x81", "E0001"}, {"\xF3\xA0\x81\x81", "E0041"}};
  return all;
}

std::string marker(std::string_view hex) {
  return "\xE2\x9F\xA6U+" + std::string(hex) + "\xE2\x9F\xA7";
}

TEST(HtmlEscape, ShowsEveryInvisibleFormatCharacterAsAMarkerNamingIt) {
  for (const auto& [utf8, hex] : invisible()) {
    SCOPED_TRACE("U+" + hex);
    const std::string escaped = html_escape("safe" + utf8 + "text");
    EXPECT_EQ(escaped, "safe" + marker(hex) + "text");
    EXPECT_EQ(escaped.find(utf8), std::string::npos);
  }
  // What scripts and emoji need stays as it is: ZWNJ, ZWJ, right-to-left letters.
  EXPECT_EQ(html_escape("\xE2\x80\x8C\xE2\x80\x8D \xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D"),
            "\xE2\x80\x8C\xE2\x80\x8D \xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D");
}

TEST(ReportHtml, AnswersPromptsAndNamesNeverCarryBidiControlsRaw) {
  RunData d = test_data::small_run();
  // "Trojan Source": an override that makes "evil" read as "live", an isolate around a prompt.
  d.responses[0].text =
      "dose: \xE2\x80\xAE"
      "evil\xE2\x80\xAC mg";
  d.items[0].prompt = "\xE2\x81\xA7hidden\xE2\x81\xA9 request\xF3\xA0\x81\x81";
  d.info.models[1].name = "judge\xE2\x80\x8F";
  const std::string html = report_html(d, compute_metrics(d));
  for (const auto& [utf8, hex] : invisible()) {
    EXPECT_EQ(html.find(utf8), std::string::npos) << "U+" << hex << " written raw";
  }
  EXPECT_NE(html.find("dose: " + marker("202E") + "evil" + marker("202C") + " mg"),
            std::string::npos);
  EXPECT_NE(html.find(marker("2067") + "hidden" + marker("2069") + " request" + marker("E0041")),
            std::string::npos);
  EXPECT_NE(html.find("judge" + marker("200F")), std::string::npos);
}

}  // namespace
}  // namespace medsafe
