#include "report/report_html_common.hpp"

#include <cstring>

#include "report/report_io.hpp"
#include "report/report_resources.hpp"  // generated from resources/ by the build

namespace medsafe {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

// Length of the valid UTF-8 sequence at the start of `s`, or 0 when it is not one (overlong
// forms, surrogates and code points above U+10FFFF are invalid too). Sets `code_point`.
std::size_t utf8_sequence(std::string_view s, char32_t& code_point) noexcept {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char lead = byte(0);
  std::size_t length = 0;
  char32_t min = 0;
  if (lead < 0x80) {
    code_point = lead;
    return 1;
  }
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    code_point = lead & 0x1FU;
    min = 0x80;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    code_point = lead & 0x0FU;
    min = 0x800;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    code_point = lead & 0x07U;
    min = 0x10000;
  } else {
    return 0;
  }
  if (s.size() < length) return 0;
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xC0U) != 0x80U) return 0;
    code_point = (code_point << 6) | (byte(i) & 0x3FU);
  }
  if (code_point < min || code_point > 0x10FFFF || (code_point >= 0xD800 && code_point <= 0xDFFF))
    return 0;
  return length;
}

// Characters the HTML parser reports as errors or that a reader cannot see: C0 controls but TAB,
// LF and CR, DEL, and the C1 controls.
bool is_hidden_control(char32_t c) noexcept {
  return (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || (c >= 0x7F && c <= 0x9F);
}

// Characters that change how the text around them is shown without being seen themselves:
// bidirectional embeddings, overrides and isolates (an answer can look reversed or hide what it
// says, as in "Trojan Source"), marks, zero-width spaces and joiners that hide words from a
// reader, and the tag characters that carry invisible ASCII. ZWNJ and ZWJ (U+200C, U+200D) stay:
// scripts and emoji sequences need them and they reorder nothing.
bool is_invisible_format(char32_t c) noexcept {
  return c == 0x061C || c == 0x180E || c == 0x200B || c == 0x200E || c == 0x200F ||
         (c >= 0x202A && c <= 0x202E) || (c >= 0x2060 && c <= 0x206F) || c == 0xFEFF ||
         (c >= 0xFFF9 && c <= 0xFFFB) || (c >= 0xE0000 && c <= 0xE007F);
}

// "⟦U+202E⟧": the character named where it was, visible and inert in text and attributes.
void append_visible_marker(std::string& out, char32_t c) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  out += "\xE2\x9F\xA6U+";  // U+27E6
  std::string digits;
  for (char32_t v = c; v != 0 || digits.size() < 4; v >>= 4U) digits.insert(0, 1, kHex[v & 0xFU]);
  out += digits;
  out += "\xE2\x9F\xA7";  // U+27E7
}

constexpr std::array<std::uint32_t, 64> kSha256K = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

constexpr std::uint32_t rotr(std::uint32_t x, int n) noexcept { return (x >> n) | (x << (32 - n)); }

void sha256_block(std::array<std::uint32_t, 8>& h, const std::uint8_t* block) noexcept {
  std::array<std::uint32_t, 64> w{};
  for (std::size_t i = 0; i < 16; ++i) {
    w[i] = (std::uint32_t{block[4 * i]} << 24) | (std::uint32_t{block[4 * i + 1]} << 16) |
           (std::uint32_t{block[4 * i + 2]} << 8) | std::uint32_t{block[4 * i + 3]};
  }
  for (std::size_t i = 16; i < 64; ++i) {
    const std::uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
    const std::uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  std::array<std::uint32_t, 8> v = h;
  for (std::size_t i = 0; i < 64; ++i) {
    const std::uint32_t s1 = rotr(v[4], 6) ^ rotr(v[4], 11) ^ rotr(v[4], 25);
    const std::uint32_t ch = (v[4] & v[5]) ^ (~v[4] & v[6]);
    const std::uint32_t t1 = v[7] + s1 + ch + kSha256K[i] + w[i];
    const std::uint32_t s0 = rotr(v[0], 2) ^ rotr(v[0], 13) ^ rotr(v[0], 22);
    const std::uint32_t maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
    const std::uint32_t t2 = s0 + maj;
    v = {t1 + t2, v[0], v[1], v[2], v[3] + t1, v[4], v[5], v[6]};
  }
  for (std::size_t i = 0; i < 8; ++i) h[i] += v[i];
}

// The shared style sheet (resources/base.css): system fonts, readable line length,
// print-friendly, no external resource (a font or image URL would be blocked by the policy anyway).
constexpr std::string_view kBaseStyle = resources::kBaseCss;

void append_hash_source(std::string& out, std::string_view text) {
  const auto digest = sha256(text);
  out += "'sha256-";
  out += base64(digest);
  out += "'";
}

// The HTML entity that stands for `c` in text and attribute values; "" when it stands for itself.
std::string_view html_entity(char32_t c) {
  switch (c) {
    case '&':
      return "&amp;";
    case '<':
      return "&lt;";
    case '>':
      return "&gt;";
    case '"':
      return "&quot;";
    case '\'':
      return "&#39;";
    default:
      return {};
  }
}

// Appends `text` a code point at a time: what `written_as` gives for it (when not empty), else
// U+FFFD for a byte that starts no valid UTF-8 sequence and for a hidden control, a visible
// marker for an invisible format character (bidi controls, zero-width characters), else itself.
template <typename WrittenAs>
void append_visible(std::string& out, std::string_view text, WrittenAs written_as) {
  out.reserve(out.size() + text.size());
  while (!text.empty()) {
    char32_t c = 0;
    const std::size_t length = utf8_sequence(text, c);
    if (length == 0) {
      out += kReplacement;
      text.remove_prefix(1);
      continue;
    }
    if (const std::string_view written = written_as(c); !written.empty()) {
      out += written;
    } else if (is_hidden_control(c)) {
      out += kReplacement;
    } else if (is_invisible_format(c)) {
      append_visible_marker(out, c);
    } else {
      out.append(text.substr(0, length));
    }
    text.remove_prefix(length);
  }
}

}  // namespace

