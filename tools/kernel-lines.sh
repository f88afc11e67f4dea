#!/usr/bin/env bash
# The run-benchmark kernel's size (issue 15's figure, goal <= 6k lines): the SDK (headers and
# sources) and the engine's plugin loading, run and store sources. Prints every file it counts
# with its lines, a total per part and in all, and which kernel files include an engine header
# outside the kernel. The SDK's HTTP support library (medsafe_http: core/include/medsafe/http,
# core/src/http) is printed after the total as a part of its own, not counted in it: only HTTP
# backends load it. Informational: .ci/run prints it, nothing fails on it.
#   tools/kernel-lines.sh [source dir]
set -euo pipefail
root=${1:-"$(cd "$(dirname "$0")/.." && pwd)"}
cd "$root"
engine=core/src/engine
# What each part of the engine holds (both the .hpp and the .cpp of each, where they exist).
plugin_part="plugin_catalog assembly run_file key_spec"
run_part="runner load_runner flow_control event_queue item_changes config_diff response_row
          run_lock shard calibration bootstrap"
store_part="store sqlite item_hash run_data"

files_of() {
  local name
  for name in $1; do
    for ext in hpp cpp; do
      [[ -f $engine/$name.$ext ]] && echo "$engine/$name.$ext"
    done
  done
  return 0
}

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
mapfile -t plugin < <(files_of "$plugin_part")
mapfile -t run < <(files_of "$run_part")
mapfile -t store < <(files_of "$store_part")
echo "kernel-lines: the run-benchmark kernel (SDK + plugin loading + run + store)"
count_part "SDK (core/include/medsafe, core/src/sdk)" "${sdk[@]}"
count_part "plugin loading and configuration" "${plugin[@]}"
count_part "run" "${run[@]}"
count_part "store" "${store[@]}"
printf '%7d  = kernel total (goal: <= 6000)\n' "$total"

# Apart from the kernel total: the HTTP support library, for the HTTP backends.
mapfile -t http < <(ls core/include/medsafe/http/*.hpp core/src/http/*.cpp | sort)
kernel_total=$total
count_part "HTTP support library medsafe_http (core/include/medsafe/http, core/src/http; not in the kernel total)" "${http[@]}"
total=$kernel_total

# Where the kernel still reaches into the rest of the engine (reports, metrics, ...).
outside=""
for file in "${kernel_files[@]}"; do
  while read -r header; do
    name=${header#engine/}
    name=${name%.hpp}
    case " $(echo $plugin_part $run_part $store_part) " in
      *" $name "*) ;;
      *) outside+="  $file -> $header"$'\n' ;;
    esac
  done < <(sed -nE 's/^#include "(engine\/[^"]+)"/\1/p' "$file")
done
if [[ -n "$outside" ]]; then
  echo "kernel-lines: kernel files that include engine headers outside the kernel:"
  printf '%s' "$outside"
fi
