// The Anthropic Messages API of the simulated server: request decoding, and the JSON and SSE
// encodings of answers and errors, with the real event sequence (message_start,
// content_block_start, ping, content_block_delta..., content_block_stop, message_delta,
// message_stop) and `event:` lines.
#include <array>

#include <nlohmann/json.hpp>

#include "sim_http.hpp"
#include "sim_wire.hpp"

namespace medsafe::sim {
namespace {

using json = nlohmann::json;

// Optional fields of a Messages request; null counts as absent. Others are accepted and ignored.
constexpr std::array<FieldKind, 9> kFieldKinds = {{
    {"model", JsonKind::string},
    {"max_tokens", JsonKind::integer},
    {"stream", JsonKind::boolean},
    {"temperature", JsonKind::number},
    {"top_p", JsonKind::number},
    {"top_k", JsonKind::integer},
    {"stop_sequences", JsonKind::array},
    {"metadata", JsonKind::object},
    {"ignore_eos", JsonKind::boolean},
}};

// A content block list: only text blocks are understood.
std::optional<std::string> read_blocks(const json& content, std::string& out) {
  if (content.is_array()) {
    for (const json& block : content) {
      const auto type = block.is_object() ? block.find("type") : block.end();
      if (type == block.end() || *type != "text") {
        return "only content blocks of type \"text\" are supported by the simulator";
      }
    }
  }
  if (content.is_null()) return "'content' must be a string or an array of content blocks";
  return read_text_content(content, out);
}

std::optional<std::string> read_system(const json& doc, ApiRequest& out) {
  const auto system = doc.find("system");
  if (system == doc.end() || system->is_null()) return std::nullopt;
  Message message{"system", {}};
  if (auto problem = read_blocks(*system, message.content)) return "'system': " + *problem;
  out.messages.push_back(std::move(message));
  return std::nullopt;
}

std::optional<std::string> read_messages(const json& doc, ApiRequest& out) {
  const auto messages = doc.find("messages");
  if (messages == doc.end() || !messages->is_array() || messages->empty()) {
    return "messages: must be a non-empty array";
  }
  for (std::size_t i = 0; i < messages->size(); ++i) {
    const json& m = (*messages)[i];
    const std::string where = "messages." + std::to_string(i);
    const auto role = m.is_object() ? m.find("role") : m.end();
    if (!m.is_object() || role == m.end() || (*role != "user" && *role != "assistant")) {
      return where + ".role: must be \"user\" or \"assistant\"";
    }
    const auto content = m.find("content");
    if (content == m.end()) return where + ".content: Field required";
    Message message{role->get<std::string>(), {}};
    if (auto problem = read_blocks(*content, message.content)) return where + ": " + *problem;
    out.messages.push_back(std::move(message));
  }
  return std::nullopt;
}

class AnthropicFormat final : public WireFormat {
 public:
  [[nodiscard]] std::string_view api() const noexcept override { return "anthropic"; }

  [[nodiscard]] std::optional<std::string> decode(const json& doc, ApiRequest& out) const override {
    if (!doc.is_object()) return "the body must be a JSON object";
    if (auto problem = check_field_kinds(doc, kFieldKinds)) return problem;
    // Required by the real API; a client that forgets them must find out here, not in production.
    const auto model = doc.find("model");
    if (model == doc.end() || !model->is_string()) return "model: Field required";
    const auto max_tokens = doc.find("max_tokens");
    if (max_tokens == doc.end() || !max_tokens->is_number_integer()) {
      return "max_tokens: Field required";
    }
    if (max_tokens->get<std::int64_t>() < 1) return "max_tokens: must be at least 1";
    out.messages.clear();
    if (auto problem = read_system(doc, out)) return problem;
    if (auto problem = read_messages(doc, out)) return problem;
    out.model = model->get<std::string>();
    out.max_tokens = max_tokens->get<std::int64_t>();
    const auto get_bool = [&doc](const char* name) {
      const auto it = doc.find(name);
      return it != doc.end() && it->is_boolean() && it->get<bool>();
    };
    out.stream = get_bool("stream");
    out.ignore_eos = get_bool("ignore_eos");
    out.include_usage = true;
    out.seed.reset();  // the Messages API has no sampling seed
    return std::nullopt;
  }

