#include "anthropic_backend.hpp"

#include <utility>

#include "anthropic_response.hpp"
#include "medsafe/config.hpp"
#include "medsafe/log.hpp"

namespace medsafe::anthropic {
namespace {

BodySettings read_body_settings(const Config& config) {
  BodySettings body;
  body.model = http_backend::read_model(config);
  body.stream = config.boolean("stream");
  body.temperature = config.number("temperature");
  if (body.temperature < 0 || body.temperature > 1) {
    throw config.error("temperature", "must be between 0 and 1");
  }
  body.max_tokens = config.integer("max_tokens");
  if (body.max_tokens < 1) {
    throw config.error("max_tokens", "must be at least 1 (the Messages API requires it)");
  }
  body.top_p = http_backend::read_top_p(config);
  body.system_prompt = config.string("system_prompt");
  body.extra_body = http_backend::read_extra_body(config);
  return body;
}

std::string read_version(const Config& config) {
  std::string version = config.string("anthropic_version");
  const bool printable = version.find_first_of("\r\n") == std::string::npos;
  if (version.find_first_not_of(" \t") == std::string::npos || !printable) {
    throw config.error("anthropic_version", "must be a version such as \"2023-06-01\"");
  }
  return version;
}

}  // namespace

Settings read_settings(const Config& config) {
  Settings settings;
  settings.body = read_body_settings(config);
  settings.endpoint = http_backend::read_endpoint(
      config, "/messages",
      {{"Content-Type", "application/json"},
       {"Accept", settings.body.stream ? "text/event-stream" : "application/json"},
       {"anthropic-version", read_version(config)}},
      {"x-api-key", ""});
  return settings;
}

AnthropicBackend::AnthropicBackend(const ComponentContext& context)
    : AnthropicBackend(context, read_settings(context.config)) {
  context.log.debug("anthropic/" + context.name,
                    "model " + body_.model + " at " + endpoint().url +
                        (body_.stream ? ", streaming" : ", not streaming") +
                        (endpoint().api_key.empty() ? ", no API key" : ", with an API key"));
}

AnthropicBackend::AnthropicBackend(const ComponentContext& context, Settings settings)
    : HttpBackend(context, std::move(settings.endpoint)), body_(std::move(settings.body)) {}

std::string AnthropicBackend::build_body(const Request& request) const {
  return build_request_body(request, body_);
}

std::shared_ptr<HttpExchange> AnthropicBackend::make_exchange(const Request& request,
                                                              ResponseCallback done) const {
  return std::make_shared<http_backend::AssemblingExchange<ResponseAssembler>>(
      ResponseAssembler(endpoint().api_key, request.intended_send, request.max_response_bytes),
      std::move(done));
}

}  // namespace medsafe::anthropic
