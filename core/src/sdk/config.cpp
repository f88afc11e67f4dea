#include "medsafe/config.hpp"

#include "medsafe/json_text.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>

namespace medsafe {
namespace {

// Each ValueType's name in manifests and the phrase messages use for it, in enum order.
struct TypeNames {
  std::string_view name;
  std::string_view phrase;
};
constexpr std::array<TypeNames, 9> kTypeNames = {{
    {"string", "a string"},
    {"integer", "an integer"},
    {"number", "a number"},
    {"boolean", "a boolean (true or false)"},
    {"path", "a string (a path)"},
    {"string-list", "an array of strings"},
    {"table", "a table"},
    {"table-list", "an array of tables"},
    {"number-list", "an array of numbers"},
}};

std::string_view expected_phrase(ValueType type) {
  return kTypeNames.at(static_cast<std::size_t>(type)).phrase;
}

// What a node holds, in toml::node_type order (none, table, array, string, ...).
std::string_view toml_type_name(const toml::node& node) {
  constexpr std::array<std::string_view, 10> kNames = {
      "nothing", "a table",   "an array", "a string", "an integer",
      "a float", "a boolean", "a date",   "a time",   "a date-time"};
  const auto index = static_cast<std::size_t>(node.type());
  return index < kNames.size() ? kNames[index] : "a value";
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string closest_key(std::string_view key, const ConfigSchema& schema,
                        const ConfigSchema* also) {
  std::string best;
  std::size_t best_distance = 3;  // suggest only near misses
  auto consider = [&](const ConfigSchema& s) {
    for (const KeySpec& spec : s.keys) {
      const std::size_t d = edit_distance(key, spec.name);
      if (d < best_distance) {
        best_distance = d;
        best = spec.name;
      }
    }
  };
  consider(schema);
  if (also != nullptr) consider(*also);
  return best;
}

// Replaces ${NAME} by the environment variable NAME, adding each value used to `used`; fails
// naming the variable.
std::string expand_env(const std::string& text, const std::function<Error(std::string_view)>& fail,
                       std::vector<std::string>& used) {
  std::string out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t open = text.find("${", pos);
    if (open == std::string::npos) break;
    const std::size_t close = text.find('}', open + 2);
    if (close == std::string::npos) throw fail("has '${' without a closing '}'");
    const std::string name = text.substr(open + 2, close - open - 2);
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) {
      throw fail("uses ${" + name + "}, but the environment variable " + name + " is not set");
    }
    out.append(text, pos, open - pos);
    out += value;
    used.emplace_back(value);
    pos = close + 1;
  }
  out.append(text, pos, std::string::npos);
  return out;
}

bool looks_like_env_reference(std::string_view text) {
  const std::size_t open = text.find("${");
  return open != std::string_view::npos && text.find('}', open) != std::string_view::npos;
}

std::string qualified(const std::string& owner, std::string_view key) {
  return owner.empty() ? std::string(key) : owner + "." + std::string(key);
}

// Expands ${NAME} in every string below `original` (a table or array marked env), writing
// the results into `copy`, its copy; errors are located at the string that fails.
void expand_env_below(const toml::node& original, toml::node& copy, const std::string& name,
                      std::vector<std::string>& used) {
  if (const auto* text = original.as_string()) {
    auto fail = [&](std::string_view message) {
      return located_error(ErrorKind::config, location_of(original),
                           "'" + name + "' " + std::string(message));
    };
    copy.as_string()->get() = expand_env(text->get(), fail, used);
  } else if (const auto* table = original.as_table()) {
    for (const auto& [key, value] : *table) {
      if (toml::node* inner = copy.as_table()->get(key.str())) {
        expand_env_below(value, *inner, name + "." + std::string(key.str()), used);
      }
    }
  } else if (const auto* array = original.as_array()) {
    for (std::size_t i = 0; i < array->size() && i < copy.as_array()->size(); ++i) {
      expand_env_below(*array->get(i), *copy.as_array()->get(i),
                       name + "[" + std::to_string(i) + "]", used);
    }
  }
}

// For a string of digits where a number belongs (a --set value TOML could not read as one is
// taken as a string): why it is not a number, which "got a string" alone does not say.
std::string why_not_a_number(const toml::node& node, const KeySpec& spec) {
  const auto* text = node.as_string();
  if (text == nullptr || (spec.type != ValueType::integer && spec.type != ValueType::number)) {
    return {};
  }
  const std::string& value = text->get();
  const std::size_t start = !value.empty() && (value[0] == '+' || value[0] == '-') ? 1 : 0;
  if (value.size() <= start || value.find_first_not_of("0123456789", start) != std::string::npos) {
    return {};
  }
  errno = 0;
  (void)std::strtoll(value.c_str(), nullptr, 10);
  if (errno == ERANGE) {
    return ": " + value +
           " is out of range for a 64-bit integer (TOML integers, seeds included, are "
           "-9223372036854775808 to 9223372036854775807)";
  }
  return ": write " + value + " without quotes";
}

// One message for every unknown key of a table, each on its own line at its own position, the
// keys the table allows at the end: a run file with three stale keys is fixed in one pass.
Error unknown_keys_error(const std::string& owner,
                         std::vector<std::pair<SourceLocation, std::string>> unknown,
                         const ConfigSchema& schema, const ConfigSchema* also) {
  std::stable_sort(unknown.begin(), unknown.end(), [](const auto& a, const auto& b) {
    return std::tie(a.first.line, a.first.column) < std::tie(b.first.line, b.first.column);
  });
  std::string message;
  for (const auto& [where, name] : unknown) {
    std::string line = "unknown key '" + qualified(owner, name) + "'";
    const std::string near = closest_key(name, schema, also);
    if (!near.empty()) line += " (did you mean '" + near + "'?)";
    // The first line's position is put in front by located_error, the others' here.
    message += message.empty()
                   ? line
                   : "\n" + std::string(located_error(ErrorKind::config, where, line).what());
  }
  std::string allowed = schema.key_list();
  if (also != nullptr && !also->keys.empty()) {
    allowed += allowed.empty() ? "" : "; and ";
    allowed += also->key_list();
  }
  message += "; allowed keys: " + (allowed.empty() ? std::string("none") : allowed);
  return located_error(ErrorKind::config, unknown.front().first, message);
}

void append_json(std::string& out, const toml::node& node) {
  if (const auto* t = node.as_table()) {
    out += '{';
    bool first = true;
    for (const auto& [key, value] : *t) {
      if (!first) out += ',';
      first = false;
      append_json_string(out, key.str());
      out += ':';
      append_json(out, value);
    }
    out += '}';
  } else if (const auto* a = node.as_array()) {
    out += '[';
    bool first = true;
    for (const toml::node& value : *a) {
      if (!first) out += ',';
      first = false;
      append_json(out, value);
    }
    out += ']';
  } else if (const auto* s = node.as_string()) {
    append_json_string(out, s->get());
  } else if (const auto* i = node.as_integer()) {
    out += std::to_string(i->get());
  } else if (const auto* f = node.as_floating_point()) {
    const double v = f->get();
    if (!std::isfinite(v)) {
      out += "null";
    } else {
      std::ostringstream text;
      text.precision(17);
      text << v;
      out += text.str();
    }
  } else if (const auto* b = node.as_boolean()) {
    out += b->get() ? "true" : "false";
  } else {
    std::ostringstream text;  // dates and times: their TOML text, as a JSON string
    node.visit([&text](const auto& value) { text << value; });
    append_json_string(out, text.str());
  }
}

}  // namespace

