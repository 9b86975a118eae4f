#!/bin/sh
# Quick start (b): install what is missing, build with warnings as errors, and run the
# whole test suite through ctest. CI runs exactly this (.ci/run).
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh test
cmake -S . -B build-test -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHARDPACK_WERROR=ON >/dev/null
cmake --build build-test -j"$(nproc)"
cd build-test
ctest --output-on-failure -j"$(nproc)" "$@"
