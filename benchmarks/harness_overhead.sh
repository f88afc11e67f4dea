#!/usr/bin/env bash
# Harness overhead: how many requests per second medsafe drives through its real path (runner's
# load loop, `openai` backend, libcurl transport, store) compared with wrk, a minimal C load
# generator, on the same endpoint of the simulated server answering instantly.
#
#   benchmarks/harness_overhead.sh [BUILD_DIR]        (default: build/release)
#
# Environment: ROUNDS (5), DURATION_S (10), CONCURRENCY (64), WARMUP_S (1), OUTPUT_TOKENS (4).
# Each round runs medsafe and wrk one after the other (alternating which goes first), against one
# medsafe-sim-server (ttft_ms = itl_ms = 0, non-streaming). It prints each round's rates and
# ratio, then the median ratio and its spread. Needs: wrk (Debian package), python3, a Release
# build of medsafe, medsafe-sim-server and the openai and synthetic plugins.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../build/release}" && pwd)
rounds=${ROUNDS:-5}
duration=${DURATION_S:-10}
concurrency=${CONCURRENCY:-64}
warmup=${WARMUP_S:-1}
output_tokens=${OUTPUT_TOKENS:-4}
prompt_words=16

for tool in wrk python3 "$build/bin/medsafe" "$build/bin/medsafe-sim-server"; do
  command -v "$tool" > /dev/null || { echo "harness_overhead: $tool not found" >&2; exit 2; }
done

work=$(mktemp -d /tmp/medsafe-harness.XXXXXX)
sim_pid=""
cleanup() {
  if [[ -n "$sim_pid" ]]; then kill "$sim_pid" 2> /dev/null || true; wait "$sim_pid" 2> /dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

cat > "$work/sim.toml" << EOF
refusal_rate = 0
output_tokens = $output_tokens
ttft_ms = 0
itl_ms = 0
EOF
"$build/bin/medsafe-sim-server" --port 0 --port-file "$work/port" --config "$work/sim.toml" \
  --log-limit 0 > "$work/sim.out" 2>&1 &
sim_pid=$!
for _ in $(seq 100); do [[ -s "$work/port" ]] && break; sleep 0.05; done
[[ -s "$work/port" ]] || { echo "harness_overhead: the simulated server did not start" >&2; cat "$work/sim.out" >&2; exit 1; }
port=$(cat "$work/port")
url="http://127.0.0.1:$port/v1"

# The run file: no safety phase, one load point, requests bounded by time only.
cat > "$work/run.toml" << EOF
[run]
name = "harness-overhead"
seed = 1

[models.target]
plugin = "openai"
base_url = "$url"
model = "medsafe-sim"
stream = false
max_tokens = $output_tokens

[suites.load]
plugin = "synthetic"
count = 256
prompt_tokens = $prompt_words
safety = false

[load.x]
models = ["target"]
suite = "load"
mode = "concurrency"
levels = [$concurrency]
requests = 0
duration_s = $duration
warmup_s = $warmup
EOF

# The same body the openai backend sends for a synthetic prompt of the same length.
python3 - "$work/body.lua" "$prompt_words" "$output_tokens" << 'EOF'
import json, sys
path, words, tokens = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
prompt = " ".join(["clinic"] * words)
body = json.dumps({"model": "medsafe-sim", "messages": [{"role": "user", "content": prompt}],
                   "stream": False, "temperature": 0, "max_tokens": tokens}, separators=(",", ":"))
with open(path, "w") as out:
    out.write('wrk.method = "POST"\n')
    out.write('wrk.headers["Content-Type"] = "application/json"\n')
    out.write('wrk.headers["Accept"] = "application/json"\n')
    out.write("wrk.body = [==[" + body + "]==]\n")
EOF

run_medsafe() {
  local out="$work/run-$1"
  "$build/bin/medsafe" run "$work/run.toml" --out "$out" -q > "$work/medsafe-$1.log" 2>&1 || {
    echo "harness_overhead: medsafe run failed:" >&2; cat "$work/medsafe-$1.log" >&2; exit 1; }
  python3 - "$out/latency.csv" << 'EOF'
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["mode"] == "concurrency"]
r = rows[0]
if int(r["failed"]) > 0:
    sys.exit(f"harness_overhead: medsafe saw {r['failed']} failed requests")
print(r["req_per_s"], r["requests"])
EOF
}

run_wrk() {
  # wrk's own warm-up: a short run first, so both start on open, warm connections.
  wrk -t2 -c"$concurrency" -d"${warmup}s" -s "$work/body.lua" "$url/chat/completions" > /dev/null
  wrk -t2 -c"$concurrency" -d"${duration}s" -s "$work/body.lua" "$url/chat/completions" \
    > "$work/wrk-$1.log"
  if grep -q "Non-2xx" "$work/wrk-$1.log"; then
    echo "harness_overhead: wrk got errors:" >&2; cat "$work/wrk-$1.log" >&2; exit 1
  fi
  awk '/^Requests\/sec:/ {print $2}' "$work/wrk-$1.log"
}

echo "harness overhead: concurrency $concurrency, ${duration} s per measurement (+${warmup} s warm-up),"
echo "non-streaming, $output_tokens output tokens, $(nproc) cores, $rounds rounds, server $url"
printf '%-6s %-6s %14s %14s %8s\n' round first medsafe_req_s wrk_req_s ratio
ratios=()
for round in $(seq "$rounds"); do
  if (( round % 2 )); then
    read -r m_rate m_requests < <(run_medsafe "$round")
    w_rate=$(run_wrk "$round")
    first=medsafe
  else
    w_rate=$(run_wrk "$round")
    read -r m_rate m_requests < <(run_medsafe "$round")
    first=wrk
  fi
  ratio=$(python3 -c "print(f'{$m_rate / $w_rate:.3f}')")
  ratios+=("$ratio")
  printf '%-6s %-6s %14.0f %14.0f %8s\n' "$round" "$first" "$m_rate" "$w_rate" "$ratio"
done
python3 - "${ratios[@]}" << 'EOF'
import statistics, sys
r = sorted(float(x) for x in sys.argv[1:])
print(f"medsafe/wrk: median {statistics.median(r):.3f}, min {r[0]:.3f}, max {r[-1]:.3f} "
      f"over {len(r)} rounds (target >= 0.5)")
EOF
