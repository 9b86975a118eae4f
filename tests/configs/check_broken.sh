#!/bin/sh
# Broken configs and what `shardpack check` must say about each: every NAME.ini here has a
# NAME.expected holding the exact stderr (file:line, reason, the offending line, hints).
# Each must fail with exit code 2 before any data is read; a good config must pass.
#
#   check_broken.sh SHARDPACK DIR [--update]   (--update rewrites the .expected files)
set -u
bin=$1 dir=$2 update=${3:-}
cd "$dir" || exit 1
fail=0 n=0
for ini in *.ini; do
    name=${ini%.ini}
    n=$((n + 1))
    "$bin" check "$ini" >/dev/null 2>"$name.actual"
    rc=$?
    if [ "$update" = "--update" ]; then
        mv "$name.actual" "$name.expected"
        continue
    fi
    if [ "$rc" -ne 2 ]; then
        echo "FAIL $ini: exit $rc, expected 2"
        fail=1
    fi
    if ! diff -u "$name.expected" "$name.actual"; then
        echo "FAIL $ini: messages differ (above)"
        fail=1
    fi
    rm -f "$name.actual"
done
[ "$n" -ge 15 ] || { echo "FAIL: only $n broken configs"; fail=1; }
[ "$fail" -eq 0 ] && echo "$n broken configs rejected with the expected messages"
exit $fail
