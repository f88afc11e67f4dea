#!/usr/bin/env bash
# The run-benchmark kernel's size (issue 15's figure, goal <= 6k lines): the SDK (headers and
# sources) and the engine's plugin loading, run and store sources. Prints every file it counts
# with its lines, a total per part and in all, and which kernel files include an engine header
# outside the kernel. The SDK's support libraries are printed after the total, each as a part of
# its own, not counted in it: medsafe_http (core/include/medsafe/http, core/src/http), which only
# HTTP backends load, and medsafe_demos (core/include/medsafe/demos, core/src/demos), which only
# the plugins that read demonstration files (few_shot) and the reports load. Informational:
# .ci/run prints it, nothing fails on it.
#   tools/kernel-lines.sh [source dir]
set -euo pipefail
root=${1:-"$(cd "$(dirname "$0")/.." && pwd)"}
cd "$root"
# The kernel is three folders of the engine; its other folder (ops: merge, doctor, command-line
# parsing) and the report library (core/src/report) are outside it.
plugin_dir=core/src/engine/plugin
run_dir=core/src/engine/run
store_dir=core/src/engine/store
files_in() { ls "$1"/*.hpp "$1"/*.cpp 2>/dev/null | sort; }

total=0
kernel_files=()
count_part() {
  local part=$1
  shift
  local sum=0 file lines
  for file in "$@"; do
    lines=$(wc -l <"$file")
    printf '%7d  %s\n' "$lines" "$file"
    sum=$((sum + lines))
    kernel_files+=("$file")
  done
  printf '%7d  = %s\n' "$sum" "$part"
  total=$((total + sum))
}

mapfile -t sdk < <(ls core/include/medsafe/*.hpp core/src/sdk/*.cpp | sort)
mapfile -t plugin < <(files_in "$plugin_dir")
mapfile -t run < <(files_in "$run_dir")
mapfile -t store < <(files_in "$store_dir")
echo "kernel-lines: the run-benchmark kernel (SDK + plugin loading + run + store)"
count_part "SDK (core/include/medsafe, core/src/sdk)" "${sdk[@]}"
count_part "plugin loading and configuration" "${plugin[@]}"
count_part "run" "${run[@]}"
count_part "store" "${store[@]}"
printf '%7d  = kernel total (goal: <= 6000)\n' "$total"

# Apart from the kernel total: the SDK's support libraries, for the plugins that link them.
mapfile -t http < <(ls core/include/medsafe/http/*.hpp core/src/http/*.cpp | sort)
mapfile -t demos < <(ls core/include/medsafe/demos/*.hpp core/src/demos/*.cpp | sort)
kernel_total=$total
count_part "HTTP support library medsafe_http (core/include/medsafe/http, core/src/http; not in the kernel total)" "${http[@]}"
count_part "demonstration files library medsafe_demos (core/include/medsafe/demos, core/src/demos; not in the kernel total)" "${demos[@]}"
total=$kernel_total

# Where the kernel still reaches outside itself (reports, metrics, ops): an include of a core
# header that is neither the SDK's nor in one of the three kernel folders.
outside=""
for file in "${kernel_files[@]}"; do
  while read -r header; do
    case "$header" in
      engine/plugin/* | engine/run/* | engine/store/*) ;;
      *) outside+="  $file -> $header"$'\n' ;;
    esac
  done < <(sed -nE 's/^#include "((engine|report)\/[^"]+)"/\1/p' "$file")
done
if [[ -n "$outside" ]]; then
  echo "kernel-lines: kernel files that include core headers outside the kernel:"
  printf '%s' "$outside"
fi
