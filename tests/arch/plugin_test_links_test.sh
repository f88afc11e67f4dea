#!/usr/bin/env bash
# cmake/MedsafePlugin.cmake must refuse plugin tests that link the engine (issue 15): a tiny
# project of stand-in targets (an SDK, the three engine libraries, a test-support library) calls
# medsafe_add_plugin. Its configure must fail, naming the plugin and the engine library, when
# TEST_LIBRARIES names medsafe_kernel, medsafe_report or medsafe_engine, or an alias of one;
# when a TEST_LIBRARIES entry passes one on; and when medsafe_test_support (defined after the
# plugin, as in medsafe's tree) links one privately. It must pass with SDK-only test libraries.
#   plugin_test_links_test.sh <MedsafePlugin.cmake> <scratch folder> <cmake> <generator> <c++>
set -uo pipefail
plugin_cmake=$1
scratch=$2
cmake=$3
generator=$4
cxx=$5
failures=0

# project <name> <TEST_LIBRARIES of plugin x> <libraries medsafe_test_support links privately>
project() {
  local dir=$scratch/$1
  rm -rf "$dir"
  mkdir -p "$dir/x"
  echo 'name = "x"' >"$dir/x/plugin.toml"
  echo 'int x_component() { return 1; }' >"$dir/x/component.cpp"
  echo 'int x_entry() { return 2; }' >"$dir/x/entry.cpp"
  echo 'int x_test() { return 3; }' >"$dir/x/x_test.cpp"
  echo 'int support() { return 4; }' >"$dir/support.cpp"
  cat >"$dir/x/CMakeLists.txt" <<EOF
medsafe_add_plugin(x SOURCES component.cpp ENTRY entry.cpp MANIFESTS plugin.toml
  TESTS x_test.cpp TEST_LIBRARIES $2)
EOF
  cat >"$dir/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.25)
project(plugin_test_links LANGUAGES CXX)
set(MEDSAFE_BUILD_TESTS ON)
include(GoogleTest)
add_library(GTest::gtest_main INTERFACE IMPORTED)
add_library(medsafe_core INTERFACE)
add_library(medsafe::core ALIAS medsafe_core)
add_library(medsafe_kernel INTERFACE)
target_link_libraries(medsafe_kernel INTERFACE medsafe_core)
add_library(medsafe_report INTERFACE)
target_link_libraries(medsafe_report INTERFACE medsafe_kernel)
add_library(medsafe_engine INTERFACE)
target_link_libraries(medsafe_engine INTERFACE medsafe_report)
add_library(medsafe::engine ALIAS medsafe_engine)
add_library(sdk_helper INTERFACE)
target_link_libraries(sdk_helper INTERFACE medsafe::core)
add_library(report_helper INTERFACE)
target_link_libraries(report_helper INTERFACE sdk_helper medsafe_report)
include([[$plugin_cmake]])
add_subdirectory(x)
add_library(medsafe_test_support STATIC support.cpp)
target_link_libraries(medsafe_test_support PUBLIC medsafe::core PRIVATE $3 dl)
EOF
  echo "$dir"
}

expect() {  # expect <0 or 1: configure fails> <texts the output must contain>... -- <project>
  local want=$1 out rc texts=() missing=""
  shift
  while [[ $1 != -- ]]; do texts+=("$1"); shift; done
  local dir=$2
  out=$("$cmake" -S "$dir" -B "$dir/build" -G "$generator" -DCMAKE_CXX_COMPILER="$cxx" 2>&1)
  rc=$?
  for text in "${texts[@]}"; do
    # CMake wraps its messages: compare with the line breaks and indents taken out.
    if [[ $(tr -s ' \n' ' ' <<<"$out") != *"$text"* ]]; then missing+=" '$text'"; fi
  done
  if [[ $(( rc != 0 )) -ne $want ]]; then
    echo "FAIL: $dir: configure exit $rc, wanted $([[ $want -eq 1 ]] && echo failure || echo 0)"
    echo "$out"
    failures=$((failures + 1))
  elif [[ -n $missing ]]; then
    echo "FAIL: $dir: the output does not name$missing:"
    echo "$out"
    failures=$((failures + 1))
  else
    echo "ok: $dir: configure exit $rc"
  fi
}

expect 0 -- "$(project sdk-only 'sdk_helper medsafe::core' '')"
for engine in medsafe_kernel medsafe_report medsafe_engine; do
  expect 1 "medsafe_add_plugin(x)" "engine library $engine" "x/CMakeLists.txt:1" -- \
    "$(project "named-$engine" "sdk_helper $engine" '')"
done
expect 1 "medsafe_add_plugin(x)" "engine library medsafe::engine" -- \
  "$(project named-alias 'medsafe::engine' '')"
expect 1 "medsafe_add_plugin(x)" "engine library medsafe_report (report_helper -> medsafe_report)" \
  "x/CMakeLists.txt" -- "$(project through-helper 'sdk_helper report_helper' '')"
expect 1 "medsafe_add_plugin(x)" \
  "engine library medsafe_engine (medsafe_test_support -> medsafe::engine)" -- \
  "$(project through-test-support 'sdk_helper' 'medsafe::engine')"
exit $((failures > 0))