std::string_view to_string(ValueType type) noexcept {
  return kTypeNames.at(static_cast<std::size_t>(type)).name;
}

std::optional<ValueType> value_type_from_string(std::string_view name) {
  for (std::size_t i = 0; i < kTypeNames.size(); ++i) {
    if (kTypeNames[i].name == name) return static_cast<ValueType>(i);
  }
  if (name == "float") return ValueType::number;
  if (name == "bool") return ValueType::boolean;
  return std::nullopt;
}

bool has_type(const toml::node& node, ValueType type) {
  const toml::array* array = node.as_array();
  auto every_element = [array](auto predicate) {
    return array != nullptr && std::all_of(array->begin(), array->end(), predicate);
  };
  switch (type) {
    case ValueType::string:
    case ValueType::path:
      return node.is_string();
    case ValueType::integer:
      return node.is_integer();
    case ValueType::number:
      return node.is_number();
    case ValueType::boolean:
      return node.is_boolean();
    case ValueType::table:
      return node.is_table();
    case ValueType::string_list:
      return every_element([](const toml::node& n) { return n.is_string(); });
    case ValueType::table_list:
      return every_element([](const toml::node& n) { return n.is_table(); });
    case ValueType::number_list:
      return every_element([](const toml::node& n) { return n.is_number(); });
  }
  return false;
}

std::string KeySpec::default_text() const {
  if (!default_value) return {};
  if (const auto* s = default_value->as_string()) {
    std::string out;
    append_json_string(out, s->get());
    return out;
  }
  std::ostringstream out;
  default_value->visit([&out](const auto& value) { out << toml::toml_formatter(value); });
  std::string text = out.str();
  if (default_value->is_table() && text.empty()) text = "{}";
  return text;
}

