#include "openai_protocol.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "openai_fast_decode.hpp"

namespace medsafe::openai {

namespace {

using http_backend::append_json_number;
using http_backend::error_message_in;
using nlohmann::json;

// ---- JSON decoding ----

// Reads the fields of a chunk or body, remembering the first thing that was wrong.
class Reader {
 public:
  explicit Reader(Decoded& out) : out_(out) {}

  bool failed() const noexcept { return out_.status != DecodeStatus::ok; }

  void malformed(std::string message) {
    if (failed()) return;
    out_.status = DecodeStatus::malformed;
    out_.message = std::move(message);
  }

  // A string field: absent or null is fine; anything but a string is malformed.
  void append_string(const json& object, const char* key, std::string& target,
                     std::string_view where) {
    const auto found = object.find(key);
    if (found == object.end() || found->is_null()) return;
    if (!found->is_string()) {
      malformed(std::string(where) + "." + key + " is not a string");
      return;
    }
    target += found->get_ref<const std::string&>();
  }

  void read_tool_calls(const json& object, std::string_view where) {
    const auto found = object.find("tool_calls");
    if (found == object.end() || found->is_null()) return;
    if (!found->is_array()) {
      malformed(std::string(where) + ".tool_calls is not an array");
      return;
    }
    if (!found->empty()) out_.tool_calls = true;
  }

  void read_usage(const json& root) {
    const auto usage = root.find("usage");
    if (usage == root.end() || usage->is_null()) return;
    if (!usage->is_object()) {
      malformed("usage is not an object");
      return;
    }
    read_count(*usage, "prompt_tokens", out_.prompt_tokens);
    read_count(*usage, "completion_tokens", out_.completion_tokens);
  }

  // The message of an error object, when `root` is one (OpenAI's {"error": ...} or vLLM's
  // {"object": "error", "message": ...}).
  bool read_error(const json& root) {
    const auto error = root.find("error");
    const bool has_error = error != root.end() && !error->is_null();
    const auto object = root.find("object");
    const bool error_object = object != root.end() && object->is_string() && *object == "error";
    if (!has_error && !error_object) return false;
    out_.status = DecodeStatus::error_object;
    std::optional<std::string> message = error_message_in(root);
    out_.message = message ? std::move(*message)
                           : excerpt(root.dump(-1, ' ', false, json::error_handler_t::replace));
    return true;
  }

  // Reads choice 0 (other choices of an n>1 request are not part of the answer).
  void read_choices(const json& root, const char* part, bool required) {
    const auto choices = root.find("choices");
    if (choices == root.end() || choices->is_null()) {
      if (required) malformed("the body has no choices");
      return;
    }
    if (!choices->is_array()) {
      malformed("choices is not an array");
      return;
    }
    if (choices->empty() && required) {
      malformed("the body has an empty choices array");
      return;
    }
    for (const json& choice : *choices) {
      if (!choice.is_object()) {
        malformed("a choice is not an object");
        return;
      }
      const auto index = choice.find("index");
      if (index != choice.end() && index->is_number_integer() && *index != 0) continue;
      read_choice(choice, part, required);
      return;
    }
  }

 private:
  void read_count(const json& usage, const char* key, std::int64_t& target) {
    const auto found = usage.find(key);
    if (found == usage.end() || found->is_null()) return;
    if (!found->is_number_integer() || found->get<std::int64_t>() < 0) {
      malformed(std::string("usage.") + key + " is not a non-negative integer");
      return;
    }
    target = found->get<std::int64_t>();
  }

