#!/bin/sh
# examples/make/Makefile: make -j2 builds every shard as a target and then the manifest;
# the output equals a plain build; a second make does nothing; a changed input remakes
# only its shard (and the manifest).
# usage: make_test.sh SHARDPACK WORKDIR   (run from the repository root)
set -eu
SP=$1
W=$2
rm -rf "$W" && mkdir -p "$W"
cp -r examples/data "$W/data"
# The default pipeline with a header-only clean (and no perceptual hashes, which decode):
# the broken JPEG then reaches the build and is written from stand-ins, which make must
# track too.
sed -e 's/^verify = decode$/verify = header/' -e 's/^near_duplicates = drop$/near_duplicates = off/' \
  pipeline.ini >"$W/pipeline.ini"
grep -q '^verify = header$' "$W/pipeline.ini" && grep -q '^near_duplicates = off$' "$W/pipeline.ini" ||
  { echo "FAIL: pipeline.ini's [clean] is not as this test expects"; exit 1; }
M="make -f examples/make/Makefile SHARDPACK=$SP CONFIG=$W/pipeline.ini OUT=$W/out ARGS=--set=source.path=$W/data"

$M -j2 >"$W/make1.log" 2>&1 || { cat "$W/make1.log"; exit 1; }
n=$(grep -c -- "--shard" "$W/make1.log")
[ "$n" -ge 2 ] || { echo "FAIL: expected a make target per shard"; cat "$W/make1.log"; exit 1; }
grep -q "shardpack.* finish" "$W/make1.log" || { echo "FAIL: no finish"; exit 1; }
"$SP" verify -q "$W/out"
"$SP" build "$W/pipeline.ini" -q --set source.path="$W/data" -o "$W/direct"
for f in $(cd "$W/direct" && ls); do
  cmp "$W/direct/$f" "$W/out/$f" || { echo "FAIL: $f differs from a plain build"; exit 1; }
done
echo "make -j2: $n shard targets, output byte-identical to a plain build"

$M -j2 >"$W/make2.log" 2>&1 || { cat "$W/make2.log"; exit 1; }
if grep -q "shardpack" "$W/make2.log" || ! grep -q "Nothing to be done" "$W/make2.log"; then
  echo "FAIL: a second make did something:"; cat "$W/make2.log"; exit 1
fi
$M -q || { echo "FAIL: make -q says the output is out of date"; exit 1; }
echo "second make: $(cat "$W/make2.log")"

# A changed input: its shard and the manifest are remade, nothing else.
img=$(awk -F'\t' 'NR == 2 { print $5 }' "$W/out/plan.tsv")
shard=$(awk -F'\t' 'NR == 2 { print $2 }' "$W/out/plan.tsv")
/usr/bin/python3 - "$W/data/$img" <<'PY'
import sys
from PIL import Image, ImageOps
p = sys.argv[1]
im = Image.open(p)
fmt = im.format
ImageOps.mirror(im.convert("RGB")).save(p, format=fmt)
PY
$M -j2 >"$W/make3.log" 2>&1 || { cat "$W/make3.log"; exit 1; }
built=$(grep -o -- "--shard [^ ]*" "$W/make3.log" | sed 's/--shard //')
[ "$built" = "$shard" ] || { echo "FAIL: changing $img remade '$built', expected $shard"; cat "$W/make3.log"; exit 1; }
grep -q "shardpack.* finish" "$W/make3.log" || { echo "FAIL: no finish after a change"; exit 1; }
"$SP" verify -q "$W/out"
echo "changed $img: remade $shard only"