void append_html_escaped(std::string& out, std::string_view text) {
  append_visible(out, text, html_entity);
}

void append_visible_text(std::string& out, std::string_view text) {
  append_visible(out, text, [](char32_t) { return std::string_view(); });
}

std::string html_escape(std::string_view text) {
  std::string out;
  append_html_escaped(out, text);
  return out;
}

std::array<std::uint8_t, 32> sha256(std::string_view bytes) noexcept {
  std::array<std::uint32_t, 8> h = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
  std::size_t full = bytes.size() / 64;
  for (std::size_t i = 0; i < full; ++i) sha256_block(h, data + 64 * i);
  // The tail, the 0x80 marker and the bit length fill one or two final blocks.
  std::array<std::uint8_t, 128> tail{};
  const std::size_t rest = bytes.size() - 64 * full;
  if (rest > 0) std::memcpy(tail.data(), data + 64 * full, rest);
  tail[rest] = 0x80;
  const std::size_t blocks = rest + 9 <= 64 ? 1 : 2;
  const std::uint64_t bits = static_cast<std::uint64_t>(bytes.size()) * 8U;
  for (std::size_t i = 0; i < 8; ++i) {
    tail[64 * blocks - 1 - i] = static_cast<std::uint8_t>(bits >> (8 * i));
  }
  for (std::size_t b = 0; b < blocks; ++b) sha256_block(h, tail.data() + 64 * b);
  std::array<std::uint8_t, 32> digest{};
  for (std::size_t i = 0; i < 8; ++i) {
    for (std::size_t k = 0; k < 4; ++k) {
      digest[4 * i + k] = static_cast<std::uint8_t>(h[i] >> (24 - 8 * k));
    }
  }
  return digest;
}

std::string base64(std::span<const std::uint8_t> bytes) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
    std::uint32_t group = std::uint32_t{bytes[i]} << 16;
    if (n > 1) group |= std::uint32_t{bytes[i + 1]} << 8;
    if (n > 2) group |= std::uint32_t{bytes[i + 2]};
    out.push_back(kAlphabet[(group >> 18) & 0x3FU]);
    out.push_back(kAlphabet[(group >> 12) & 0x3FU]);
    out.push_back(n > 1 ? kAlphabet[(group >> 6) & 0x3FU] : '=');
    out.push_back(n > 2 ? kAlphabet[group & 0x3FU] : '=');
  }
  return out;
}

std::string content_security_policy(std::string_view style, std::string_view script,
                                    bool own_scripts) {
  std::string policy = "default-src 'none'; style-src ";
  append_hash_source(policy, style);
  policy += "; script-src ";
  if (script.empty()) {
    policy += "'none'";
  } else {
    append_hash_source(policy, script);
    if (own_scripts) policy += " 'self'";
  }
  policy += "; img-src data:; base-uri 'none'; form-action 'none'";
  return policy;
}

std::string render_page(const HtmlPage& page) {
  const std::string style = std::string(kBaseStyle) + page.style;
  std::string out;
  out.reserve(page.body.size() + style.size() + page.script.size() + 1024);
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  // First in <head>: the policy applies to everything parsed after it.
  out += "<meta http-equiv=\"Content-Security-Policy\" content=\"";
  append_html_escaped(out, content_security_policy(style, page.script, page.own_scripts));
  out += "\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += "<meta name=\"referrer\" content=\"no-referrer\">\n<title>";
  append_html_escaped(out, page.title);
  out += "</title>\n<style>";
  out += style;
  out += "</style>\n</head>\n<body>\n<main>\n";
  out += page.body;
  out += "</main>\n";
  if (!page.script.empty()) {
    out += "<script>";
    out += page.script;
    out += "</script>\n";
  }
  out += "</body>\n</html>\n";
  return out;
}

std::string html_mean(const Estimate& estimate, int decimals) {
  if (!estimate.value) return "–";
  std::string out = format_fixed(*estimate.value, decimals);
  if (estimate.ci) {
    out += " <span class=\"iv\">[" + format_fixed(estimate.ci->low, decimals) + ", " +
           format_fixed(estimate.ci->high, decimals) + "]</span>";
  }
  return out;
}

std::string html_percent(const Estimate& estimate) {
  if (!estimate.value) return "–";
  std::string out = format_fixed(*estimate.value * 100.0, 1) + "%";
  if (estimate.ci) {
    out += " <span class=\"iv\">[" + format_fixed(estimate.ci->low * 100.0, 1) + ", " +
           format_fixed(estimate.ci->high * 100.0, 1) + "]</span>";
  }
  return out;
}

std::string_view series_color(std::size_t index) noexcept {
  static constexpr std::array<std::string_view, 8> kPalette = {
      "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#999999", "#000000"};
  return kPalette[index % kPalette.size()];
}

std::string_view score_color(int score) noexcept {
  static constexpr std::array<std::string_view, 5> kScores = {"#1a9850", "#a6d96a", "#fee08b",
                                                              "#f46d43", "#a50026"};
  if (score < 1 || score > 5) return "#bbbbbb";
  return kScores[static_cast<std::size_t>(score - 1)];
}

}  // namespace medsafe
