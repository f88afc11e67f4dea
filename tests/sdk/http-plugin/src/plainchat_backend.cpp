#include "plainchat_backend.hpp"

#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "medsafe/http/endpoint.hpp"
#include "medsafe/http/transport.hpp"

namespace plainchat {
namespace {

using medsafe::http_backend::DecodeStatus;

/// The assembler AssemblingExchange feeds: a whole JSON body (no stream is asked for).
class Assembler final : public medsafe::http_backend::AssemblerBase {
 public:
  Assembler(std::string secret, medsafe::TimePoint intended_send, std::size_t max_bytes)
      : AssemblerBase(std::move(secret), intended_send, "[DONE]", max_bytes) {}
  void on_event(const medsafe::SseEvent& /*event*/) { ++events_; }

 private:
  DecodeStatus decode_body(const std::string& body, std::string& error) override {
    const auto json = nlohmann::json::parse(body, nullptr, false);
    const auto* content = json.is_object() && json.contains("choices") &&
                                  json["choices"].is_array() && !json["choices"].empty()
                              ? &json["choices"][0]["message"]["content"]
                              : nullptr;
    if (content == nullptr || !content->is_string()) {
      error = "no choices[0].message.content in the body";
      return DecodeStatus::malformed;
    }
    set_text(content->get<std::string>());
    return DecodeStatus::ok;
  }
  [[nodiscard]] std::vector<std::string_view> text_path(
      bool /*stream*/, std::string_view /*event_type*/) const override {
    return {"choices", "0", "message", "content"};
  }
};

}  // namespace

PlainChatBackend::PlainChatBackend(const medsafe::ComponentContext& context)
    : HttpBackend(context,
                  medsafe::http_backend::read_endpoint(context.config, "/chat/completions",
                                                       {{"Content-Type", "application/json"}},
                                                       {"Authorization", "Bearer "})),
      model_(medsafe::http_backend::read_model(context.config)) {}

std::string PlainChatBackend::build_body(const medsafe::Request& request) const {
  nlohmann::json messages = nlohmann::json::array();
  for (const auto& message : request.messages) {
    messages.push_back({{"role", message.role}, {"content", message.content}});
  }
  return nlohmann::json{{"model", model_}, {"messages", messages}, {"stream", false}}.dump();
}

std::shared_ptr<medsafe::HttpExchange> PlainChatBackend::make_exchange(
    const medsafe::Request& request, medsafe::ResponseCallback done) const {
  return std::make_shared<medsafe::http_backend::AssemblingExchange<Assembler>>(
      Assembler(endpoint().api_key, request.intended_send, request.max_response_bytes),
      std::move(done));
}

}  // namespace plainchat
