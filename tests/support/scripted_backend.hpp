#pragma once
/// One request to an HTTP backend plugin, made from its manifest's keys and sent to a scripted
/// server: for tests of what a backend makes of hostile responses.
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>

#include "medsafe/http/transport.hpp"
#include "medsafe/manifest.hpp"
#include "medsafe/plugin.hpp"
#include "support/backend_test_support.hpp"
#include "support/scripted_server.hpp"

namespace medsafe::test {

/// Queues `script` on `server`, makes a `BackendType` from `keys` (TOML lines of its manifest's
/// keys; base_url is the server's /v1) and returns its Response to one request ("hi") that
/// carries `max_response_bytes`.
template <typename BackendType>
Response ask_scripted(ScriptedServer& server, HttpTransport& transport,
                      const std::filesystem::path& manifest, std::string_view keys, Script script,
                      std::size_t max_response_bytes = 0) {
  server.enqueue(std::move(script));
  const ConfigSchema schema = read_manifest(manifest).config;
  const Config config = Config::from_toml(
      "base_url = \"" + server.base_url() + "/v1\"\n" + std::string(keys), schema, "run.toml");
  CapturingLog log;
  const ComponentContext context{.name = "target", .config = config, .http = transport, .log = log};
  BackendType backend(context);
  Waiter waiter;
  Request request;
  request.id = "target/s/1#0";
  request.messages = {{"user", "hi"}};
  request.max_response_bytes = max_response_bytes;
  backend.submit(std::move(request), waiter.callback());
  return waiter.wait();
}

}  // namespace medsafe::test
