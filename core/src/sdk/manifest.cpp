#include "medsafe/manifest.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "medsafe/error.hpp"
#include "medsafe/plugin.hpp"

namespace medsafe {
namespace {

// Adds one key of a manifest table to `schema`.
void add_key(ConfigSchema& schema, std::string name, ValueType type, bool required,
             std::string doc) {
  KeySpec spec;
  spec.name = std::move(name);
  spec.type = type;
  spec.required = required;
  spec.doc = std::move(doc);
  schema.keys.push_back(std::move(spec));
}

const ConfigSchema& manifest_schema() {
  static const ConfigSchema schema = [] {
    ConfigSchema s;
    add_key(s, "name", ValueType::string, true, "the component's name, as run files use it");
    add_key(s, "kind", ValueType::string, true, "backend, suite or judge");
    s.keys.back().choices = {"backend", "suite", "judge"};
    add_key(s, "library", ValueType::string, true, "the shared library, relative to the manifest");
    add_key(s, "abi", ValueType::integer, true, "the plugin ABI the library was built for");
    add_key(s, "description", ValueType::string, true, "one line saying what the component does");
    add_key(s, "config", ValueType::table, false, "one table per configuration key");
    add_key(s, "target", ValueType::string, false,
            "backends: what a model of this backend is when its configuration names no model "
            "(e.g. \"simulated\"); reports show it as the model tested");
    return s;
  }();
  return schema;
}

const ConfigSchema& key_schema() {
  static const ConfigSchema schema = [] {
    ConfigSchema s;
    add_key(s, "type", ValueType::string, true, "the value's type");
    s.keys.back().choices = {"string", "integer",     "number", "float",      "boolean",
                             "path",   "string-list", "table",  "table-list", "number-list"};
    add_key(s, "doc", ValueType::string, true, "what the key means");
    add_key(s, "required", ValueType::boolean, false, "the run file must set it");
    add_key(s, "env", ValueType::boolean, false,
            "${NAME} is expanded from the environment (in each string of a table or array)");
    add_key(s, "choices", ValueType::string_list, false, "the allowed values of a string");
    // `default` is checked by hand below: its type is the key's type.
    return s;
  }();
  return schema;
}

// A list default must hold only values of the list's element type: a component reads it with
// the same accessor as a configured value (Config::strings, Config::numbers).
template <typename Predicate>
bool every_element(const toml::node& value, Predicate predicate) {
  const toml::array* array = value.as_array();
  return array != nullptr && std::all_of(array->begin(), array->end(), predicate);
}

bool default_matches(const toml::node& value, ValueType type) {
  switch (type) {
    case ValueType::string:
    case ValueType::path:
      return value.is_string();
    case ValueType::integer:
      return value.is_integer();
    case ValueType::number:
      return value.is_integer() || value.is_floating_point();
    case ValueType::boolean:
      return value.is_boolean();
    case ValueType::string_list:
      return every_element(value, [](const toml::node& n) { return n.is_string(); });
    case ValueType::table_list:
      return every_element(value, [](const toml::node& n) { return n.is_table(); });
    case ValueType::number_list:
      return every_element(value, [](const toml::node& n) { return n.is_number(); });
    case ValueType::table:
      return value.is_table();
  }
  return false;
}

KeySpec read_key(const std::string& owner, std::string_view name, const toml::node& node) {
  const toml::table* table = node.as_table();
  if (table == nullptr) {
    throw located_error(ErrorKind::config, location_of(node),
                        "'" + owner + "' must be a table with type, default and doc");
  }
  toml::table without_default = *table;
  without_default.erase("default");
  const Config fields = Config::validate(owner, without_default, key_schema(), {});
  KeySpec spec;
  spec.name = std::string(name);
  spec.type = *value_type_from_string(fields.string("type"));
  spec.doc = fields.string("doc");
  spec.required = fields.has("required") && fields.boolean("required");
  spec.env_expand = fields.has("env") && fields.boolean("env");
  if (fields.has("choices")) spec.choices = fields.strings("choices");
  if (const toml::node* value = table->get("default")) {
    if (spec.required) {
      throw located_error(ErrorKind::config, location_of(*value),
                          "'" + owner + "' is required, so it cannot have a default");
    }
    if (!default_matches(*value, spec.type)) {
      throw located_error(ErrorKind::config, location_of(*value),
                          "'" + owner + ".default' does not have the key's type (" +
                              std::string(to_string(spec.type)) + ")");
    }
    // A configured value must be one of the choices; so must the default that stands for it.
    if (const auto* text = value->as_string();
        text != nullptr && !spec.choices.empty() &&
        std::find(spec.choices.begin(), spec.choices.end(), text->get()) == spec.choices.end()) {
      throw located_error(ErrorKind::config, location_of(*value),
                          "'" + owner + ".default' is not one of its choices");
    }
    std::shared_ptr<toml::node> copy;
    value->visit([&copy](const auto& v) { copy = std::make_shared<std::decay_t<decltype(v)>>(v); });
    spec.default_value = std::move(copy);
  }
  return spec;
}

}  // namespace

std::string_view to_string(ComponentKind kind) noexcept {
  switch (kind) {
    case ComponentKind::backend:
      return "backend";
    case ComponentKind::suite:
      return "suite";
    case ComponentKind::judge:
      return "judge";
  }
  return "backend";
}

Manifest parse_manifest(std::string_view text, const std::filesystem::path& file) {
  toml::table root;
  try {
    root = toml::parse(text, file.string());
  } catch (const toml::parse_error& e) {
    throw located_error(
        ErrorKind::config,
        SourceLocation{file.string(), e.source().begin.line, e.source().begin.column},
        e.description());
  }
  const Config top = Config::validate("manifest", root, manifest_schema(), file.parent_path());
  Manifest m;
  m.file = file;
  m.name = top.string("name");
  const std::string kind = top.string("kind");
  m.kind = kind == "backend" ? ComponentKind::backend
           : kind == "suite" ? ComponentKind::suite
                             : ComponentKind::judge;
  m.library = top.string("library");
  if (m.library.is_relative()) m.library = (file.parent_path() / m.library).lexically_normal();
  const std::int64_t abi = top.integer("abi");
  if (abi <= 0) throw top.error("abi", "must be a positive integer");
  m.abi = static_cast<std::uint32_t>(abi);
  m.description = top.string("description");
  if (top.has("target")) m.target = top.string("target");
  // From the parsed root, not the validated copy: only the original knows file positions.
  if (const toml::table* keys = root["config"].as_table()) {
    for (const auto& [name, node] : *keys) {
      m.config.keys.push_back(read_key("config." + std::string(name.str()), name.str(), node));
    }
  }
  return m;
}

Manifest read_manifest(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(ErrorKind::plugin, file.string() + ": error: cannot read the manifest");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_manifest(text.str(), std::filesystem::absolute(file));
}

}  // namespace medsafe
