#pragma once
/// The `openai` backend: OpenAI-compatible chat completions over the shared HTTP transport.
#include <memory>
#include <string>

#include "medsafe/backend.hpp"
#include "medsafe/http/backend_base.hpp"
#include "medsafe/plugin.hpp"
#include "openai_protocol.hpp"

namespace medsafe::openai {

/// The endpoint (URL, headers, key, limits, TLS) and what every request body is built from.
struct Settings {
  http_backend::Endpoint endpoint;  ///< url = <base_url>/chat/completions
  BodySettings body;
};

/// Reads and checks the backend's configuration (and its API key, once). Throws a located
/// config Error for a bad value; an error never contains the key.
[[nodiscard]] Settings read_settings(const Config& config);

/// Chat completions against one endpoint. Never throws for a failed request: every failure is
/// a Response with its outcome, and the API key never appears in one.
class OpenAiBackend final : public http_backend::HttpBackend {
 public:
  explicit OpenAiBackend(const ComponentContext& context);

 private:
  OpenAiBackend(const ComponentContext& context, Settings settings);
  [[nodiscard]] std::string build_body(const Request& request) const override;
  [[nodiscard]] std::shared_ptr<HttpExchange> make_exchange(const Request& request,
                                                            ResponseCallback done) const override;

  BodySettings body_;
};

}  // namespace medsafe::openai
