#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "medsafe/error.hpp"
#include "medsafe/export.hpp"

namespace medsafe {

/// The type a configuration key accepts.
enum class ValueType : std::uint8_t {
  string,       ///< TOML string
  integer,      ///< TOML integer (int64)
  number,       ///< TOML float or integer
  boolean,      ///< TOML boolean
  path,         ///< TOML string naming a file or folder, resolved relative to the run file
  string_list,  ///< TOML array of strings
  table,        ///< TOML table (free-form below it; the plugin checks it)
  table_list,   ///< TOML array of tables (free-form below it; the plugin checks it)
  number_list,  ///< TOML array of numbers (floats or integers)
};

/// "string", "integer", ... as written in manifests.
[[nodiscard]] MEDSAFE_API std::string_view to_string(ValueType type) noexcept;
[[nodiscard]] MEDSAFE_API std::optional<ValueType> value_type_from_string(std::string_view name);
/// Whether `node` holds a `type` (a list only elements of its type): a configured value and a
/// manifest's default are checked alike, so a component reads either with the same accessor.
[[nodiscard]] MEDSAFE_API bool has_type(const toml::node& node, ValueType type);

/// One documented configuration key, as declared in a manifest (or by core for its own keys).
struct MEDSAFE_API KeySpec {
  std::string name;
  ValueType type = ValueType::string;
  std::string doc;        ///< what the key means, one or two sentences
  bool required = false;  ///< no default: the run file must set it
  /// "${NAME}" in the value (in each string of a table or array) is replaced from the
  /// environment
  bool env_expand = false;
  std::vector<std::string> choices;  ///< for strings: the allowed values (empty: any)
  std::shared_ptr<const toml::node> default_value;  ///< copied into the config when absent

  /// The default as TOML text ("512", "\"gpt-4o\"", "[]"), or "" when there is none.
  [[nodiscard]] std::string default_text() const;
};

/// The keys a component accepts.
struct MEDSAFE_API ConfigSchema {
  std::vector<KeySpec> keys;

  [[nodiscard]] const KeySpec* find(std::string_view name) const noexcept;
  /// "a, b, c": for "unknown key" messages.
  [[nodiscard]] std::string key_list() const;
};

/// A validated, typed view over one component's table in a run file.
///
/// Built by core after checking the table against the component's schema: every key is known,
/// every value has its declared type, required keys are present, defaults are filled in,
/// "${ENV}" is expanded where allowed, and paths are absolute. Accessors throw a located
/// config Error only for misuse (asking for an undeclared key or the wrong type).
class MEDSAFE_API Config {
 public:
  Config();
  Config(std::string owner, toml::table values, std::filesystem::path base_dir);
  Config(const Config& other);
  Config& operator=(const Config& other);
  Config(Config&&) noexcept;
  Config& operator=(Config&&) noexcept;
  ~Config();

  /// Checks `section` against `schema` (keys of `ignored` are skipped: they belong to core),
  /// applies defaults and expansions, and returns the view. `owner` names the section in
  /// messages ("models.target"); relative paths resolve against `base_dir`.
  [[nodiscard]] static Config validate(std::string owner, const toml::table& section,
                                       const ConfigSchema& schema,
                                       const std::filesystem::path& base_dir,
                                       const ConfigSchema* ignored = nullptr);
  /// As above, and keeps `section` alive so that nested tables and arrays handed out by
  /// table(), array() and node() still carry their file positions (toml++ copies do not).
  [[nodiscard]] static Config validate(std::string owner,
                                       std::shared_ptr<const toml::table> section,
                                       const ConfigSchema& schema,
                                       const std::filesystem::path& base_dir,
                                       const ConfigSchema* ignored = nullptr);

  /// Parses TOML text and validates it as above: for tests and tools.
  [[nodiscard]] static Config from_toml(std::string_view toml_text, const ConfigSchema& schema,
                                        std::string_view source_name = "<inline>");

  [[nodiscard]] const std::string& owner() const noexcept { return owner_; }
  [[nodiscard]] bool has(std::string_view key) const;

  [[nodiscard]] std::string string(std::string_view key) const;
  [[nodiscard]] std::int64_t integer(std::string_view key) const;
  [[nodiscard]] double number(std::string_view key) const;
  [[nodiscard]] bool boolean(std::string_view key) const;
  [[nodiscard]] std::filesystem::path path(std::string_view key) const;
  [[nodiscard]] std::vector<std::string> strings(std::string_view key) const;
  [[nodiscard]] std::vector<double> numbers(std::string_view key) const;
  /// Absent (no value and no default) gives nullopt; an empty string is a value.
  [[nodiscard]] std::optional<std::string> optional_string(std::string_view key) const;
  [[nodiscard]] std::optional<std::int64_t> optional_integer(std::string_view key) const;
  [[nodiscard]] std::optional<double> optional_number(std::string_view key) const;
  [[nodiscard]] const toml::table* table(std::string_view key) const;
  [[nodiscard]] const toml::array* array(std::string_view key) const;
  [[nodiscard]] const toml::node* node(std::string_view key) const;

  /// Where the key was set (or its table, when it came from a default).
  [[nodiscard]] SourceLocation where(std::string_view key) const;
  /// A config Error located at `key`: "file:line:col: error: '<owner>.<key>' <message>".
  [[nodiscard]] Error error(std::string_view key, std::string_view message) const;

  /// Every value, defaults included.
  [[nodiscard]] const toml::table& values() const noexcept { return values_; }
  /// The values "${NAME}" expansions put in (each variable's value, once per use): secrets
  /// by policy, to be registered with the run's Log so that nothing prints or stores them.
  [[nodiscard]] const std::vector<std::string>& from_environment() const noexcept {
    return from_environment_;
  }
  /// A canonical text of all values, for deciding whether a resumed run changed its config.
  [[nodiscard]] std::string fingerprint() const;
  [[nodiscard]] const std::filesystem::path& base_dir() const noexcept { return base_dir_; }

 private:
  std::string owner_;
  toml::table values_;
  std::filesystem::path base_dir_;
  SourceLocation table_location_;
  std::map<std::string, SourceLocation, std::less<>> locations_;  ///< where each key was set
  std::shared_ptr<const toml::table> source_;  ///< the table as parsed, when kept
  std::vector<std::string> from_environment_;
  std::set<std::string, std::less<>> expanded_;  ///< tables and arrays with ${ENV} expanded
};

/// Location of a toml++ node ("file:line:col").
[[nodiscard]] MEDSAFE_API SourceLocation location_of(const toml::node& node);
/// Parses TOML `text` read from `source` (the file messages and node positions name); a syntax
/// error throws a config Error located where toml++ found it.
[[nodiscard]] MEDSAFE_API toml::table parse_toml(std::string_view text, std::string_view source);
/// A TOML value as JSON text (tables → objects, arrays → arrays, dates → strings).
[[nodiscard]] MEDSAFE_API std::string toml_to_json(const toml::node& node);

}  // namespace medsafe
