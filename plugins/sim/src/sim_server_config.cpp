// The server's --config file uses the `sim` manifest's keys; the manifest is built in so that
// the program needs no file beside it.
#include <fstream>
#include <sstream>

#include "medsafe/manifest.hpp"
#include "sim_manifest.inc"
#include "sim_server.hpp"

namespace medsafe::sim {

const ConfigSchema& sim_config_schema() {
  static const ConfigSchema schema = parse_manifest(kSimManifest, kSimManifestPath).config;
  return schema;
}

Settings settings_from_toml(std::string_view text, std::string_view source_name) {
  return Settings::from_config(Config::from_toml(text, sim_config_schema(), source_name));
}

Settings load_settings_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(ErrorKind::io, file.string() + ": error: cannot read the settings file");
  std::ostringstream text;
  text << in.rdbuf();
  return settings_from_toml(text.str(), file.string());
}

}  // namespace medsafe::sim
