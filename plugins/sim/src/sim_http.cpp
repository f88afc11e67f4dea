#include "sim_http.hpp"

#include <charconv>
#include <cstdio>

namespace medsafe::sim {
namespace {

constexpr std::size_t kMaxRequestIdBytes = 200;

bool icontains_token(std::string_view list, std::string_view token) noexcept {
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    if (iequals(trim(list.substr(0, comma), " \t"), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

HeadResult bad_head(int status, std::string_view why) {
  HeadResult r;
  r.status = HeadStatus::bad;
  r.error_status = status;
  r.error = why;
  return r;
}

}  // namespace

void append_int(std::string& out, std::int64_t value) {
  char buf[24];
  const auto result = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, result.ptr);
}

std::string_view reason_phrase(int status) noexcept {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Content Too Large";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    case 501:
      return "Not Implemented";
    default:
      return "Error";
  }
}

HeadResult parse_head(std::string_view buffer) {
  const std::size_t end = buffer.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (buffer.size() > kMaxHeaderBytes) return bad_head(431, "the request head is too large");
    return {};
  }
  HeadResult result;
  RequestHead& head = result.head;
  head.header_bytes = end + 4;
  std::string_view rest = buffer.substr(0, end + 2);
  const std::size_t line_end = rest.find("\r\n");
  const std::string_view line = rest.substr(0, line_end);
  rest.remove_prefix(line_end + 2);

  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return bad_head(400, "malformed request line");
  head.method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!version.starts_with("HTTP/1.")) return bad_head(400, "only HTTP/1.x is supported");
  head.keep_alive = version != "HTTP/1.0";
  head.path = target.substr(0, target.find('?'));

  bool has_length = false;
  while (!rest.empty()) {
    const std::size_t eol = rest.find("\r\n");
    const std::string_view header = rest.substr(0, eol);
    rest.remove_prefix(eol + 2);
    const std::size_t colon = header.find(':');
    if (colon == std::string_view::npos || colon == 0) return bad_head(400, "malformed header");
    const std::string_view name = header.substr(0, colon);
    const std::string_view value = trim(header.substr(colon + 1), " \t");
    if (iequals(name, "content-length")) {
      std::size_t length = 0;
      const auto parsed = std::from_chars(value.data(), value.data() + value.size(), length);
      if (parsed.ec != std::errc{} || parsed.ptr != value.data() + value.size() ||
          (has_length && length != head.content_length)) {
        return bad_head(400, "invalid Content-Length");
      }
      head.content_length = length;
      has_length = true;
    } else if (iequals(name, "transfer-encoding")) {
      return bad_head(501, "chunked request bodies are not supported; send Content-Length");
    } else if (iequals(name, "connection")) {
      if (icontains_token(value, "close")) head.keep_alive = false;
      if (icontains_token(value, "keep-alive")) head.keep_alive = true;
    } else if (iequals(name, "expect")) {
      head.expect_continue = iequals(value, "100-continue");
    } else if (iequals(name, "x-request-id")) {
      head.request_id = value.substr(0, kMaxRequestIdBytes);
    } else if (iequals(name, "authorization")) {
      head.authorization = value;
    } else if (iequals(name, "x-api-key")) {
      head.api_key = value;
    } else if (iequals(name, "anthropic-version")) {
      head.anthropic_version = value;
    }
  }
  if (head.content_length > kMaxBodyBytes) return bad_head(413, "the request body is too large");
  result.status = HeadStatus::complete;
  return result;
}

}  // namespace medsafe::sim
