#!/bin/bash
# Time shardpack against the Pillow script a user would write instead (pillow_equiv.py),
# on the same images with the same parameters, and print a markdown table.
#
#   bench/run.sh [DATA_DIR]
#
# DATA_DIR: a class-folder dataset to convert.  If it is missing or empty, COUNT images are
# generated into it first (bench/make_bench_data.py); without it, into a temporary folder.
# Environment: SHARDPACK (binary, default build/shardpack), COUNT (default 2000), REPEAT
# (runs per row, best time kept; default 3), THREADS (default nproc).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
py=/usr/bin/python3
shardpack=${SHARDPACK:-$root/build/shardpack}
count=${COUNT:-2000}
repeat=${REPEAT:-3}
threads=${THREADS:-$(nproc)}
size=256 crop=224 quality=90 shard_records=1000

if [ ! -x "$shardpack" ]; then
  echo "bench: $shardpack not found; build it first (cmake -S . -B build && cmake --build build)" >&2
  echo "       or point SHARDPACK at the binary" >&2
  exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/shardpack-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

data=${1:-$work/data}
if [ ! -d "$data" ] || [ -z "$(ls -A "$data")" ]; then
  "$py" "$here/make_bench_data.py" "$data" --count "$count"
fi
data=$(cd "$data" && pwd)

# Read every input once so the first timed run does not pay for a cold page cache that
# later runs would not.
find "$data" -type f -exec cat {} + >/dev/null

now() { date +%s.%N; }

# timed NAME CMD...: run CMD $repeat times, each into a fresh $work/NAME.out (shardpack
# keeps its catalog cache in the output folder, so a reused folder would skip the scan);
# sets $best to the fastest wall-clock seconds.  Any failure aborts with the tool's log.
timed() {
  local name=$1 start end secs i
  shift
  best=""
  for ((i = 0; i < repeat; i++)); do
    rm -rf "$work/$name.out"
    start=$(now)
    if ! "$@" >"$work/$name.log" 2>&1; then
      echo "bench: '$*' failed:" >&2
      cat "$work/$name.log" >&2
      exit 1
    fi
    end=$(now)
    secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')
    if [ -z "$best" ] || awk -v s="$secs" -v b="$best" 'BEGIN { exit !(s < b) }'; then
      best=$secs
    fi
  done
}

shardpack_run() {
  local name=$1 j=$2
  shift 2
  timed "$name" "$shardpack" build "$here/convert.ini" -o "$work/$name.out" -j "$j" -q "$@" \
    --set source.path="$data" --set resize.size=$size \
    --set crop.width=$crop --set crop.height=$crop --set encode.quality=$quality \
    --set shards.max_records=$shard_records
}

pillow_run() {
  local name=$1
  shift
  timed "$name" "$py" "$here/pillow_equiv.py" "$data" "$work/$name.out" --size $size \
    --crop $crop --quality $quality --shard-records $shard_records -q "$@"
}

manifest_records() {
  "$py" -c 'import json, sys; print(json.load(open(sys.argv[1]))["records"])' "$1/manifest.json"
}
pillow_records() {
  sed -n 's/^pillow_equiv: \([0-9]*\) records.*/\1/p' "$1"
}

echo "bench: $(find "$data" -mindepth 1 -maxdepth 1 -type d | wc -l) class folders in $data;" \
  "best of $repeat runs per row" >&2

shardpack_run sp_n "$threads"
sp_n_secs=$best
sp_n_records=$(manifest_records "$work/sp_n.out")
# A benchmark of wrong output means nothing: check the shards before reporting times.
"$py" "$root/tests/compat/check_shards.py" "$work/sp_n.out" >&2

shardpack_run sp_1 1
sp_1_secs=$best
sp_1_records=$(manifest_records "$work/sp_1.out")

# The same without shrink-on-load: every JPEG decoded at full size, then resized.
shardpack_run sp_1_full 1 --set run.shrink_on_load=false
sp_1_full_secs=$best
sp_1_full_records=$(manifest_records "$work/sp_1_full.out")

pillow_run pil
pil_secs=$best
pil_records=$(pillow_records "$work/pil.log")

pillow_run pil_draft --draft
pil_draft_secs=$best
pil_draft_records=$(pillow_records "$work/pil_draft.log")

if [ "$sp_n_records" != "$pil_records" ]; then
  echo "bench: note: shardpack wrote $sp_n_records records, Pillow $pil_records" \
    "(they skip different files)" >&2
fi

row() {  # label threads records seconds
  awk -v l="$1" -v t="$2" -v n="$3" -v s="$4" -v p="$pil_secs" \
    'BEGIN { printf "| %s | %s | %.2f | %.0f | %.2fx |\n", l, t, s, n / s, p / s }'
}

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
pillow_version=$("$py" -c 'import PIL; print(PIL.__version__)')
echo
echo "$sp_n_records images: $size shorter side, $crop x $crop centre crop, JPEG quality $quality,"
echo "$shard_records records per shard. ${cpu:-unknown CPU}, $(nproc) cores;"
echo "$("$shardpack" --version 2>/dev/null | head -n 1), Pillow $pillow_version. Best of $repeat runs."
echo
echo "| tool | threads | seconds | images/s | speed vs Pillow |"
echo "|---|---|---|---|---|"
row "shardpack" "$threads" "$sp_n_records" "$sp_n_secs"
row "shardpack" 1 "$sp_1_records" "$sp_1_secs"
row "shardpack, shrink_on_load = false" 1 "$sp_1_full_records" "$sp_1_full_secs"
row "Pillow (pillow_equiv.py)" 1 "$pil_records" "$pil_secs"
row "Pillow + JPEG draft (pillow_equiv.py --draft)" 1 "$pil_draft_records" "$pil_draft_secs"
