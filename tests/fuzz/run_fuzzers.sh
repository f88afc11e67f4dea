#!/usr/bin/env bash
# Runs medsafe's libFuzzer targets (the `fuzz` preset) and reports what each did.
#
#   tests/fuzz/run_fuzzers.sh [-j JOBS] [-b BUILD_DIR] [--no-build] SECONDS [TARGET...]
#   tests/fuzz/run_fuzzers.sh [-b BUILD_DIR] --summary
#
# Each TARGET (default: all; names as in tests/fuzz/CMakeLists.txt, e.g. sse_parser) fuzzes for
# SECONDS (-max_total_time), JOBS targets at a time (default 1), with leak detection on, a 2 GB
# RSS limit and a 30 s per-input timeout. Long runs: `run_fuzzers.sh -j 2 3600`. The short CI
# pass: `run_fuzzers.sh -j 2 30`.
#
# Unless --no-build, it first configures (`cmake --preset fuzz`, when BUILD_DIR has no cache) and
# builds the `fuzzers` target. Needs clang-14 and libclang-rt-14-dev (Debian).
#
# Files, all under BUILD_DIR (default build/fuzz):
#   fuzz-corpus/TARGET/     the growing work corpus; the seeds in tests/fuzz/corpus/TARGET are
#                           read, never written
#   fuzz-artifacts/TARGET/  crash-*, leak-*, timeout-*, oom-* reproducers (replay one with
#                           BUILD_DIR/bin/fuzz_TARGET FILE)
#   fuzz-logs/TARGET-TIME.log
#   fuzz-results.tsv        one line per target and run: time, target, seconds, executions,
#                           cov, ft, corpus units, result; --summary adds them up per target
#
# Exit status: 0 when every target ran clean; 1 when any reported a crash, leak, timeout,
# out-of-memory or sanitizer finding; 2 for a usage error.
set -euo pipefail

source_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build_dir="$source_dir/build/fuzz"
jobs=1
build=1
summary=0
seconds=""
targets=()

usage() {
  sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    -j) jobs=${2:?}; shift 2 ;;
    -b) build_dir=$(realpath -m "${2:?}"); shift 2 ;;
    --no-build) build=0; shift ;;
    --summary) summary=1; shift ;;
    -h|--help) usage ;;
    -*) echo "run_fuzzers.sh: unknown option $1" >&2; usage ;;
    *)
      if [[ -z "$seconds" ]]; then seconds=$1; else targets+=("$1"); fi
      shift ;;
  esac
done

results="$build_dir/fuzz-results.tsv"

print_summary() {
  if [[ ! -s "$results" ]]; then
    echo "no fuzzing results in $results yet" >&2
    return 1
  fi
  # Totals per target over every recorded run; coverage and corpus from the latest run.
  awk -F'\t' '
    { seen[$2] = 1; secs[$2] += $3; execs[$2] += $4; cov[$2] = $5; ft[$2] = $6; corp[$2] = $7
      runs[$2]++; if ($8 != "ok") bad[$2]++ }
    END {
      # POSIX awk only (Debian ships mawk: no asorti); sort(1) orders the lines.
      for (t in seen) {
        printf "%-14s %5d %9d %13d %7s %7s %7s %d\n", t, runs[t], secs[t], execs[t], cov[t], ft[t],
               corp[t], bad[t] + 0
      }
    }' "$results" | sort | {
    printf "%-14s %5s %9s %13s %7s %7s %7s %s\n" target runs seconds executions cov ft corpus findings
    cat
  }
}

if [[ $summary -eq 1 ]]; then
  print_summary
  exit $?
fi
[[ "$seconds" =~ ^[0-9]+$ && "$seconds" -gt 0 ]] || usage
[[ "$jobs" =~ ^[0-9]+$ && "$jobs" -gt 0 ]] || usage

if [[ $build -eq 1 ]]; then
  if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
    if [[ "$build_dir" != "$source_dir/build/fuzz" ]]; then
      echo "run_fuzzers.sh: $build_dir is not configured; configure it with the fuzz preset" >&2
      exit 2
    fi
    (cd "$source_dir" && cmake --preset fuzz)
  fi
  cmake --build "$build_dir" --target fuzzers
fi

if [[ ${#targets[@]} -eq 0 ]]; then
  for bin in "$build_dir"/bin/fuzz_*; do
    if [[ -x "$bin" ]]; then targets+=("${bin##*/fuzz_}"); fi
  done
fi
if [[ ${#targets[@]} -eq 0 ]]; then
  echo "run_fuzzers.sh: no fuzz targets in $build_dir/bin" >&2
  exit 2
fi

stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$build_dir/fuzz-logs"
export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

# Fuzzes one target and appends its line to the results file.
run_target() {
  local name=$1
  local bin="$build_dir/bin/fuzz_$name"
  local seeds="$source_dir/tests/fuzz/corpus/$name"
  local corpus="$build_dir/fuzz-corpus/$name"
  local artifacts="$build_dir/fuzz-artifacts/$name"
  local log="$build_dir/fuzz-logs/$name-$stamp.log"
  local dict="$source_dir/tests/fuzz/dict/$name.dict"
  if [[ ! -f "$dict" ]]; then dict="$source_dir/tests/fuzz/dict/${name%%_*}.dict"; fi
  if [[ ! -x "$bin" ]]; then
    echo "run_fuzzers.sh: no fuzz target $bin" >&2
    return 1
  fi
  mkdir -p "$corpus" "$artifacts"
  local before after
  before=$(find "$artifacts" -type f | wc -l)
  local started=$SECONDS status=0
  local args=(-max_total_time="$seconds" -rss_limit_mb=2048 -timeout=30 -detect_leaks=1
              -print_final_stats=1 -artifact_prefix="$artifacts/")
  if [[ -f "$dict" ]]; then args+=(-dict="$dict"); fi
  "$bin" "${args[@]}" "$corpus" "$seeds" >"$log" 2>&1 || status=$?
  local elapsed=$((SECONDS - started))
  after=$(find "$artifacts" -type f | wc -l)

  local executions cov ft units result=ok
  executions=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || true)
  local last
  last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  units=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$last")
  if [[ $status -ne 0 || $after -gt $before ]] ||
     grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' "$log"; then
    result=FINDING
  fi
  printf '%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n' "$stamp" "$name" "$elapsed" "${executions:-0}" \
    "${cov:-?}" "${ft:-?}" "${units:-?}" "$result" >>"$results"
  printf '%-14s %6ss %12s execs  cov %-6s ft %-6s corpus %-6s %s\n' "$name" "$elapsed" \
    "${executions:-0}" "${cov:-?}" "${ft:-?}" "${units:-?}" "$result"
  if [[ $result != ok ]]; then
    echo "  see $log and $artifacts/" >&2
    return 1
  fi
}

echo "fuzzing ${#targets[@]} target(s) for ${seconds}s each, $jobs at a time (logs: $build_dir/fuzz-logs)"
failed=0
running=0
for name in "${targets[@]}"; do
  if [[ $running -ge $jobs ]]; then
    wait -n || failed=1
    running=$((running - 1))
  fi
  run_target "$name" &
  running=$((running + 1))
done
while [[ $running -gt 0 ]]; do
  wait -n || failed=1
  running=$((running - 1))
done
exit $failed
