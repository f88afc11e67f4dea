#pragma once
/// The configuration every HTTP backend shares — base_url, api_key_env / api_key_file, headers,
/// the four timeouts, verify_tls, ca_bundle — read and checked once, at construction.
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "medsafe/backend.hpp"
#include "medsafe/config.hpp"
#include "medsafe/export.hpp"
#include "medsafe/http/replicas.hpp"
#include "medsafe/http/transport.hpp"

namespace medsafe::http_backend {

/// Everything fixed at construction that every request of one backend carries. Shared with the
/// exchanges in flight, which may outlive the backend.
struct Endpoint {
  std::string url;      ///< <base_url><path>
  Headers headers;      ///< the API's fixed headers, the credential header, then extra headers
  std::string api_key;  ///< empty: none; only ever sent in the credential header
  HttpTimeouts timeouts;
  bool verify_tls = true;
  std::string ca_bundle;  ///< empty: the system's CA certificates
  /// With `base_urls`: the model's replicas (replicas.hpp), url being the first's; else empty.
  std::vector<Replica> replicas;
};

/// How an API sends its key: the header's name and what goes before the key in its value.
struct Credential {
  std::string_view header;  ///< e.g. "Authorization" or "x-api-key"
  std::string_view prefix;  ///< e.g. "Bearer " or ""
};

/// Reads the shared keys into an Endpoint for `<base_url><path>`: `fixed` headers first, then
/// the credential header when a key is configured, then the configured extra headers (which
/// may not set the credential header as well). Throws a located config Error for a bad value;
/// no error ever contains the key.
[[nodiscard]] MEDSAFE_API Endpoint read_endpoint(const Config& config, std::string_view path,
                                                 Headers fixed, const Credential& credential);

/// The API key from `api_key_env` (an environment variable's name) or `api_key_file`, trimmed;
/// empty when neither is set. Throws a located config Error when the variable is unset or empty,
/// the file is unreadable, empty or holds more than one line, or both keys are set.
[[nodiscard]] MEDSAFE_API std::string read_api_key(const Config& config);

/// `base` with `path` appended before its query or fragment ("http://h/v1?key=k" and
/// "/chat/completions" give "http://h/v1/chat/completions?key=k"); trailing slashes dropped.
[[nodiscard]] MEDSAFE_API std::string url_with_path(std::string base, std::string_view path);

/// The `model` key, which must not be blank.
[[nodiscard]] MEDSAFE_API std::string read_model(const Config& config);

/// The optional `top_p` key, in (0, 1].
[[nodiscard]] MEDSAFE_API std::optional<double> read_top_p(const Config& config);

/// The `extra_body` table as a JSON object (merged into each body as a JSON merge patch).
[[nodiscard]] MEDSAFE_API nlohmann::json read_extra_body(const Config& config);

/// `text` with every control character replaced by '_', safe inside one header line (request
/// ids come from data sets: they must not break or inject header lines).
[[nodiscard]] MEDSAFE_API std::string header_safe(std::string_view text);

/// The HttpRequest of one model request to `endpoint`: its URL, headers plus X-Request-Id,
/// `body`, limits and TLS settings, the schedule's send time and `owner` (for cancel(owner)).
[[nodiscard]] MEDSAFE_API HttpRequest make_http_request(const Endpoint& endpoint,
                                                        const Request& request, std::string body,
                                                        const void* owner);

}  // namespace medsafe::http_backend
