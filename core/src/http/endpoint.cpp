#include "medsafe/http/endpoint.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <utility>

#include <toml++/toml.h>

#include "medsafe/error.hpp"
#include "medsafe/text.hpp"

namespace medsafe::http_backend {
namespace {

// RFC 9110 token characters: what a header name may hold.
bool is_header_name(std::string_view name) {
  if (name.empty()) return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

bool has_control_characters(std::string_view text) {
  for (const char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 && c != '\t') return true;
  }
  return false;
}

std::string read_key_env(const Config& config) {
  const std::string name = config.string("api_key_env");
  if (name.empty()) return {};
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) {
    throw config.error("api_key_env", "names the environment variable " + name +
                                          ", which is not set (export it, or set api_key_env "
                                          "= \"\" to send no key)");
  }
  std::string key(trim(value));
  if (key.empty()) {
    throw config.error("api_key_env",
                       "names the environment variable " + name + ", which is empty");
  }
  return key;
}

std::string read_key_file(const Config& config) {
  const std::filesystem::path file = config.path("api_key_file");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw config.error("api_key_file", "cannot read the file " + file.string());
  std::ostringstream text;
  text << in.rdbuf();
  std::string key(trim(text.str()));
  if (key.empty()) throw config.error("api_key_file", "the file " + file.string() + " is empty");
  if (has_control_characters(key)) {
    throw config.error("api_key_file", "the file " + file.string() +
                                           " holds more than one line; it must hold only the key");
  }
  return key;
}

std::chrono::milliseconds read_timeout(const Config& config, std::string_view key) {
  const std::int64_t ms = config.integer(key);
  if (ms < 0) throw config.error(key, "must be 0 (no limit) or a positive number of milliseconds");
  return std::chrono::milliseconds(ms);
}

// <base_url><path>, with the path put before a query or fragment of base_url: an API that
// takes its key or version in the URL ("...?key=${KEY}") keeps it at the end.
std::string read_url(const Config& config, std::string_view path) {
  std::string url(trim(config.string("base_url")));
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    throw config.error("base_url", "must start with http:// or https://, got \"" + url + "\"");
  }
  return url_with_path(std::move(url), path);
}

Headers read_extra_headers(const Config& config, const Credential& credential, bool has_key) {
  Headers headers;
  const toml::table* table = config.table("headers");
  if (table == nullptr) return headers;
  const std::string credential_name = ascii_lower(credential.header);
  for (const auto& [name_key, node] : *table) {
    const std::string name(name_key.str());
    const auto* value = node.as_string();
    if (value == nullptr) throw config.error("headers", "value of '" + name + "' must be a string");
    if (!is_header_name(name)) {
      throw config.error("headers", "'" + name + "' is not a valid HTTP header name");
    }
    if (has_control_characters(value->get())) {
      throw config.error("headers", "value of '" + name + "' contains control characters");
    }
    if (has_key && ascii_lower(name) == credential_name) {
      throw config.error("headers", "sets " + std::string(credential.header) +
                                        ", and api_key_env or api_key_file also gives a key; "
                                        "keep one");
    }
    headers.emplace_back(name, value->get());
  }
  return headers;
}

HttpTimeouts read_timeouts(const Config& config) {
  HttpTimeouts timeouts;
  timeouts.connect = read_timeout(config, "connect_timeout_ms");
  timeouts.first_byte = read_timeout(config, "first_byte_timeout_ms");
  timeouts.idle = read_timeout(config, "idle_timeout_ms");
  timeouts.total = read_timeout(config, "total_timeout_ms");
  return timeouts;
}

std::string read_ca_bundle(const Config& config) {
  const std::optional<std::string> ca = config.optional_string("ca_bundle");
  if (!ca || ca->empty()) return {};
  const std::filesystem::path file = config.path("ca_bundle");
  if (!std::filesystem::is_regular_file(file)) {
    throw config.error("ca_bundle", "the file " + file.string() + " does not exist");
  }
  return file.string();
}

}  // namespace

std::string url_with_path(std::string base, std::string_view path) {
  const std::size_t query = std::min(base.find_first_of("?#"), base.size());
  const std::string tail = base.substr(query);
  base.resize(query);
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + std::string(path) + tail;
}

std::string read_api_key(const Config& config) {
  const std::optional<std::string> file = config.optional_string("api_key_file");
  const bool from_file = file && !file->empty();
  if (from_file && !config.string("api_key_env").empty()) {
    throw config.error("api_key_file", "and api_key_env are both set; keep one");
  }
  return from_file ? read_key_file(config) : read_key_env(config);
}

Endpoint read_endpoint(const Config& config, std::string_view path, Headers fixed,
                       const Credential& credential) {
  Endpoint endpoint;
  endpoint.replicas = read_replicas(config, path);
  endpoint.url = endpoint.replicas.empty() ? read_url(config, path) : endpoint.replicas.front().url;
  endpoint.api_key = read_api_key(config);
  endpoint.headers = std::move(fixed);
  if (!endpoint.api_key.empty()) {
    endpoint.headers.emplace_back(std::string(credential.header),
                                  std::string(credential.prefix) + endpoint.api_key);
  }
  for (auto& header : read_extra_headers(config, credential, !endpoint.api_key.empty())) {
    endpoint.headers.push_back(std::move(header));
  }
  endpoint.timeouts = read_timeouts(config);
  endpoint.verify_tls = config.boolean("verify_tls");
  endpoint.ca_bundle = read_ca_bundle(config);
  return endpoint;
}

std::string read_model(const Config& config) {
  std::string model = config.string("model");
  if (trim(model).empty()) throw config.error("model", "must not be empty");
  return model;
}

std::optional<double> read_top_p(const Config& config) {
  const std::optional<double> top_p = config.optional_number("top_p");
  if (top_p && (*top_p <= 0 || *top_p > 1)) throw config.error("top_p", "must be in (0, 1]");
  return top_p;
}

nlohmann::json read_extra_body(const Config& config) {
  const toml::table* extra = config.table("extra_body");
  return extra == nullptr ? nlohmann::json::object() : nlohmann::json::parse(toml_to_json(*extra));
}

std::string header_safe(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = '_';
  }
  return out;
}

HttpRequest make_http_request(const Endpoint& endpoint, const Request& request, std::string body,
                              const void* owner) {
  HttpRequest http;
  http.url = endpoint.url;
  http.headers.reserve(endpoint.headers.size() + 1);
  http.headers = endpoint.headers;
  http.headers.emplace_back("X-Request-Id", header_safe(request.id));
  http.body = std::move(body);
  http.timeouts = endpoint.timeouts;
  http.verify_tls = endpoint.verify_tls;
  http.ca_bundle = endpoint.ca_bundle;
  http.intended_send = request.intended_send;
  http.owner = owner;
  // Room for the answer's JSON, not for a whole 50 MB one: a body or stream event past it is
  // cut by the transport and the answer read from its beginning.
  http.max_body_bytes = wire_bytes_for(request.max_response_bytes);
  return http;
}

}  // namespace medsafe::http_backend
