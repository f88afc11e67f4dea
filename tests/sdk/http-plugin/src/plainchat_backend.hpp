#pragma once
/// `plainchat`: POSTs each request to <base_url>/chat/completions as a non-streaming
/// OpenAI-style chat completion and reads choices[0].message.content. What a third-party HTTP
/// backend writes on top of medsafe::http: the body and the decoding; the endpoint keys,
/// credentials, timeouts, replicas, retries' Retry-After and failure outcomes come from the SDK.
#include <memory>
#include <string>

#include "medsafe/http/backend_base.hpp"
#include "medsafe/plugin.hpp"

namespace plainchat {

class PlainChatBackend final : public medsafe::http_backend::HttpBackend {
 public:
  explicit PlainChatBackend(const medsafe::ComponentContext& context);

 private:
  [[nodiscard]] std::string build_body(const medsafe::Request& request) const override;
  [[nodiscard]] std::shared_ptr<medsafe::HttpExchange> make_exchange(
      const medsafe::Request& request, medsafe::ResponseCallback done) const override;

  std::string model_;
};

}  // namespace plainchat
