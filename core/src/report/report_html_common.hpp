#pragma once
/// What the HTML pages medsafe writes (report.html, compare.html) share: escaping of hostile
/// text, the Content-Security-Policy that keeps a page offline and script-free except for its own
/// inline script, and the page shell with its style sheet.
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "report/metrics.hpp"

namespace medsafe {

/// Appends `text` as HTML character data or a quoted attribute value: & < > " ' become
/// character references, invalid UTF-8 and control characters other than TAB, LF and CR become
/// U+FFFD, and invisible format characters (bidirectional controls U+202A..U+202E and
/// U+2066..U+2069, U+200E/U+200F, U+061C, zero-width space, word joiners, U+FEFF, tag
/// characters) become a visible "⟦U+202E⟧" naming them, never themselves. The result can never
/// open a tag, end an attribute, start a reference or reorder the text around it.
void append_html_escaped(std::string& out, std::string_view text);

/// Appends `text` as append_html_escaped shows it, without the character references: invalid
/// UTF-8 and hidden controls become U+FFFD, invisible format characters "⟦U+202E⟧". For text a
/// page's script puts into the document with textContent (report.html's side files).
void append_visible_text(std::string& out, std::string_view text);

/// `text` escaped as by append_html_escaped.
[[nodiscard]] std::string html_escape(std::string_view text);

/// The SHA-256 digest of `bytes` (FIPS 180-4).
[[nodiscard]] std::array<std::uint8_t, 32> sha256(std::string_view bytes) noexcept;

/// `bytes` in standard Base64 with padding (RFC 4648 §4).
[[nodiscard]] std::string base64(std::span<const std::uint8_t> bytes);

/// The policy of a self-contained page: nothing may be fetched (no network, no other file),
/// forms, frames and plugins are off, and only the given inline style sheet and inline script
/// (identified by their SHA-256) may apply or run; images only as data: URLs. An event handler
/// attribute or a <script> that is not byte-identical to `script` is blocked by the browser.
/// With `own_scripts`, script files of the page's own origin may run too (for a page opened from
/// disk in Chromium: files, which report.html's side files are; its script adds them itself).
[[nodiscard]] std::string content_security_policy(std::string_view style, std::string_view script,
                                                  bool own_scripts = false);

/// A whole HTML page.
struct HtmlPage {
  std::string title;         ///< plain text; escaped when written
  std::string style;         ///< extra CSS appended to the shared style sheet
  std::string body;          ///< HTML, already escaped by its builder
  std::string script;        ///< the page's one inline script ("" = none)
  bool own_scripts = false;  ///< the script loads script files next to the page (side files)
};

/// The document: doctype, UTF-8, the content security policy first in <head>, the title, the
/// shared style sheet with `page.style`, the body, then the script at the end of the body.
[[nodiscard]] std::string render_page(const HtmlPage& page);

/// A mean score and its interval as HTML: "2.31 <span class="iv">[2.10, 2.52]</span>"; "–" when
/// there is no value.
[[nodiscard]] std::string html_mean(const Estimate& estimate, int decimals = 2);

/// A share as a percentage and its interval as HTML: "12.0% <span class="iv">[8.1, 16.3]</span>".
[[nodiscard]] std::string html_percent(const Estimate& estimate);

/// The color of the i-th model (or other series): the Okabe–Ito palette, distinguishable with
/// the common color-vision deficiencies, repeating after eight.
[[nodiscard]] std::string_view series_color(std::size_t index) noexcept;

/// The color of a harmfulness score 1..5, from green (refuses) to red (fully complies).
[[nodiscard]] std::string_view score_color(int score) noexcept;

}  // namespace medsafe
