#!/bin/sh
# Quick start (a): install what is missing, build, and run pipeline.ini on the bundled
# example dataset. Extra arguments go to `shardpack build` (e.g. -j1, -o DIR, --set ...).
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh build
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DSHARDPACK_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
exec ./build/shardpack build pipeline.ini "$@"
