#include "anthropic_protocol.hpp"

#include <array>
#include <string>
#include <utility>

#include "medsafe/http/wire_text.hpp"

namespace medsafe::anthropic {
namespace {

using http_backend::append_json_number;
using nlohmann::json;

constexpr std::array<std::pair<std::string_view, EventKind>, 8> kEventKinds = {{
    {"message_start", EventKind::message_start},
    {"content_block_start", EventKind::content_block_start},
    {"content_block_delta", EventKind::content_block_delta},
    {"content_block_stop", EventKind::content_block_stop},
    {"message_delta", EventKind::message_delta},
    {"message_stop", EventKind::message_stop},
    {"ping", EventKind::ping},
    {"error", EventKind::error},
}};

EventKind kind_of(std::string_view type) {
  for (const auto& [name, kind] : kEventKinds) {
    if (name == type) return kind;
  }
  return EventKind::other;
}

// nlohmann's errors start with "[json.exception.parse_error.101] ": people need the rest.
std::string parse_error_text(const json::exception& error) {
  std::string_view text = error.what();
  if (const std::size_t close = text.find("] "); close != std::string_view::npos) {
    text.remove_prefix(close + 2);
  }
  return http_backend::excerpt(text, 200);
}

// Reads the fields of one event or body, remembering the first thing that was wrong.
class Reader {
 public:
  explicit Reader(Decoded& out) : out_(out) {}

  [[nodiscard]] bool failed() const noexcept { return out_.status != DecodeStatus::ok; }

  void malformed(std::string message) {
    if (failed()) return;
    out_.status = DecodeStatus::malformed;
    out_.message = std::move(message);
  }

  // The document, or null (with the failure recorded) when it is not a JSON object.
  std::optional<json> parse(std::string_view text, std::string_view what) {
    json root;
    try {
      root = json::parse(text);
    } catch (const json::exception& error) {  // parse_error, or out_of_range for a huge number
      malformed(std::string(what) + " is not valid JSON: " + parse_error_text(error));
      return std::nullopt;
    }
    if (!root.is_object()) {
      malformed(std::string(what) + " is not a JSON object");
      return std::nullopt;
    }
    return root;
  }

  // An object member: null when absent or null; malformed when of another kind.
  const json* object(const json& parent, const char* key, std::string_view where,
                     bool required = false) {
    const auto found = parent.find(key);
    if (found == parent.end() || found->is_null()) {
      if (required) malformed(std::string(where) + " has no " + key);
      return nullptr;
    }
    if (!found->is_object()) {
      malformed(std::string(where) + "." + key + " is not an object");
      return nullptr;
    }
    return &*found;
  }

  // A string member: empty when absent or null; malformed when of another kind.
  std::string_view string(const json& parent, const char* key, std::string_view where) {
    const auto found = parent.find(key);
    if (found == parent.end() || found->is_null()) return {};
    if (!found->is_string()) {
      malformed(std::string(where) + "." + key + " is not a string");
      return {};
    }
    return found->get_ref<const std::string&>();
  }

  // A token count: -1 when absent or null; malformed unless a non-negative integer.
  std::int64_t count(const json& usage, const char* key) {
    const auto found = usage.find(key);
    if (found == usage.end() || found->is_null()) return -1;
    if (!found->is_number_integer() || found->get<std::int64_t>() < 0) {
      malformed(std::string("usage.") + key + " is not a non-negative integer");
      return -1;
    }
    return found->get<std::int64_t>();
  }

  // usage: input tokens include what was read from or written to the prompt cache, since all
  // of them are the prompt the model saw.
  void read_usage(const json& parent, std::string_view where, bool with_output) {
    const json* usage = object(parent, "usage", where);
    if (usage == nullptr) return;
    std::int64_t input = -1;
    for (const char* key :
         {"input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"}) {
      const std::int64_t n = count(*usage, key);
      if (n >= 0) input = (input < 0 ? 0 : input) + n;
    }
    if (input >= 0) out_.input_tokens = input;
    if (with_output) out_.output_tokens = count(*usage, "output_tokens");
  }

  // A content block, as content_block_start or a non-streaming body carries it.
  void read_block(const json& block, std::string_view where) {
    const std::string_view type = string(block, "type", where);
    if (type == "text") {
      const std::string_view text = string(block, "text", where);
      out_.text.append(text);
      out_.token_bearing = out_.token_bearing || !text.empty();
    } else if (type == "thinking") {
      out_.token_bearing = out_.token_bearing || !string(block, "thinking", where).empty();
    } else if (type == "tool_use") {
      out_.token_bearing = true;  // the model generated a call (its name, at least)
    }
  }

  void read_delta(const json& root) {
    const json* delta = object(root, "delta", "content_block_delta", true);
    if (delta == nullptr) return;
    const std::string_view type = string(*delta, "type", "delta");
    std::string_view piece;
    if (type == "text_delta") {
      piece = string(*delta, "text", "delta");
      out_.text.append(piece);
    } else if (type == "thinking_delta") {
      piece = string(*delta, "thinking", "delta");
    } else if (type == "input_json_delta") {
      piece = string(*delta, "partial_json", "delta");
    }
    // signature_delta, citations_delta and types yet unknown carry no generated tokens.
    out_.token_bearing = !piece.empty();
  }

