#include "sim_wire.hpp"

#include <nlohmann/json.hpp>

namespace medsafe::sim {
namespace {

using json = nlohmann::json;

bool has_kind(const json& value, JsonKind kind) noexcept {
  switch (kind) {
    case JsonKind::string:
      return value.is_string();
    case JsonKind::boolean:
      return value.is_boolean();
    case JsonKind::number:
      return value.is_number();
    case JsonKind::integer:
      return value.is_number_integer();
    case JsonKind::object:
      return value.is_object();
    case JsonKind::array:
      return value.is_array();
  }
  return false;
}

std::string_view kind_phrase(JsonKind kind) noexcept {
  switch (kind) {
    case JsonKind::string:
      return "a string";
    case JsonKind::boolean:
      return "a boolean";
    case JsonKind::number:
      return "a number";
    case JsonKind::integer:
      return "an integer";
    case JsonKind::object:
      return "an object";
    case JsonKind::array:
      return "an array";
  }
  return "a value";
}

}  // namespace

std::optional<std::string> check_field_kinds(const json& doc, std::span<const FieldKind> fields) {
  for (const auto& [name, kind] : fields) {
    const auto it = doc.find(name);
    if (it != doc.end() && !it->is_null() && !has_kind(*it, kind)) {
      return "'" + std::string(name) + "' must be " + std::string(kind_phrase(kind));
    }
  }
  return std::nullopt;
}

std::optional<std::string> read_text_content(const json& content, std::string& out) {
  out.clear();
  if (content.is_null()) return std::nullopt;
  if (content.is_string()) {
    out = content.get_ref<const std::string&>();
    return std::nullopt;
  }
  if (!content.is_array()) return "'content' must be a string or an array of parts";
  for (const json& part : content) {
    const auto text = part.is_object() ? part.find("text") : part.end();
    if (!part.is_object() || text == part.end() || !text->is_string()) {
      return "each content part must be an object with a string 'text'";
    }
    if (!out.empty()) out += '\n';
    out += text->get_ref<const std::string&>();
  }
  return std::nullopt;
}

void append_broken_event(const WireFormat& format, const Exchange& ex, std::string_view text,
                         std::string& out) {
  std::string event;
  format.stream_event(ex, text, event);
  // The event's last line is its data (JSON, which escapes newlines): keep its first half, then
  // end the event where it should have ended.
  while (!event.empty() && event.back() == '\n') event.pop_back();
  const std::size_t data = event.rfind("data: ");
  const std::size_t json_begin = data == std::string::npos ? 0 : data + 6;
  event.resize(json_begin + (event.size() - json_begin) / 2);
  out += event;
  out += "\n\n";
}

}  // namespace medsafe::sim
