#!/bin/sh
# A stamp damaged on disk (here: a skip naming a sample the shard does not hold, and one
# with a code that is no status) makes its shard stale: the next build writes it again and
# succeeds, with the same bytes as before. It must never fail every rerun.
#   damaged_stamp.sh SHARDPACK WORKDIR
set -eu
SP=$1
W=$2
rm -rf "$W" && mkdir -p "$W/data/cat" "$W/data/bird"
cp examples/data/circles/circle_000.jpg examples/data/circles/circle_001.jpg "$W/data/cat/"
# a bird whose only image is cut short: skipped at build, no stand-in of its class exists
head -c 600 examples/data/circles/circle_002.png >"$W/data/bird/bad.png"
cat >"$W/p.ini" <<INI
[source]
path = $W/data
[shards]
type = tar
INI
"$SP" build "$W/p.ini" -q -o "$W/out"
stamp=$(ls "$W"/out/.shardpack/stamps/*.json)
grep -q '"bird/bad.png"' "$stamp" || { echo "FAIL: the stamp does not record the skip"; exit 1; }
cp "$W/out/shards-000000.tar" "$W/first.tar"
cp "$W/out/manifest.json" "$W/first.json"
for damage in 's#"bird/bad.png"#"bird/nope.png"#' 's#"code": -[0-9]*#"code": 1e300#'; do
  cp "$stamp" "$W/stamp.orig"
  sed -i "$damage" "$stamp"
  cmp -s "$stamp" "$W/stamp.orig" && { echo "FAIL: damage '$damage' changed nothing"; exit 1; }
  "$SP" build "$W/p.ini" -o "$W/out" 2>"$W/err" || { echo "FAIL: a damaged stamp fails the build:"; cat "$W/err"; exit 1; }
  grep -q "1 of 1 shards are current" "$W/err" && { echo "FAIL: the damaged stamp was trusted:"; cat "$W/err"; exit 1; }
  cmp "$W/first.tar" "$W/out/shards-000000.tar" || { echo "FAIL: the rebuilt shard differs"; exit 1; }
  cmp "$W/first.json" "$W/out/manifest.json" || { echo "FAIL: the manifest differs"; exit 1; }
  echo "ok: damage '$damage' -> the shard is rebuilt, same bytes"
done