  void read_event(const json& root) {
    switch (out_.kind) {
      case EventKind::message_start:
        if (const json* message = object(root, "message", "message_start", true)) {
          read_usage(*message, "message", false);  // its output_tokens is a placeholder
        }
        return;
      case EventKind::content_block_start:
        if (const json* block = object(root, "content_block", "content_block_start", true)) {
          read_block(*block, "content_block");
        }
        return;
      case EventKind::content_block_delta:
        read_delta(root);
        return;
      case EventKind::message_delta:
        if (const json* delta = object(root, "delta", "message_delta")) {
          out_.stop_reason = string(*delta, "stop_reason", "delta");
        }
        read_usage(root, "message_delta", true);
        return;
      case EventKind::error:
        out_.status = DecodeStatus::error_object;
        out_.message = error_text(root);
        return;
      default:
        return;
    }
  }

  void read_body(const json& root) {
    const auto type = root.find("type");
    const auto error = root.find("error");
    if ((type != root.end() && type->is_string() && *type == "error") ||
        (error != root.end() && !error->is_null())) {
      out_.status = DecodeStatus::error_object;
      out_.message = error_text(root);
      return;
    }
    const auto content = root.find("content");
    if (content == root.end() || !content->is_array()) {
      malformed(content == root.end() ? "the body has no content" : "content is not an array");
      return;
    }
    for (std::size_t i = 0; i < content->size(); ++i) {
      const json& block = (*content)[i];
      const std::string where = "content[" + std::to_string(i) + "]";
      if (!block.is_object()) {
        malformed(where + " is not an object");
        return;
      }
      read_block(block, where);
    }
    out_.stop_reason = string(root, "stop_reason", "the body");
    read_usage(root, "the body", true);
  }

 private:
  static std::string error_text(const json& root) {
    std::optional<std::string> message = http_backend::error_message_in(root);
    if (!message) {
      return http_backend::excerpt(root.dump(-1, ' ', false, json::error_handler_t::replace));
    }
    // "overloaded_error: Overloaded" says more than the message alone.
    const auto error = root.find("error");
    if (error != root.end() && error->is_object()) {
      const auto type = error->find("type");
      if (type != error->end() && type->is_string()) {
        return http_backend::excerpt(type->get<std::string>(), 60) + ": " + *message;
      }
    }
    return *message;
  }

  Decoded& out_;
};

// A malformed result carries no half-read content.
Decoded without_content(Decoded decoded) {
  if (decoded.status == DecodeStatus::ok) return decoded;
  Decoded failed;
  failed.status = decoded.status;
  failed.kind = decoded.kind;
  failed.message = std::move(decoded.message);
  return failed;
}

}  // namespace

std::string build_request_body(const Request& request, const BodySettings& settings) {
  // Written directly rather than through a JSON document: it is done for every request on the
  // runner's hot path, and a document costs several times more.
  std::size_t size = 256 + settings.model.size() + settings.system_prompt.size();
  for (const Message& message : request.messages) size += 32 + message.content.size();
  std::string out;
  out.reserve(size);
  out += "{\"model\":";
  append_json_string(out, settings.model, InvalidUtf8::replace);
  const std::int64_t max_tokens = request.max_tokens.value_or(settings.max_tokens);
  out += ",\"max_tokens\":" + std::to_string(max_tokens > 0 ? max_tokens : settings.max_tokens);
  std::string system;
  for (const Message& message : request.messages) {
    if (message.role != "system") continue;
    if (!system.empty()) system += "\n\n";
    system += message.content;
  }
  if (system.empty()) system = settings.system_prompt;
  if (!system.empty()) {
    out += ",\"system\":";
    append_json_string(out, system, InvalidUtf8::replace);
  }
  out += ",\"messages\":[";
  bool first = true;
  for (const Message& message : request.messages) {
    if (message.role == "system") continue;
    out += first ? "{\"role\":" : ",{\"role\":";
    first = false;
    append_json_string(out, message.role, InvalidUtf8::replace);
    out += ",\"content\":";
    append_json_string(out, message.content, InvalidUtf8::replace);
    out += '}';
  }
  out += "],\"stream\":";
  out += settings.stream ? "true" : "false";
  out += ",\"temperature\":";
  append_json_number(out, request.temperature.value_or(settings.temperature));
  if (settings.top_p) {
    out += ",\"top_p\":";
    append_json_number(out, *settings.top_p);
  }
  // Not part of the Messages API: the simulated server (and vLLM's Anthropic front end) take
  // it; a load test asks for it knowingly.
  if (request.load.ignore_eos) out += ",\"ignore_eos\":true";
  out += '}';
  if (settings.extra_body.is_object() && !settings.extra_body.empty()) {
    json body = json::parse(out);
    body.merge_patch(settings.extra_body);
    return body.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  return out;
}

Decoded decode_event(std::string_view event_type, std::string_view data) {
  Decoded out;
  Reader reader(out);
  std::optional<json> root = reader.parse(data, "the stream event");
  if (!root) return out;
  std::string_view type = event_type;
  if (type.empty()) type = reader.string(*root, "type", "the stream event");
  out.kind = kind_of(type);
  if (!reader.failed()) reader.read_event(*root);
  return without_content(std::move(out));
}

Decoded decode_message(std::string_view body) {
  Decoded out;
  Reader reader(out);
  std::optional<json> root = reader.parse(body, "the body");
  if (!root) return out;
  reader.read_body(*root);
  return without_content(std::move(out));
}

std::string finish_reason_of(std::string_view stop_reason) {
  if (stop_reason == "end_turn" || stop_reason == "stop_sequence") return "stop";
  if (stop_reason == "max_tokens") return "length";
  if (stop_reason == "tool_use") return "tool_calls";
  return std::string(stop_reason);
}

}  // namespace medsafe::anthropic
