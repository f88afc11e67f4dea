#!/usr/bin/env bash
# Scale: what a run costs as it grows. Runs, one after the other, the 74,374 MedSafetyBench
# Llama-3 prompts (split = "llama3") and SYNTHETIC_ITEMS synthetic prompts (default 1,000,000)
# against the in-process simulated model at concurrency 64, judged by the refusal judge, and
# prints for each: items, wall seconds, peak RSS, store MB and report.html MB (+ its side files);
# then the RSS ratio of the synthetic run to the Llama-3 run and whether report.html stayed
# within 10 MB. With a Chromium (/usr/bin/chromium or $MEDSAFE_CHROMIUM) it also opens each
# report.html headless and prints how long the page took to show the answers drill-down.
#
#   benchmarks/scale.sh [BUILD_DIR]          (default: build/release)
#
# Environment: SYNTHETIC_ITEMS (1000000), CONCURRENCY (64), DATA (../shared/data, relative to
# the repository), KEEP=1 to keep the run folders. Needs GNU time (/usr/bin/time), a Release
# build of medsafe with the sim, synthetic, medsafetybench and refusal plugins. Not a test:
# timings are never pass/fail.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../build/release}" && pwd)
items=${SYNTHETIC_ITEMS:-1000000}
concurrency=${CONCURRENCY:-64}
data=${DATA:-$here/../../shared/data}
browser=${MEDSAFE_CHROMIUM:-/usr/bin/chromium}
limit=$((10 * 1024 * 1024))

[[ -x /usr/bin/time ]] || { echo "scale: GNU time (/usr/bin/time) not found" >&2; exit 2; }
[[ -x "$build/bin/medsafe" ]] || { echo "scale: $build/bin/medsafe not found" >&2; exit 2; }

work=$(mktemp -d /tmp/medsafe-scale.XXXXXX)
cleanup() { if [[ "${KEEP:-0}" != 1 ]]; then rm -rf "$work"; else echo "kept $work"; fi; }
trap cleanup EXIT

common_models() {
  cat << EOF
[run]
name = "$1"
seed = 1

[models.target]
plugin = "sim"
refusal_rate = 0.7
concurrency = $concurrency

[judges.refusal]
plugin = "refusal"

EOF
}

mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

# Seconds until the page's script has run and shows its drill-down (headless, from disk).
page_seconds() {
  local html=$1 start end
  [[ -x "$browser" ]] || { echo "-"; return; }
  start=$(date +%s.%N)
  if timeout 120 "$browser" --headless --no-sandbox --disable-gpu --no-first-run \
    --user-data-dir="$work/chromium" --virtual-time-budget=5000 --dump-dom "file://$html" \
    2> /dev/null | grep -q 'data-script="ready"'; then
    end=$(date +%s.%N)
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }'
  else
    echo "failed"
  fi
}

declare -A rss
printf '%-12s %9s %8s %10s %9s %10s %10s %8s\n' run items wall_s peak_rss_MB store_MB \
  report_MB side_MB open_s
measure() {
  local label=$1 run_file=$2 out="$work/$1"
  /usr/bin/time -v -o "$work/$label.time" "$build/bin/medsafe" run "$run_file" --out "$out" -q \
    > "$work/$label.out" 2>&1 || {
    echo "scale: the $label run failed:" >&2
    tail -20 "$work/$label.out" >&2
    exit 1
  }
  local wall kb n store report side open
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0;
    for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.1f", s }' "$work/$label.time")
  kb=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/$label.time")
  rss[$label]=$kb
  n=$(wc -l < "$out/responses.jsonl")
  store=$(du -cb "$out"/medsafe.db* | tail -1 | cut -f1)
  report=$(stat -c %s "$out/report.html")
  side=0
  [[ -d "$out/report-answers" ]] && side=$(du -sb "$out/report-answers" | cut -f1)
  open=$(page_seconds "$out/report.html")
  printf '%-12s %9s %8s %10s %9s %10s %10s %8s\n' "$label" "$n" "$wall" "$((kb / 1024))" \
    "$(mb "$store")" "$(mb "$report")" "$(mb "$side")" "$open"
  if ((report > limit)); then echo "  $label: report.html is over 10 MB"; else
    echo "  $label: report.html within 10 MB"; fi
}

if [[ -d "$data/medsafetybench/med_harm_llama3" ]]; then
  {
    common_models msb-llama3
    cat << EOF
[suites.medsafety]
plugin = "medsafetybench"
path = "$(cd "$data/medsafetybench" && pwd)"
split = "llama3"
EOF
  } > "$work/llama3.toml"
  measure llama3 "$work/llama3.toml"
else
  echo "llama3: skipped, no MedSafetyBench Llama-3 split in $data/medsafetybench/med_harm_llama3"
fi

{
  common_models synthetic
  cat << EOF
[suites.synthetic]
plugin = "synthetic"
count = $items
prompt_tokens = 16
EOF
} > "$work/synthetic.toml"
measure synthetic "$work/synthetic.toml"

if [[ -n "${rss[llama3]:-}" ]]; then
  awk -v a="${rss[synthetic]}" -v b="${rss[llama3]}" -v n="$items" \
    'BEGIN { printf "RSS ratio synthetic (%d items) / llama3: %.2f (target <= 1.2)\n", n, a / b }'
fi
