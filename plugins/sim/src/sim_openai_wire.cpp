// The OpenAI chat completions API of the simulated server: request decoding and the JSON and
// SSE encodings of answers and errors.
#include <array>
#include <utility>

#include <nlohmann/json.hpp>

#include "sim_http.hpp"
#include "sim_wire.hpp"

namespace medsafe::sim {
namespace {

using json = nlohmann::json;

class OpenAiFormat final : public WireFormat {
 public:
  [[nodiscard]] std::string_view api() const noexcept override { return "openai"; }

  [[nodiscard]] std::optional<std::string> decode(const json& doc, ApiRequest& out) const override;

  void prepare(Exchange& ex, std::uint64_t serial) const override {
    ex.completion_id.assign("chatcmpl-sim-");
    append_int(ex.completion_id, static_cast<std::int64_t>(serial));
    ex.chunk_prefix.clear();
    ex.chunk_prefix += R"({"id":")";
    ex.chunk_prefix += ex.completion_id;
    ex.chunk_prefix += R"(","object":"chat.completion.chunk","created":)";
    append_int(ex.chunk_prefix, ex.created);
    ex.chunk_prefix += R"(,"model":)";
    ex.chunk_prefix += ex.model;
    ex.chunk_prefix += R"(,"choices":[)";
  }

  void stream_start(const Exchange& ex, std::string& out) const override {
    out += "data: ";
    out += ex.chunk_prefix;
    out += R"({"index":0,"delta":{"role":"assistant"},"logprobs":null,"finish_reason":null}]})";
    out += "\n\n";
  }

  void stream_event(const Exchange& ex, std::string_view text, std::string& out) const override {
    out += "data: ";
    out += ex.chunk_prefix;
    out += R"({"index":0,"delta":{"content":)";
    append_json_string(out, text);
    out += R"(},"logprobs":null,"finish_reason":null}]})";
    out += "\n\n";
  }

  void stream_end(const Exchange& ex, std::string& out) const override {
    out += "data: ";
    out += ex.chunk_prefix;
    out += R"({"index":0,"delta":{},"logprobs":null,"finish_reason":")";
    out += ex.answer.finish_reason;
    out += R"("}]})";
    out += "\n\n";
    if (ex.include_usage) {
      out += "data: ";
      out += ex.chunk_prefix;
      out += "],";
      append_usage(ex.answer, out);
      out += "}\n\n";
    }
    out += "data: [DONE]\n\n";
  }

  void body(const Exchange& ex, std::string& out) const override {
    out += R"({"id":")";
    out += ex.completion_id;
    out += R"(","object":"chat.completion","created":)";
    append_int(out, ex.created);
    out += R"(,"model":)";
    out += ex.model;
    out += R"(,"choices":[{"index":0,"message":{"role":"assistant","content":)";
    append_json_string(out, ex.answer.text);
    out += R"(},"logprobs":null,"finish_reason":")";
    out += ex.answer.finish_reason;
    out += R"("}],)";
    append_usage(ex.answer, out);
    out += '}';
  }

  [[nodiscard]] std::string error_body(int status, std::string_view message) const override {
    using ordered = nlohmann::ordered_json;
    return ordered{{"error", ordered{{"message", message},
                                     {"type", error_type(status)},
                                     {"param", nullptr},
                                     {"code", status == 429 ? ordered("rate_limit_exceeded")
                                                            : ordered(nullptr)}}}}
        .dump();
  }

  void stream_error(const Exchange& /*ex*/, std::string& out) const override {
    // vLLM and OpenAI report a failure inside a stream as a data event holding an error object.
    out += "data: ";
    out += error_body(500, "simulated error in the stream (sim fault)");
    out += "\n\n";
  }

 private:
  static std::string_view error_type(int status) noexcept {
    switch (status) {
      case 401:
        return "authentication_error";
      case 404:
        return "not_found_error";
      case 429:
        return "rate_limit_error";
      default:
        return status >= 500 ? "server_error" : "invalid_request_error";
    }
  }

  static void append_usage(const Answer& answer, std::string& out) {
    out += R"("usage":{"prompt_tokens":)";
    append_int(out, answer.prompt_tokens);
    out += R"(,"completion_tokens":)";
    append_int(out, answer.completion_tokens);
    out += R"(,"total_tokens":)";
    append_int(out, answer.prompt_tokens + answer.completion_tokens);
    out += '}';
  }
};

// Optional fields of a chat request; null counts as absent.
constexpr std::array<FieldKind, 8> kOptionalFields = {{
    {"model", JsonKind::string},
    {"stream", JsonKind::boolean},
    {"ignore_eos", JsonKind::boolean},
    {"temperature", JsonKind::number},
    {"seed", JsonKind::integer},
    {"max_tokens", JsonKind::integer},
    {"max_completion_tokens", JsonKind::integer},
    {"stream_options", JsonKind::object},
}};

std::optional<std::string> OpenAiFormat::decode(const json& doc, ApiRequest& out) const {
  if (!doc.is_object()) return "the body must be a JSON object";
  if (auto problem = check_field_kinds(doc, kOptionalFields)) return problem;
  const auto messages = doc.find("messages");
  if (messages == doc.end() || !messages->is_array() || messages->empty()) {
    return "'messages' must be a non-empty array";
  }
  out.messages.resize(messages->size());
  for (std::size_t i = 0; i < messages->size(); ++i) {
    const json& m = (*messages)[i];
    const auto role = m.is_object() ? m.find("role") : m.end();
    if (!m.is_object() || role == m.end() || !role->is_string()) {
      return "messages[" + std::to_string(i) + "] must be an object with a string 'role'";
    }
    out.messages[i].role = role->get_ref<const std::string&>();
    const auto content = m.find("content");
    if (content == m.end()) return "messages[" + std::to_string(i) + "] has no 'content'";
    if (auto problem = read_text_content(*content, out.messages[i].content)) {
      return "messages[" + std::to_string(i) + "]: " + *problem;
    }
  }
  const auto get = [&doc](const char* name) -> const json* {
    const auto it = doc.find(name);
    return it == doc.end() || it->is_null() ? nullptr : &*it;
  };
  out.model = get("model") ? get("model")->get<std::string>() : std::string();
  out.stream = get("stream") && get("stream")->get<bool>();
  out.ignore_eos = get("ignore_eos") && get("ignore_eos")->get<bool>();
  out.include_usage = false;
  if (const json* options = get("stream_options")) {
    const auto usage = options->find("include_usage");
    if (usage != options->end() && !usage->is_null()) {
      if (!usage->is_boolean()) return "'stream_options.include_usage' must be a boolean";
      out.include_usage = usage->get<bool>();
    }
  }
  out.max_tokens.reset();
  for (const char* name : {"max_tokens", "max_completion_tokens"}) {
    if (const json* v = get(name)) {
      if (v->is_number_unsigned()) {
        out.max_tokens =
            static_cast<std::int64_t>(std::min<std::uint64_t>(v->get<std::uint64_t>(), INT64_MAX));
      } else if (v->get<std::int64_t>() >= 0) {
        out.max_tokens = v->get<std::int64_t>();
      } else {
        return std::string("'") + name + "' must be >= 0";
      }
    }
  }
  out.seed.reset();
  if (const json* v = get("seed")) {
    out.seed = v->is_number_unsigned() ? v->get<std::uint64_t>()
                                       : static_cast<std::uint64_t>(v->get<std::int64_t>());
  }
  return std::nullopt;
}

const OpenAiFormat kOpenAi;

}  // namespace

const WireFormat& openai_format() noexcept { return kOpenAi; }

}  // namespace medsafe::sim
