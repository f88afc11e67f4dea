#!/usr/bin/env bash
# tools/check-plugin-includes.sh must fail on a plugin that includes the engine: a plugin source
# with #include "engine/...", a plugin test with <engine/...>, and a plugin CMake file that puts
# core/src/engine on an include path, each alone in a scratch tree; and pass on a clean tree.
# The test helpers plugin tests include (tests/support) count as theirs: the check must fail on
# the loaded_plugin.hpp that included the engine's catalog (before issue 15), on a helper reached
# through another helper, and on the .cpp beside an included helper header; a helper no plugin
# includes may use the engine.
#   include_check_test.sh <check script> <scratch folder>
set -uo pipefail
check=$1
scratch=$2
failures=0

expect() {  # expect <wanted exit code> <wanted text in the output> <tree>
  local want=$1 text=$2 tree=$3 out rc
  out=$(bash "$check" "$tree" 2>&1)
  rc=$?
  if [[ $rc -ne $want ]]; then
    echo "FAIL: $tree: exit $rc, wanted $want; output: $out"
    failures=$((failures + 1))
  elif [[ -n $text && $out != *"$text"* ]]; then
    echo "FAIL: $tree: output does not name '$text': $out"
    failures=$((failures + 1))
  else
    echo "ok: $tree: exit $rc"
  fi
}

tree() {  # tree <name> <file under plugins/x> <its text>
  local dir=$scratch/$1
  rm -rf "$dir"
  mkdir -p "$dir/plugins/x/src" "$dir/plugins/x/tests"
  echo '#include "medsafe/plugin.hpp"' >"$dir/plugins/x/src/ok.cpp"
  if [[ -n $2 ]]; then printf '%s\n' "$3" >"$dir/plugins/x/$2"; fi
  echo "$dir"
}

expect 0 "" "$(tree clean "" "")"
expect 1 "plugins/x/src/a.cpp:1:" "$(tree source src/a.cpp '#include "engine/store/store.hpp"')"
expect 1 "plugins/x/src/r.cpp:1:" "$(tree report src/r.cpp '#include "report/metrics.hpp"')"
expect 1 "plugins/x/tests/t.cpp:1:" "$(tree test tests/t.cpp '  #  include <engine/run/runner.hpp>')"
expect 1 "plugins/x/CMakeLists.txt:1:" \
  "$(tree cmake CMakeLists.txt 'target_include_directories(x PRIVATE ${PROJECT_SOURCE_DIR}/core/src/engine)')"
expect 1 "plugins/x/CMakeLists.txt:1:" \
  "$(tree cmake-report CMakeLists.txt 'target_include_directories(x PRIVATE ${PROJECT_SOURCE_DIR}/core/src/report)')"

helper() {  # helper <tree> <file under tests/support> <its text>: adds a test helper to a tree
  mkdir -p "$1/tests/support"
  printf '%s\n' "$3" >"$1/tests/support/$2"
  echo "$1"
}
uses_loaded_plugin=$(tree old-loaded-plugin tests/t.cpp '#include "support/loaded_plugin.hpp"')
expect 1 "tests/support/loaded_plugin.hpp:3:" "$(helper "$uses_loaded_plugin" loaded_plugin.hpp \
  "$(printf '%s\n' '#pragma once' '#include <filesystem>' \
     '#include "engine/plugin/plugin_catalog.hpp"' '#include "medsafe/plugin.hpp"')")"
through=$(tree helper-of-helper tests/t.cpp '#include <support/outer.hpp>')
helper "$through" outer.hpp '#include "support/inner.hpp"' >/dev/null
expect 1 "tests/support/inner.hpp:1:" "$(helper "$through" inner.hpp '#include "report/metrics.hpp"')"
beside=$(tree helper-source tests/t.cpp '#include "support/loader.hpp"')
helper "$beside" loader.hpp '#pragma once' >/dev/null
expect 1 "tests/support/loader.cpp:1:" \
  "$(helper "$beside" loader.cpp '#include "engine/plugin/plugin_catalog.hpp"')"
unused=$(tree unused-helper tests/t.cpp '#include "support/temp_dir.hpp"')
helper "$unused" temp_dir.hpp '#pragma once' >/dev/null
expect 0 "" "$(helper "$unused" engine_only.hpp '#include "engine/run/runner.hpp"')"
expect 2 "" "$scratch/no-such-tree"
exit $((failures > 0))
