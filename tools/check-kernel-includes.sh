#!/usr/bin/env bash
# The kernel stands alone: no source of the run-benchmark kernel (core/src/engine/{plugin,run,
# store}) includes a core header outside it — not the reports (core/src/report), not the
# run-folder operations (core/src/engine/ops), not the CLI. The SDK (medsafe/...) is in reach.
# The reports may include the kernel, never the other way round (issue 15's split).
#   tools/check-kernel-includes.sh [source dir]   (default: the repository this script is in)
# Prints each offending line as file:line: text and exits 1 when there is one, 2 on bad usage.
set -euo pipefail
root=${1:-"$(cd "$(dirname "$0")/.." && pwd)"}
src=$root/core/src
for part in plugin run store; do
  if [[ ! -d "$src/engine/$part" ]]; then
    echo "check-kernel-includes: $src/engine/$part: no such folder" >&2
    exit 2
  fi
done
cd "$src"
# Quoted includes of a core folder (engine/, report/, cli/, sdk/, http/) that are not the kernel's.
found=$(grep -rnE --binary-files=without-match \
          '^[[:space:]]*#[[:space:]]*include[[:space:]]*["<](engine|report|cli|sdk|http)/' \
          engine/plugin engine/run engine/store |
        grep -vE '#[[:space:]]*include[[:space:]]*["<]engine/(plugin|run|store)/' || true)
if [[ -n "$found" ]]; then
  echo "check-kernel-includes: the kernel (core/src/engine/{plugin,run,store}) must not include" \
       "reports, ops or the CLI:" >&2
  echo "$found" >&2
  exit 1
fi
echo "check-kernel-includes: the kernel includes only itself and the SDK"
