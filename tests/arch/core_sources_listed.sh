#!/usr/bin/env bash
# core/CMakeLists.txt lists its sources and the SDK headers (no GLOB): every .cpp under
# core/src/{sdk,http,demos,engine/*,report,cli} and every header in core/include/medsafe
# (medsafe/http/ and medsafe/demos/ too) must be named there, so that
# a new file cannot be left out of the build or out of the SDK digest (the build id) unnoticed.
# Resource files (core/src/report/resources/*: report.html's script and style; core/src/http/
# *.toml: the SDK's manifest fragments) are compiled in as bytes by medsafe_embed_resources,
# which names them in the same file: they are checked the same way, so that one cannot drop out
# of the build while it still reads like live code. The C++ header made from them is generated
# in the build tree, never in core/src: this test does not see it, and it needs no listing.
#   core_sources_listed.sh <source dir>
set -euo pipefail
root=$1
cmake_file=$root/core/CMakeLists.txt
missing=0
cd "$root/core"
shopt -s nullglob
for file in src/sdk/*.cpp src/http/*.cpp src/demos/*.cpp src/engine/*/*.cpp src/report/*.cpp \
            src/cli/*.cpp include/medsafe/*.hpp include/medsafe/http/*.hpp \
            include/medsafe/demos/*.hpp src/report/resources/* src/http/*.toml; do
  if ! grep -qE "^[[:space:]]*$file\)?[[:space:]]*$" "$cmake_file"; then
    echo "core_sources_listed: $file is not listed in core/CMakeLists.txt"
    missing=1
  fi
done
if grep -nE '^[^#]*file\(GLOB' "$cmake_file"; then
  echo "core_sources_listed: core/CMakeLists.txt globs (list the files instead)"
  missing=1
fi
[[ $missing -eq 0 ]] && echo "core_sources_listed: every core source, resource and SDK header is listed"
exit $missing
