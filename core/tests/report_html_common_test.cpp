#include "report/report_html_common.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include "resource_file.hpp"

namespace medsafe {
namespace {

std::string hex(const std::array<std::uint8_t, 32>& digest) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (const auto b : digest) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xF]);
  }
  return out;
}

TEST(HtmlEscape, EscapesEveryCharacterThatCanStartMarkup) {
  EXPECT_EQ(html_escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
  EXPECT_EQ(html_escape("</svg><img src=x onerror=alert(1)>"),
            "&lt;/svg&gt;&lt;img src=x onerror=alert(1)&gt;");
  EXPECT_EQ(html_escape("&lt;"), "&amp;lt;");  // an entity in the data stays literal text
}

TEST(HtmlEscape, KeepsValidUtf8AndLayoutWhitespace) {
  EXPECT_EQ(html_escape("Ärztin – 医生 🩺\tline\nnext\r"),
            "Ärztin – 医生 🩺\tline\nnext\r");
}

TEST(HtmlEscape, ReplacesInvalidUtf8AndHiddenControls) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(html_escape(std::string("a\0b", 3)), "a" + fffd + "b");
  EXPECT_EQ(html_escape("\x1B[31m"), fffd + "[31m");
  EXPECT_EQ(html_escape("x\x7Fy"), "x" + fffd + "y");
  EXPECT_EQ(html_escape("\xC2\x85"), fffd);                    // C1 control NEL
  EXPECT_EQ(html_escape("\xC0\xBC"), fffd + fffd);             // overlong '<' never becomes '<'
  EXPECT_EQ(html_escape("\xED\xA0\x80"), fffd + fffd + fffd);  // a UTF-16 surrogate
  EXPECT_EQ(html_escape("\xE2\x82"), fffd + fffd);             // truncated sequence
  EXPECT_EQ(html_escape("\xF4\x90\x80\x80"), fffd + fffd + fffd + fffd);  // above U+10FFFF
}

TEST(Sha256, MatchesTheFips180Examples) {
  EXPECT_EQ(hex(sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex(sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // 56 bytes: the length no longer fits the first padding block.
  EXPECT_EQ(hex(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(hex(sha256(std::string(1'000'000, 'a'))),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Base64, MatchesRfc4648) {
  const auto encode = [](std::string_view text) {
    return base64({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
  };
  EXPECT_EQ(encode(""), "");
  EXPECT_EQ(encode("f"), "Zg==");
  EXPECT_EQ(encode("fo"), "Zm8=");
  EXPECT_EQ(encode("foo"), "Zm9v");
  EXPECT_EQ(encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(encode("\xFF\xFE"), "//4=");
}

TEST(ContentSecurityPolicy, AllowsOnlyTheGivenInlineStyleAndScript) {
  const std::string policy = content_security_policy("body{}", "run()");
  EXPECT_TRUE(policy.starts_with("default-src 'none'; ")) << policy;
  EXPECT_NE(policy.find("style-src 'sha256-" + base64(sha256("body{}")) + "'"), std::string::npos);
  EXPECT_NE(policy.find("script-src 'sha256-" + base64(sha256("run()")) + "'"), std::string::npos);
  EXPECT_EQ(policy.find("unsafe"), std::string::npos) << policy;
  EXPECT_NE(policy.find("img-src data:"), std::string::npos);
  EXPECT_NE(content_security_policy("", "").find("script-src 'none'"), std::string::npos);
}

TEST(RenderPage, PutsThePolicyFirstAndEscapesTheTitle) {
  const std::string page = render_page({"<b>run</b>", "p{}", "<p>body</p>", "go()"});
  const auto policy = page.find("Content-Security-Policy");
  ASSERT_NE(policy, std::string::npos);
  EXPECT_LT(policy, page.find("<title>"));
  EXPECT_NE(page.find("<title>&lt;b&gt;run&lt;/b&gt;</title>"), std::string::npos);
  EXPECT_NE(page.find("<p>body</p>"), std::string::npos);
  EXPECT_NE(page.find("<script>go()</script>"), std::string::npos);
  // The hashed style is exactly what the <style> element holds.
  const auto open = page.find("<style>") + 7;
  const std::string style = page.substr(open, page.find("</style>") - open);
  EXPECT_NE(page.find(base64(sha256(style))), std::string::npos);
  EXPECT_TRUE(style.ends_with("p{}"));
  EXPECT_EQ(render_page({"t", "", "", ""}).find("<script"), std::string::npos);
}

using test_data::resource_file;

// Every page's style begins with resources/base.css byte for byte (cmake/embed_resources.cmake):
// its first empty line and final newline included; the page's own rules follow.
TEST(RenderPage, StyleIsTheBaseResourceFileThenThePagesOwn) {
  const std::string base_css = resource_file("base.css");
  ASSERT_GT(base_css.size(), 1000U);
  EXPECT_TRUE(base_css.starts_with("\n:root { color-scheme: light;"));
  EXPECT_TRUE(base_css.ends_with("}\n"));
  const std::string page = render_page({"t", "p{}", "<p>body</p>", ""});
  EXPECT_NE(page.find("<style>" + base_css + "p{}</style>\n"), std::string::npos);
}

TEST(HtmlNumbers, ShowIntervalsBesideValues) {
  EXPECT_EQ(html_mean({2.5, Interval{2.0, 3.0}}), "2.50 <span class=\"iv\">[2.00, 3.00]</span>");
  EXPECT_EQ(html_percent({0.25, Interval{0.1, 0.4}}),
            "25.0% <span class=\"iv\">[10.0, 40.0]</span>");
  EXPECT_EQ(html_mean({}), "–");
  EXPECT_EQ(html_percent({0.5, std::nullopt}), "50.0%");
}

}  // namespace
}  // namespace medsafe
