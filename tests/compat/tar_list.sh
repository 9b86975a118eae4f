#!/bin/bash
# List every shard in OUTDIR with GNU tar, bsdtar (libarchive) and Python's tarfile, the
# three tar readers users actually have, and require that they agree.
#
#   tests/compat/tar_list.sh OUTDIR
#
# A reader that exits non-zero or prints anything on stderr fails the test: GNU tar only
# warns (exit 0) about things like a lone zero block at the end or unknown header fields,
# and those warnings are exactly the small format slips we want to catch.
set -euo pipefail

if [ $# -ne 1 ] || [ ! -d "$1" ]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
outdir=$1
python=/usr/bin/python3

for tool in tar bsdtar "$python"; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "tar_list: FAIL: $tool not found (Debian: tar, libarchive-tools, python3)" >&2
    exit 2
  fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail=0
complain() {
  echo "tar_list: FAIL: $*" >&2
  fail=1
}

# run NAME CMD...: stdout to $tmp/NAME.out; complain on a non-zero exit or any stderr.
run() {
  local name=$1 rc=0
  shift
  "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" || rc=$?
  if [ "$rc" -ne 0 ]; then
    complain "'$*' exited with status $rc"
  fi
  if [ -s "$tmp/$name.err" ]; then
    complain "'$*' wrote to stderr:"
    sed 's/^/    /' "$tmp/$name.err" >&2
  fi
}

shopt -s nullglob
shards=("$outdir"/*.tar)
if [ ${#shards[@]} -eq 0 ]; then
  echo "tar_list: FAIL: no *.tar in $outdir" >&2
  exit 1
fi

members=0
for shard in "${shards[@]}"; do
  # Verbose listings parse every header field (mode, owner, size, mtime), not just names.
  run gnu_v tar -tvf "$shard"
  run bsd_v bsdtar -tvf "$shard"
  # Names on their own for the comparison: -tv columns differ between the two tools.
  run gnu tar -tf "$shard"
  run bsd bsdtar -tf "$shard"
  run py "$python" -c 'import sys, tarfile
with tarfile.open(sys.argv[1], "r:") as t:
    for name in t.getnames():
        print(name)' "$shard"

  for tool in gnu bsd; do
    if ! cmp -s "$tmp/py.out" "$tmp/$tool.out"; then
      complain "$shard: $tool tar and Python tarfile list different members (or order):"
      diff "$tmp/py.out" "$tmp/$tool.out" | head -n 10 | sed 's/^/    /' >&2 || true
    fi
  done
  if [ "$(wc -l <"$tmp/gnu_v.out")" -ne "$(wc -l <"$tmp/py.out")" ]; then
    complain "$shard: tar -tvf lists $(wc -l <"$tmp/gnu_v.out") members, tarfile $(wc -l <"$tmp/py.out")"
  fi
  if [ "$(wc -l <"$tmp/bsd_v.out")" -ne "$(wc -l <"$tmp/py.out")" ]; then
    complain "$shard: bsdtar -tvf lists $(wc -l <"$tmp/bsd_v.out") members, tarfile $(wc -l <"$tmp/py.out")"
  fi
  members=$((members + $(wc -l <"$tmp/py.out")))

  # And extract identically: the same files with the same bytes from all three.
  rm -rf "$tmp/x"
  mkdir -p "$tmp/x/gnu" "$tmp/x/bsd" "$tmp/x/py"
  run xgnu tar -xf "$shard" -C "$tmp/x/gnu"
  run xbsd bsdtar -xf "$shard" -C "$tmp/x/bsd"
  run xpy "$python" -c 'import sys, tarfile
with tarfile.open(sys.argv[1], "r:") as t:
    t.extractall(sys.argv[2])' "$shard" "$tmp/x/py"
  for tool in gnu bsd; do
    if ! diff -r "$tmp/x/py" "$tmp/x/$tool" >/dev/null; then
      complain "$shard: $tool tar and Python tarfile extract different files or bytes"
    fi
  done
  if [ "$(find "$tmp/x/py" -type f | wc -l)" -ne "$(wc -l <"$tmp/py.out")" ]; then
    complain "$shard: tarfile extracted a different number of files than it lists"
  fi
done

if [ "$fail" -ne 0 ]; then
  echo "tar_list: readers disagree or complain about shards in $outdir" >&2
  exit 1
fi
echo "tar_list: ${#shards[@]} shards, $members members: GNU tar, bsdtar and tarfile list and extract them alike"
