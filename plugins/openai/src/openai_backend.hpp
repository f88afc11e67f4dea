#pragma once
/// The `openai` backend: OpenAI-compatible chat completions over the shared HTTP transport.
#include <memory>
#include <string>

#include "medsafe/backend.hpp"
#include "medsafe/http.hpp"
#include "medsafe/plugin.hpp"
#include "openai_protocol.hpp"

namespace medsafe::openai {

/// Everything fixed at construction that a request needs. Shared with the exchanges in flight,
/// which may outlive the backend.
struct Endpoint {
  std::string url;      ///< <base_url>/chat/completions
  Headers headers;      ///< Content-Type, Accept, Authorization (when a key is set), extra headers
  std::string api_key;  ///< empty: none; only ever sent in the Authorization header
  BodySettings body;
  HttpTimeouts timeouts;
  bool verify_tls = true;
  std::string ca_bundle;
};

/// Reads and checks the backend's configuration (and its API key, once). Throws a located
/// config Error for a bad value; an error never contains the key.
[[nodiscard]] Endpoint read_endpoint(const Config& config);

/// Chat completions against one endpoint. Never throws for a failed request: every failure is
/// a Response with its outcome, and the API key never appears in one.
class OpenAiBackend final : public Backend {
 public:
  explicit OpenAiBackend(const ComponentContext& context);
  ~OpenAiBackend() override;
  OpenAiBackend(const OpenAiBackend&) = delete;
  OpenAiBackend& operator=(const OpenAiBackend&) = delete;

  void submit(Request request, ResponseCallback done) override;
  /// Cancels this backend's requests in flight (not those of other backends).
  void cancel_all() override;

 private:
  HttpTransport& http_;
  std::shared_ptr<const Endpoint> endpoint_;
};

}  // namespace medsafe::openai