  void prepare(Exchange& ex, std::uint64_t serial) const override {
    ex.completion_id.assign("msg_sim_");
    append_int(ex.completion_id, static_cast<std::int64_t>(serial));
  }

  void stream_start(const Exchange& ex, std::string& out) const override {
    out +=
        "event: message_start\n"
        R"(data: {"type":"message_start","message":)";
    message_object(ex, out, /*complete=*/false);
    out += "}\n\n";
    out +=
        "event: content_block_start\n"
        R"(data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})"
        "\n\n"
        "event: ping\n"
        R"(data: {"type":"ping"})"
        "\n\n";
  }

  void stream_event(const Exchange& /*ex*/, std::string_view text,
                    std::string& out) const override {
    out += "event: content_block_delta\n";
    out += R"(data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":)";
    append_json_string(out, text);
    out += "}}\n\n";
  }

  void stream_end(const Exchange& ex, std::string& out) const override {
    out +=
        "event: content_block_stop\n"
        R"(data: {"type":"content_block_stop","index":0})"
        "\n\n";
    out += "event: message_delta\n";
    out += R"(data: {"type":"message_delta","delta":{"stop_reason":")";
    out += stop_reason(ex.answer);
    out += R"(","stop_sequence":null},"usage":{"output_tokens":)";
    append_int(out, ex.answer.completion_tokens);
    out += "}}\n\n";
    out +=
        "event: message_stop\n"
        R"(data: {"type":"message_stop"})"
        "\n\n";
  }

  void body(const Exchange& ex, std::string& out) const override {
    message_object(ex, out, /*complete=*/true);
  }

  [[nodiscard]] std::string error_body(int status, std::string_view message) const override {
    // Ordered as the real API writes it: "type" first.
    return nlohmann::ordered_json{
        {"type", "error"},
        {"error", nlohmann::ordered_json{{"type", error_type(status)}, {"message", message}}}}
        .dump();
  }

  void stream_error(const Exchange& /*ex*/, std::string& out) const override {
    out += "event: error\ndata: ";
    out += error_body(529, "Overloaded (simulated error in the stream, sim fault)");
    out += "\n\n";
  }

 private:
  static std::string_view stop_reason(const Answer& answer) noexcept {
    return answer.finish_reason == "length" ? "max_tokens" : "end_turn";
  }

  static std::string_view error_type(int status) noexcept {
    switch (status) {
      case 401:
        return "authentication_error";
      case 403:
        return "permission_error";
      case 404:
        return "not_found_error";
      case 413:
        return "request_too_large";
      case 429:
        return "rate_limit_error";
      case 500:
        return "api_error";
      case 503:
      case 529:
        return "overloaded_error";
      default:
        return status >= 500 ? "api_error" : "invalid_request_error";
    }
  }

  // The message object: as message_start carries it (no content, no stop reason yet,
  // output_tokens 1 as the real API sends), or the whole non-streaming answer.
  static void message_object(const Exchange& ex, std::string& out, bool complete) {
    out += R"({"id":")";
    out += ex.completion_id;
    out += R"(","type":"message","role":"assistant","model":)";
    out += ex.model;
    out += R"(,"content":[)";
    if (complete) {
      out += R"({"type":"text","text":)";
      append_json_string(out, ex.answer.text);
      out += '}';
    }
    out += R"(],"stop_reason":)";
    if (complete) {
      out += '"';
      out += stop_reason(ex.answer);
      out += '"';
    } else {
      out += "null";
    }
    out += R"(,"stop_sequence":null,"usage":{"input_tokens":)";
    append_int(out, ex.answer.prompt_tokens);
    out += R"(,"output_tokens":)";
    append_int(out, complete ? ex.answer.completion_tokens : 1);
    out += "}}";
  }
};

const AnthropicFormat kAnthropic;

}  // namespace

const WireFormat& anthropic_format() noexcept { return kAnthropic; }

}  // namespace medsafe::sim
