#include "openai_backend.hpp"

#include <utility>

#include "medsafe/config.hpp"
#include "medsafe/log.hpp"
#include "openai_response.hpp"

namespace medsafe::openai {
namespace {

BodySettings read_body_settings(const Config& config) {
  BodySettings body;
  body.model = http_backend::read_model(config);
  body.stream = config.boolean("stream");
  body.include_usage = config.boolean("include_usage");
  body.temperature = config.number("temperature");
  if (body.temperature < 0) throw config.error("temperature", "must not be negative");
  body.max_tokens = config.integer("max_tokens");
  if (body.max_tokens < 0) throw config.error("max_tokens", "must be 0 (leave out) or positive");
  body.top_p = http_backend::read_top_p(config);
  body.system_prompt = config.string("system_prompt");
  body.extra_body = http_backend::read_extra_body(config);
  return body;
}

}  // namespace

Settings read_settings(const Config& config) {
  Settings settings;
  settings.body = read_body_settings(config);
  settings.endpoint = http_backend::read_endpoint(
      config, "/chat/completions",
      {{"Content-Type", "application/json"},
       {"Accept", settings.body.stream ? "text/event-stream" : "application/json"}},
      {"Authorization", "Bearer "});
  return settings;
}

OpenAiBackend::OpenAiBackend(const ComponentContext& context)
    : OpenAiBackend(context, read_settings(context.config)) {
  context.log.debug("openai/" + context.name,
                    "model " + body_.model + " at " + endpoint().url +
                        (body_.stream ? ", streaming" : ", not streaming") +
                        (endpoint().api_key.empty() ? ", no API key" : ", with an API key"));
}

OpenAiBackend::OpenAiBackend(const ComponentContext& context, Settings settings)
    : HttpBackend(context, std::move(settings.endpoint)), body_(std::move(settings.body)) {}

std::string OpenAiBackend::build_body(const Request& request) const {
  return build_request_body(request, body_);
}

std::shared_ptr<HttpExchange> OpenAiBackend::make_exchange(const Request& request,
                                                           ResponseCallback done) const {
  return std::make_shared<http_backend::AssemblingExchange<ResponseAssembler>>(
      ResponseAssembler(endpoint().api_key, request.intended_send, request.max_response_bytes),
      std::move(done));
}

}  // namespace medsafe::openai
