#!/usr/bin/env bash
# The plugin boundary, checked: no file under plugins/ (a plugin's sources, its tests, its CMake)
# includes an engine or report header (`engine/...`, `report/...`) or names core/src/engine or
# core/src/report. Plugins and their tests see the SDK (core/include/medsafe) only; tests that go through the engine live in tests/.
#   tools/check-plugin-includes.sh [source dir]   (default: the repository this script is in)
# Prints each offending line as file:line: text and exits 1 when there is one, 2 on bad usage.
set -euo pipefail
root=${1:-"$(cd "$(dirname "$0")/.." && pwd)"}
if [[ ! -d "$root/plugins" ]]; then
  echo "check-plugin-includes: $root/plugins: no such folder" >&2
  exit 2
fi
cd "$root"
# An #include of engine/..., or core/src/engine anywhere (an include path in CMake, a relative
# include that climbs into it).
found=$(grep -rnE --binary-files=without-match \
          -e '^[[:space:]]*#[[:space:]]*include[[:space:]]*["<](engine|report)/' \
          -e 'core/src/(engine|report)' plugins || true)
if [[ -n "$found" ]]; then
  echo "check-plugin-includes: plugins must use only the SDK (core/include/medsafe):" >&2
  echo "$found" >&2
  exit 1
fi
echo "check-plugin-includes: no file under plugins/ includes the engine"