  void read_choice(const json& choice, const char* part, bool required) {
    const std::string where = std::string("choices[0].") + part;
    const auto finish = choice.find("finish_reason");
    if (finish != choice.end() && !finish->is_null()) {
      if (!finish->is_string()) {
        malformed("choices[0].finish_reason is not a string");
        return;
      }
      out_.finish_reason = finish->get<std::string>();
    }
    const auto message = choice.find(part);
    if (message == choice.end() || message->is_null()) {
      if (required) malformed("the body has no " + where);
      return;
    }
    if (!message->is_object()) {
      malformed(where + " is not an object");
      return;
    }
    append_string(*message, "content", out_.content, where);
    append_string(*message, "reasoning_content", out_.reasoning, where);
    append_string(*message, "reasoning", out_.reasoning, where);
    read_tool_calls(*message, where);
  }

  Decoded& out_;
};

// nlohmann's errors start with "[json.exception.parse_error.101] ": people need the rest.
std::string parse_error_text(const json::exception& error) {
  std::string_view text = error.what();
  if (const std::size_t close = text.find("] "); close != std::string_view::npos) {
    text.remove_prefix(close + 2);
  }
  return excerpt(text, 200);
}

Decoded dom_decode(std::string_view text, bool stream) {
  Decoded out;
  Reader reader(out);
  const char* what = stream ? "the stream chunk" : "the body";
  json root;
  try {
    root = json::parse(text);
  } catch (const json::exception& error) {  // parse_error, or out_of_range for a huge number
    reader.malformed(std::string(what) + " is not valid JSON: " + parse_error_text(error));
    return out;
  }
  if (!root.is_object()) {
    reader.malformed(std::string(what) + " is not a JSON object");
    return out;
  }
  if (reader.read_error(root)) return out;
  reader.read_usage(root);
  reader.read_choices(root, stream ? "delta" : "message", !stream);
  if (out.status != DecodeStatus::ok) {
    // A malformed result carries no half-read content.
    Decoded failed;
    failed.status = out.status;
    failed.message = std::move(out.message);
    return failed;
  }
  return out;
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
  out += ",\"messages\":[";
  const bool has_system = !request.messages.empty() && request.messages.front().role == "system";
  bool first = true;
  const auto append_message = [&](std::string_view role, std::string_view content) {
    out += first ? "{\"role\":" : ",{\"role\":";
    first = false;
    append_json_string(out, role, InvalidUtf8::replace);
    out += ",\"content\":";
    append_json_string(out, content, InvalidUtf8::replace);
    out += '}';
  };
  if (!settings.system_prompt.empty() && !has_system) {
    append_message("system", settings.system_prompt);
  }
  for (const Message& message : request.messages) append_message(message.role, message.content);
  out += "],\"stream\":";
  out += settings.stream ? "true" : "false";
  if (settings.stream && settings.include_usage)
    out += ",\"stream_options\":{\"include_usage\":true}";
  out += ",\"temperature\":";
  append_json_number(out, request.temperature.value_or(settings.temperature));
  if (const std::int64_t max_tokens = request.max_tokens.value_or(settings.max_tokens);
      max_tokens > 0) {
    out += ",\"max_tokens\":" + std::to_string(max_tokens);
  }
  if (settings.top_p) {
    out += ",\"top_p\":";
    append_json_number(out, *settings.top_p);
  }
  if (request.seed) out += ",\"seed\":" + std::to_string(*request.seed);
  // vLLM, SGLang and the simulated server generate exactly max_tokens with it; load tests ask.
  if (request.load.ignore_eos) out += ",\"ignore_eos\":true";
  out += '}';
  if (settings.extra_body.is_object() && !settings.extra_body.empty()) {
    json body = json::parse(out);
    body.merge_patch(settings.extra_body);
    return body.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  return out;
}

Decoded detail::full_decode(std::string_view text, bool stream) { return dom_decode(text, stream); }

Decoded decode_stream_chunk(std::string_view data) {
  if (std::optional<Decoded> fast = detail::fast_decode(data, true)) return std::move(*fast);
  return dom_decode(data, true);
}

Decoded decode_completion(std::string_view body) {
  if (std::optional<Decoded> fast = detail::fast_decode(body, false)) return std::move(*fast);
  return dom_decode(body, false);
}

}  // namespace medsafe::openai
