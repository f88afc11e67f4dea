#!/usr/bin/env bash
# Every test source is named in a CMakeLists.txt (no GLOB): each *_test.cpp must appear in the
# CMakeLists.txt of its folder or of the folder above it (plugins/x/tests/a_test.cpp in
# plugins/x/CMakeLists.txt), so that a test file left out of the build fails here instead of
# silently never running; and no CMakeLists.txt of the project globs.
#   test_sources_listed.sh <source dir>
set -euo pipefail
root=$1
cd "$root"
missing=0
while IFS= read -r file; do
  dir=$(dirname "$file")
  name=$(basename "$file")
  listed=0
  for cmake_file in "$dir/CMakeLists.txt" "$(dirname "$dir")/CMakeLists.txt"; do
    if [[ -f $cmake_file ]] && grep -qE "(^|[[:space:]/(])$name([[:space:])]|$)" "$cmake_file"; then
      listed=1
      break
    fi
  done
  if [[ $listed -eq 0 ]]; then
    echo "test_sources_listed: $file is named in no CMakeLists.txt of $dir or its parent"
    missing=1
  fi
done < <(find core plugins tests -name '*_test.cpp' -not -path '*/fuzz/corpus/*' | sort)
if grep -nE '^[^#]*file\(GLOB' $(find core plugins tests tools -name CMakeLists.txt) CMakeLists.txt; then
  echo "test_sources_listed: a CMakeLists.txt globs (list the files instead)"
  missing=1
fi
[[ $missing -eq 0 ]] && echo "test_sources_listed: every test source is listed, nothing globs"
exit $missing