# A config edit that changes no bytes: make remakes every shard target, each finds its
# shard current and only brings its mtime up to date; then make has nothing to do.
sum1=$(cat "$W"/out/*.tar | md5sum)
echo "; a comment changes nothing" >>"$W/pipeline.ini"
$M -j2 >"$W/make4.log" 2>&1 || { cat "$W/make4.log"; exit 1; }
[ "$(cat "$W"/out/*.tar | md5sum)" = "$sum1" ] || { echo "FAIL: a comment changed the shards"; exit 1; }
$M -j2 >"$W/make5.log" 2>&1 || { cat "$W/make5.log"; exit 1; }
grep -q "Nothing to be done" "$W/make5.log" || { echo "FAIL: make after a config edit:"; cat "$W/make5.log"; exit 1; }
"$SP" verify -q "$W/out"
echo "config comment: shards kept, then nothing to do"

# A stand-in's file changes (examples/data has a broken JPEG, written from other samples
# of its class): the shard that used it does not hold that sample, yet make remakes it
# (deps.mk names the candidates its stamp's choices tried), and the output equals a plain
# build of the changed data.
set -- $(/usr/bin/python3 - "$W/out" <<'PY'
import json, sys
out = sys.argv[1]
rows = [l.rstrip("\n").split("\t") for l in open(out + "/plan.tsv")][1:]
for x in json.load(open(out + "/manifest.json"))["substituted"]:
    bad = {r[1] for r in rows if r[4] == x["path"] and r[6] == str(x["copy"])}
    holds = {r[1] for r in rows if r[4] == x["by"]}
    if len(bad) == 1 and not bad & holds:
        print(x["by"], bad.pop())
        break
PY
)
[ $# -eq 2 ] || { echo "FAIL: no stand-in outside its record's shard in $W/out/manifest.json"; exit 1; }
by=$1 used=$2
/usr/bin/python3 - "$W/data/$by" <<'PY'
import sys
from PIL import Image, ImageOps
p = sys.argv[1]
im = Image.open(p)
fmt = im.format
ImageOps.flip(im.convert("RGB")).save(p, format=fmt)
PY
$M -j2 >"$W/make6.log" 2>&1 || { cat "$W/make6.log"; exit 1; }
grep -q -- "--shard $used" "$W/make6.log" || { echo "FAIL: changing the stand-in $by did not remake $used"; cat "$W/make6.log"; exit 1; }
"$SP" verify -q "$W/out"
rm -rf "$W/direct"
"$SP" build "$W/pipeline.ini" -q --set source.path="$W/data" -o "$W/direct"
for f in $(cd "$W/direct" && ls); do
  cmp "$W/direct/$f" "$W/out/$f" || { echo "FAIL: after a stand-in changed, $f differs from a plain build"; exit 1; }
done
echo "changed the stand-in $by: remade $used, output byte-identical to a plain build"

# Same as a plain build, and a second make has nothing to do.
same_as_plain() {
  rm -rf "$W/direct"
  "$SP" build "$1" -q --set source.path="$2" -o "$W/direct"
  for f in $(cd "$W/direct" && ls); do
    cmp "$W/direct/$f" "$3/$f" || { echo "FAIL: $4: $f differs from a plain build"; exit 1; }
  done
}

# A file added, then removed: records shift into other shards whose own inputs did not
# change. Each shard also depends on its slice file (.shardpack/slices/SHARD), rewritten
# when the plan moves its contents, so make remakes those shards and finish succeeds.
for step in added removed; do
  if [ $step = added ]; then
    /usr/bin/python3 -c "
from PIL import Image
Image.new('RGB', (60, 50), (10, 200, 30)).save('$W/data/circles/circle_0000_new.png')"
  else
    rm "$W/data/circles/circle_0000_new.png"
  fi
  $M -j2 >"$W/make-$step.log" 2>&1 || { cat "$W/make-$step.log"; exit 1; }
  n=$(grep -c -- "--shard" "$W/make-$step.log")
  "$SP" verify -q "$W/out"
  same_as_plain "$W/pipeline.ini" "$W/data" "$W/out" "a file $step"
  $M -j2 >"$W/make-$step-2.log" 2>&1 || { cat "$W/make-$step-2.log"; exit 1; }
  grep -q "Nothing to be done" "$W/make-$step-2.log" ||
    { echo "FAIL: make after a file was $step and built:"; cat "$W/make-$step-2.log"; exit 1; }
  echo "a file $step: $n shard targets remade, output byte-identical to a plain build"
done

# A CSV source: the manifest is an input too (a relabelled row changes a record's class
# without touching any image).
C="$W/csv"
mkdir -p "$C/img"
printf 'path,label\n' >"$C/labels.csv"
i=0
for f in "$W"/data/circles/circle_00*.jpg "$W"/data/squares/square_00*.jpg; do
  cp "$f" "$C/img/$i.jpg"
  case "$f" in */circles/*) l=circle ;; *) l=square ;; esac
  printf 'img/%s.jpg,%s\n' $i $l >>"$C/labels.csv"
  i=$((i + 1))
done
printf '[source]\npath = %s/labels.csv\n\n[shards]\ntype = tar\nmax_records = 4\n' "$C" >"$C/csv.ini"
MC="make -f examples/make/Makefile SHARDPACK=$SP CONFIG=$C/csv.ini OUT=$C/out ARGS=--set=source.path=$C/labels.csv"
$MC -j2 >"$C/make1.log" 2>&1 || { cat "$C/make1.log"; exit 1; }
sed -i '2s/,circle$/,square/' "$C/labels.csv"
$MC -j2 >"$C/make2.log" 2>&1 || { cat "$C/make2.log"; exit 1; }
grep -q -- "--shard" "$C/make2.log" || { echo "FAIL: a relabelled CSV row remade nothing"; cat "$C/make2.log"; exit 1; }
same_as_plain "$C/csv.ini" "$C/labels.csv" "$C/out" "a relabelled CSV row"
echo "a relabelled CSV row: $(grep -c -- "--shard" "$C/make2.log") shard(s) remade, output byte-identical to a plain build"

# A sidecar deleted (an npy shard's labels): the shard is not current by its stamp, so
# plan --depfile makes its slice file newer and make remakes it; then nothing to do.
N="$W/npy"
mkdir -p "$N"
printf '[source]\npath = %s/data\n\n[resize]\nsize = 32\n\n[crop]\nwidth = 32\nheight = 32\n\n[arr]\ntype = npy\nmax_records = 30\n' "$W" >"$N/npy.ini"
MN="make -f examples/make/Makefile SHARDPACK=$SP CONFIG=$N/npy.ini OUT=$N/out"
$MN -j2 >"$N/make1.log" 2>&1 || { cat "$N/make1.log"; exit 1; }
rm "$N/out/arr-000001.labels.npy"
$MN -j2 >"$N/make2.log" 2>&1 || { cat "$N/make2.log"; exit 1; }
grep -q -- "--shard arr-000001.images.npy" "$N/make2.log" ||
  { echo "FAIL: a deleted labels file remade nothing"; cat "$N/make2.log"; exit 1; }
"$SP" verify -q "$N/out" || { echo "FAIL: the output does not verify after make"; exit 1; }
$MN -j2 >"$N/make3.log" 2>&1 || { cat "$N/make3.log"; exit 1; }
grep -q "Nothing to be done" "$N/make3.log" || { echo "FAIL: make after the repair:"; cat "$N/make3.log"; exit 1; }
echo "a deleted npy labels file: its shard remade, the output verifies, then nothing to do"
