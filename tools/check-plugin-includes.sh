#!/usr/bin/env bash
# The plugin boundary, checked: no file under plugins/ (a plugin's sources, its tests, its CMake)
# includes an engine or report header (`engine/...`, `report/...`) or names core/src/engine or
# core/src/report. Plugins and their tests see the SDK (core/include/medsafe) only; tests that go through the engine live in tests/.
# The test helpers plugin tests include (tests/support, as "support/..."), the helpers those
# include in turn, and the .cpp beside each such header (linked into the same tests) are part of
# the plugin tests, so they are held to the same rule.
#   tools/check-plugin-includes.sh [source dir]   (default: the repository this script is in)
# Prints each offending line as file:line: text and exits 1 when there is one, 2 on bad usage.
set -euo pipefail
root=${1:-"$(cd "$(dirname "$0")/.." && pwd)"}
if [[ ! -d "$root/plugins" ]]; then
  echo "check-plugin-includes: $root/plugins: no such folder" >&2
  exit 2
fi
cd "$root"

# The "support/..." names the given files or folders #include.
support_includes() {
  grep -rhoE --binary-files=without-match \
    '^[[:space:]]*#[[:space:]]*include[[:space:]]*["<]support/[^">]+' "$@" |
    sed -E 's/.*["<]//' || true
}

# The tests/support files plugin tests compile or link: followed from plugins/ through the
# helpers' own includes, each file once.
helpers=()
if [[ -d tests/support ]]; then
  declare -A seen=()
  mapfile -t pending < <(support_includes plugins)
  while ((${#pending[@]} > 0)); do
    name=${pending[-1]}
    unset 'pending[-1]'
    for file in "tests/$name" "tests/${name%.*}.cpp"; do
      if [[ -n ${seen[$file]:-} || ! -f $file ]]; then continue; fi
      seen[$file]=1
      helpers+=("$file")
      mapfile -t more < <(support_includes "$file")
      pending+=("${more[@]}")
    done
  done
fi

# An #include of engine/..., or core/src/engine anywhere (an include path in CMake, a relative
# include that climbs into it).
patterns=(-e '^[[:space:]]*#[[:space:]]*include[[:space:]]*["<](engine|report)/'
          -e 'core/src/(engine|report)')
found=$(grep -rnE --binary-files=without-match "${patterns[@]}" plugins || true)
if ((${#helpers[@]} > 0)); then
  found_in_helpers=$(grep -nHE --binary-files=without-match "${patterns[@]}" "${helpers[@]}" ||
                       true)
  if [[ -n $found_in_helpers ]]; then
    found+=${found:+$'\n'}$found_in_helpers
  fi
fi
if [[ -n "$found" ]]; then
  echo "check-plugin-includes: plugins and the test helpers their tests include must use only" \
       "the SDK (core/include/medsafe):" >&2
  echo "$found" >&2
  exit 1
fi
echo "check-plugin-includes: no file under plugins/ includes the engine, nor do the" \
     "${#helpers[@]} test helpers they include"
