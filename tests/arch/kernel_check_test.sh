#!/usr/bin/env bash
# tools/check-kernel-includes.sh must fail on a kernel source that includes a report header or
# an ops header, and pass on a kernel that includes only itself and the SDK (scratch trees).
#   kernel_check_test.sh <check script> <scratch folder>
set -uo pipefail
check=$1
scratch=$2
failures=0

expect() {  # expect <exit code> <text the output must contain> <tree>
  local want=$1 text=$2 tree=$3 out rc
  out=$(bash "$check" "$tree" 2>&1)
  rc=$?
  if [[ $rc -ne $want || "$out" != *"$text"* ]]; then
    echo "FAIL: $tree: exit $rc (want $want), output: $out"
    failures=$((failures + 1))
  else
    echo "ok: $tree: exit $rc"
  fi
}

tree() {  # tree <name> <file under core/src/engine> <its text>
  local dir=$scratch/$1
  rm -rf "$dir"
  mkdir -p "$dir/core/src/engine/plugin" "$dir/core/src/engine/run" "$dir/core/src/engine/store"
  printf '#include "engine/store/store.hpp"\n#include "medsafe/plugin.hpp"\n' \
    >"$dir/core/src/engine/run/ok.cpp"
  if [[ -n $2 ]]; then printf '%s\n' "$3" >"$dir/core/src/engine/$2"; fi
  echo "$dir"
}

expect 0 "" "$(tree clean "" "")"
expect 1 "engine/run/a.cpp:1:" "$(tree report run/a.cpp '#include "report/metrics.hpp"')"
expect 1 "engine/store/b.hpp:2:" "$(tree ops store/b.hpp $'#pragma once\n#  include "engine/ops/merge.hpp"')"
expect 1 "engine/plugin/c.cpp:1:" "$(tree cli plugin/c.cpp '#include <cli/commands.hpp>')"
expect 2 "" "$scratch/no-such-tree"
exit $((failures > 0))
