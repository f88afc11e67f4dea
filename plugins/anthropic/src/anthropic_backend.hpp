#pragma once
/// The `anthropic` backend: the Anthropic Messages API over the shared HTTP transport.
#include <memory>
#include <string>

#include "anthropic_protocol.hpp"
#include "medsafe/backend.hpp"
#include "medsafe/http/backend_base.hpp"
#include "medsafe/plugin.hpp"

namespace medsafe::anthropic {

/// The endpoint (URL, headers, key, limits, TLS) and what every request body is built from.
struct Settings {
  http_backend::Endpoint endpoint;  ///< url = <base_url>/messages
  BodySettings body;
};

/// Reads and checks the backend's configuration (and its API key, once). Throws a located
/// config Error for a bad value; an error never contains the key.
[[nodiscard]] Settings read_settings(const Config& config);

/// Messages against one endpoint. Never throws for a failed request: every failure is a
/// Response with its outcome, and the API key never appears in one.
class AnthropicBackend final : public http_backend::HttpBackend {
 public:
  explicit AnthropicBackend(const ComponentContext& context);

 private:
  AnthropicBackend(const ComponentContext& context, Settings settings);
  [[nodiscard]] std::string build_body(const Request& request) const override;
  [[nodiscard]] std::shared_ptr<HttpExchange> make_exchange(const Request& request,
                                                            ResponseCallback done) const override;

  BodySettings body_;
};

}  // namespace medsafe::anthropic
