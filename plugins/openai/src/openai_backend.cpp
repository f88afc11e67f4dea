#include "openai_backend.hpp"

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>

#include "medsafe/config.hpp"
#include "medsafe/error.hpp"
#include "medsafe/log.hpp"
#include "openai_response.hpp"

namespace medsafe::openai {
namespace {

std::string_view trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  const std::size_t begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  return text.substr(begin, text.find_last_not_of(kSpace) - begin + 1);
}

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

std::string read_api_key(const Config& config) {
  const std::optional<std::string> file = config.optional_string("api_key_file");
  const bool from_file = file && !file->empty();
  if (from_file && !config.string("api_key_env").empty()) {
    throw config.error("api_key_file", "and api_key_env are both set; keep one");
  }
  return from_file ? read_key_file(config) : read_key_env(config);
}

std::chrono::milliseconds read_timeout(const Config& config, std::string_view key) {
  const std::int64_t ms = config.integer(key);
  if (ms < 0) throw config.error(key, "must be 0 (no limit) or a positive number of milliseconds");
  return std::chrono::milliseconds(ms);
}

std::string read_base_url(const Config& config) {
  std::string url(trim(config.string("base_url")));
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    throw config.error("base_url", "must start with http:// or https://, got \"" + url + "\"");
  }
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

Headers read_extra_headers(const Config& config, bool has_key) {
  Headers headers;
  const toml::table* table = config.table("headers");
  if (table == nullptr) return headers;
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
    std::string lower = name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (has_key && lower == "authorization") {
      throw config.error("headers",
                         "sets Authorization, and api_key_env or api_key_file also "
                         "gives a key; keep one");
    }
    headers.emplace_back(name, value->get());
  }
  return headers;
}

BodySettings read_body_settings(const Config& config) {
  BodySettings body;
  body.model = config.string("model");
  if (trim(body.model).empty()) throw config.error("model", "must not be empty");
  body.stream = config.boolean("stream");
  body.include_usage = config.boolean("include_usage");
  body.temperature = config.number("temperature");
  if (body.temperature < 0) throw config.error("temperature", "must not be negative");
  body.max_tokens = config.integer("max_tokens");
  if (body.max_tokens < 0) throw config.error("max_tokens", "must be 0 (leave out) or positive");
  body.top_p = config.optional_number("top_p");
  if (body.top_p && (*body.top_p <= 0 || *body.top_p > 1)) {
    throw config.error("top_p", "must be in (0, 1]");
  }
  body.system_prompt = config.string("system_prompt");
  if (const toml::table* extra = config.table("extra_body")) {
    body.extra_body = nlohmann::json::parse(toml_to_json(*extra));
  }
  return body;
}

// Request ids come from data sets: keep them from breaking (or injecting) header lines.
std::string header_safe(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = '_';
  }
  return out;
}

// One exchange in flight: feeds the transport's reports to the assembler, then answers.
class Exchange final : public HttpExchange {
 public:
  Exchange(const std::string& secret, TimePoint intended_send, ResponseCallback done)
      : assembler_(secret, intended_send), done_(std::move(done)) {}

  void on_event(const SseEvent& event) override { assembler_.on_event(event); }

  void on_complete(HttpResult&& result) override { done_(assembler_.finish(std::move(result))); }

 private:
  ResponseAssembler assembler_;
  ResponseCallback done_;
};

}  // namespace

Endpoint read_endpoint(const Config& config) {
  Endpoint endpoint;
  endpoint.url = read_base_url(config) + "/chat/completions";
  endpoint.body = read_body_settings(config);
  endpoint.api_key = read_api_key(config);
  endpoint.headers = {{"Content-Type", "application/json"},
                      {"Accept", endpoint.body.stream ? "text/event-stream" : "application/json"}};
  if (!endpoint.api_key.empty()) {
    endpoint.headers.emplace_back("Authorization", "Bearer " + endpoint.api_key);
  }
  for (auto& header : read_extra_headers(config, !endpoint.api_key.empty())) {
    endpoint.headers.push_back(std::move(header));
  }
  endpoint.timeouts.connect = read_timeout(config, "connect_timeout_ms");
  endpoint.timeouts.first_byte = read_timeout(config, "first_byte_timeout_ms");
  endpoint.timeouts.idle = read_timeout(config, "idle_timeout_ms");
  endpoint.timeouts.total = read_timeout(config, "total_timeout_ms");
  endpoint.verify_tls = config.boolean("verify_tls");
  if (const std::optional<std::string> ca = config.optional_string("ca_bundle");
      ca && !ca->empty()) {
    const std::filesystem::path file = config.path("ca_bundle");
    if (!std::filesystem::is_regular_file(file)) {
      throw config.error("ca_bundle", "the file " + file.string() + " does not exist");
    }
    endpoint.ca_bundle = file.string();
  }
  return endpoint;
}

OpenAiBackend::OpenAiBackend(const ComponentContext& context)
    : http_(context.http),
      endpoint_(std::make_shared<const Endpoint>(read_endpoint(context.config))) {
  if (!endpoint_->api_key.empty()) context.log.add_secret(endpoint_->api_key);
  context.log.debug("openai/" + context.name,
                    "model " + endpoint_->body.model + " at " + endpoint_->url +
                        (endpoint_->body.stream ? ", streaming" : ", not streaming") +
                        (endpoint_->api_key.empty() ? ", no API key" : ", with an API key"));
}

OpenAiBackend::~OpenAiBackend() {
  // Requests in flight end now, so none calls back into a runner that outlives us by little.
  http_.cancel(this);
}

void OpenAiBackend::submit(Request request, ResponseCallback done) {
  HttpRequest http;
  try {
    http.url = endpoint_->url;
    http.headers = endpoint_->headers;
    http.headers.emplace_back("X-Request-Id", header_safe(request.id));
    http.body = build_request_body(request, endpoint_->body);
    http.timeouts = endpoint_->timeouts;
    http.verify_tls = endpoint_->verify_tls;
    http.ca_bundle = endpoint_->ca_bundle;
    http.intended_send = request.intended_send;
    http.owner = this;
  } catch (const std::exception& error) {
    Response response;
    response.outcome = Outcome::backend_error;
    response.error =
        redact(std::string("cannot build the request: ") + error.what(), {endpoint_->api_key});
    done(std::move(response));
    return;
  }
  http_.start(std::move(http), std::make_shared<Exchange>(endpoint_->api_key, request.intended_send,
                                                          std::move(done)));
}

void OpenAiBackend::cancel_all() { http_.cancel(this); }

}  // namespace medsafe::openai
