#!/bin/sh
# The shared library exports exactly the functions the public headers declare: none
# missing (an embedder would fail to link), none extra (internal functions are not ABI).
#   check_exports.sh LIBSHARDPACK.so INCLUDE_DIR
set -eu
lib=$1 inc=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
nm -D --defined-only "$lib" | awk '$2 == "T" { sub(/@.*/, "", $3); print $3 }' | sort -u > "$tmp/exported"
# Names followed by "(" in the headers that the library defines: the declared functions
# (comments mention some names too; the library decides which are functions).
cat "$inc"/shardpack/*.h | grep -oE '\bsp_[a-z0-9_]+\(' | tr -d '(' | sort -u > "$tmp/named"
nm --defined-only "$lib" | awk '$2 ~ /[Tt]/ { print $3 }' | sort -u > "$tmp/defined"
comm -12 "$tmp/named" "$tmp/defined" > "$tmp/public"
missing=$(comm -13 "$tmp/exported" "$tmp/public")
extra=$(comm -23 "$tmp/exported" "$tmp/public")
[ -z "$missing" ] || { echo "declared in the headers but not exported: $missing"; exit 1; }
[ -z "$extra" ] || { echo "exported but not in the headers: $extra"; exit 1; }
echo "$(wc -l < "$tmp/public") public functions exported, nothing else"