const KeySpec* ConfigSchema::find(std::string_view name) const noexcept {
  for (const KeySpec& spec : keys) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

std::string ConfigSchema::key_list() const {
  std::vector<std::string> names;
  names.reserve(keys.size());
  for (const KeySpec& spec : keys) names.push_back(spec.name);
  std::sort(names.begin(), names.end());
  std::string out;
  for (const std::string& name : names) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

SourceLocation location_of(const toml::node& node) {
  const toml::source_region& source = node.source();
  SourceLocation where;
  where.file = source.path ? *source.path : std::string("<--set>");
  where.line = source.begin.line;
  where.column = source.begin.column;
  return where;
}

toml::table parse_toml(std::string_view text, std::string_view source) {
  try {
    return toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    SourceLocation where{std::string(source), e.source().begin.line, e.source().begin.column};
    throw located_error(ErrorKind::config, where, e.description());
  }
}

std::string toml_to_json(const toml::node& node) {
  std::string out;
  append_json(out, node);
  return out;
}

Config::Config() = default;
Config::Config(std::string owner, toml::table values, std::filesystem::path base_dir)
    : owner_(std::move(owner)), values_(std::move(values)), base_dir_(std::move(base_dir)) {
  table_location_ = location_of(values_);
  for (const auto& [key, value] : values_) locations_[std::string(key.str())] = location_of(value);
}
Config::Config(const Config& other) = default;
Config& Config::operator=(const Config& other) = default;
Config::Config(Config&&) noexcept = default;
Config& Config::operator=(Config&&) noexcept = default;
Config::~Config() = default;

Config Config::validate(std::string owner, const toml::table& section, const ConfigSchema& schema,
                        const std::filesystem::path& base_dir, const ConfigSchema* ignored) {
  toml::table values;
  std::map<std::string, SourceLocation, std::less<>> locations;
  std::vector<std::pair<SourceLocation, std::string>> unknown;
  for (const auto& [key, node] : section) {
    const std::string name(key.str());
    if ((ignored != nullptr && ignored->find(name) != nullptr) || schema.find(name) != nullptr) {
      continue;
    }
    SourceLocation key_where = location_of(node);
    if (key.source().begin.line > 0) {
      key_where.line = key.source().begin.line;
      key_where.column = key.source().begin.column;
    }
    unknown.emplace_back(std::move(key_where), name);
  }
  if (!unknown.empty()) throw unknown_keys_error(owner, std::move(unknown), schema, ignored);
  std::vector<std::string> from_environment;
  for (const auto& [key, node] : section) {
    const std::string name(key.str());
    if (ignored != nullptr && ignored->find(name) != nullptr) continue;
    const KeySpec* spec = schema.find(name);
    const SourceLocation where = location_of(node);
    locations[name] = where;
    if (!has_type(node, spec->type)) {
      throw located_error(ErrorKind::config, where,
                          "'" + qualified(owner, name) + "' must be " +
                              std::string(expected_phrase(spec->type)) + ", got " +
                              std::string(toml_type_name(node)) + why_not_a_number(node, *spec));
    }
    auto fail = [&](std::string_view message) {
      return located_error(ErrorKind::config, where,
                           "'" + qualified(owner, name) + "' " + std::string(message));
    };
    if (const auto* text = node.as_string()) {
      std::string value = text->get();
      if (spec->env_expand) {
        value = expand_env(value, fail, from_environment);
      } else if (looks_like_env_reference(value)) {
        throw fail("does not expand ${...}; only keys marked 'env' in the plugin's manifest do");
      }
      if (!spec->choices.empty() &&
          std::find(spec->choices.begin(), spec->choices.end(), value) == spec->choices.end()) {
        std::string list;
        for (const std::string& c : spec->choices) list += (list.empty() ? "" : ", ") + c;
        // As written: what came from the environment is never quoted.
        throw fail("must be one of " + list + ", got \"" + text->get() + "\"" +
                   (value != text->get() ? " (expanded from the environment)" : ""));
      }
      if (spec->type == ValueType::path && !value.empty()) {
        std::filesystem::path p(value);
        if (p.is_relative()) p = base_dir / p;
        value = p.lexically_normal().string();
      }
      values.insert_or_assign(name, std::move(value));
    } else if (spec->env_expand && (node.is_table() || node.is_array())) {
      values.insert_or_assign(name, node);
      expand_env_below(node, *values.get(name), qualified(owner, name), from_environment);
    } else {
      values.insert_or_assign(name, node);
    }
  }
  for (const KeySpec& spec : schema.keys) {
    if (values.contains(spec.name)) continue;
    if (spec.default_value) {
      values.insert_or_assign(spec.name, *spec.default_value);
    } else if (spec.required) {
      throw located_error(ErrorKind::config, location_of(section),
                          "[" + owner + "] needs the key '" + spec.name + "' (" + spec.doc + ")");
    }
  }
  Config config(std::move(owner), std::move(values), base_dir);
  config.table_location_ = location_of(section);
  config.locations_ = std::move(locations);
  for (const KeySpec& spec : schema.keys) {
    const toml::node* value = section.get(spec.name);
    if (spec.env_expand && value != nullptr && (value->is_table() || value->is_array())) {
      config.expanded_.insert(spec.name);
    }
  }
  config.from_environment_ = std::move(from_environment);
  return config;
}

Config Config::validate(std::string owner, std::shared_ptr<const toml::table> section,
                        const ConfigSchema& schema, const std::filesystem::path& base_dir,
                        const ConfigSchema* ignored) {
  Config config = validate(std::move(owner), *section, schema, base_dir, ignored);
  config.source_ = std::move(section);
  return config;
}

Config Config::from_toml(std::string_view toml_text, const ConfigSchema& schema,
                         std::string_view source_name) {
  auto table = std::make_shared<const toml::table>(parse_toml(toml_text, source_name));
  return validate("", std::move(table), schema, std::filesystem::current_path());
}

bool Config::has(std::string_view key) const { return values_.contains(key); }

const toml::node* Config::node(std::string_view key) const {
  const toml::node* value = values_.get(key);
  // Tables and arrays are handed out from the parsed original, which knows its file positions,
  // unless ${ENV} was expanded in them: only the copy holds the expanded values.
  if (value != nullptr && source_ && (value->is_table() || value->is_array()) &&
      !expanded_.contains(key)) {
    if (const toml::node* original = source_->get(key)) return original;
  }
  return value;
}

Error Config::error(std::string_view key, std::string_view message) const {
  return located_error(ErrorKind::config, where(key),
                       "'" + qualified(owner_, key) + "' " + std::string(message));
}

SourceLocation Config::where(std::string_view key) const {
  const auto found = locations_.find(key);
  if (found != locations_.end() && found->second.line > 0) return found->second;
  return table_location_;
}

namespace {
template <typename T>
const toml::value<T>* typed(const toml::node* node) {
  return node == nullptr ? nullptr : node->as<T>();
}
}  // namespace

std::string Config::string(std::string_view key) const {
  if (const auto* v = typed<std::string>(node(key))) return v->get();
  throw error(key, node(key) == nullptr ? "is not set" : "is not a string");
}

std::optional<std::string> Config::optional_string(std::string_view key) const {
  if (node(key) == nullptr) return std::nullopt;
  return string(key);
}

std::int64_t Config::integer(std::string_view key) const {
  if (const auto* v = typed<std::int64_t>(node(key))) return v->get();
  throw error(key, node(key) == nullptr ? "is not set" : "is not an integer");
}

std::optional<std::int64_t> Config::optional_integer(std::string_view key) const {
  if (node(key) == nullptr) return std::nullopt;
  return integer(key);
}

double Config::number(std::string_view key) const {
  const toml::node* n = node(key);
  if (const auto* v = typed<double>(n)) return v->get();
  if (const auto* v = typed<std::int64_t>(n)) return static_cast<double>(v->get());
  throw error(key, n == nullptr ? "is not set" : "is not a number");
}

std::optional<double> Config::optional_number(std::string_view key) const {
  if (node(key) == nullptr) return std::nullopt;
  return number(key);
}

bool Config::boolean(std::string_view key) const {
  if (const auto* v = typed<bool>(node(key))) return v->get();
  throw error(key, node(key) == nullptr ? "is not set" : "is not a boolean");
}

std::filesystem::path Config::path(std::string_view key) const {
  std::filesystem::path p(string(key));
  if (!p.empty() && p.is_relative()) p = (base_dir_ / p).lexically_normal();
  return p;
}

std::vector<std::string> Config::strings(std::string_view key) const {
  const toml::array* arr = array(key);
  if (arr == nullptr) throw error(key, node(key) == nullptr ? "is not set" : "is not an array");
  std::vector<std::string> out;
  for (const toml::node& n : *arr) {
    const auto* s = n.as_string();
    if (s == nullptr) throw error(key, "must hold only strings");
    out.push_back(s->get());
  }
  return out;
}

std::vector<double> Config::numbers(std::string_view key) const {
  const toml::array* arr = array(key);
  if (arr == nullptr) throw error(key, node(key) == nullptr ? "is not set" : "is not an array");
  std::vector<double> out;
  for (const toml::node& n : *arr) {
    const std::optional<double> v = n.value<double>();
    if (!v) throw error(key, "must hold only numbers");
    out.push_back(*v);
  }
  return out;
}

const toml::table* Config::table(std::string_view key) const {
  const toml::node* n = node(key);
  return n == nullptr ? nullptr : n->as_table();
}

const toml::array* Config::array(std::string_view key) const {
  const toml::node* n = node(key);
  return n == nullptr ? nullptr : n->as_array();
}

std::string Config::fingerprint() const { return toml_to_json(values_); }

}  // namespace medsafe
