#!/bin/bash
# Crop-aware decoding ([run] crop_on_load): the same builds with it on and off, on large
# JPEGs, for chains that open with a crop. Prints a markdown table.
#
#   bench/crop.sh [DATA_DIR]
#
# DATA_DIR: a class-folder dataset of JPEGs. If it is missing or empty, COUNT photographs
# of SIZE are made into it first (grace_hopper.jpg from python-matplotlib-data, upscaled,
# with noise so they compress like photographs). Environment: SHARDPACK (default
# build/shardpack), COUNT (default 120), SIZE (default 2400x1800), REPEAT (runs per row,
# best kept; default 3), THREADS (default 1).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
py=/usr/bin/python3
shardpack=${SHARDPACK:-$root/build/shardpack}
count=${COUNT:-120}
size=${SIZE:-2400x1800}
repeat=${REPEAT:-3}
threads=${THREADS:-1}

if [ ! -x "$shardpack" ]; then
  echo "bench: $shardpack not found; build it first or set SHARDPACK" >&2
  exit 2
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/shardpack-crop.XXXXXX")
trap 'rm -rf "$work"' EXIT

data=${1:-$work/data}
if [ ! -d "$data" ] || [ -z "$(ls -A "$data" 2>/dev/null)" ]; then
  "$py" - "$data" "$count" "$size" <<'PY'
import glob, os, sys
import numpy as np
from PIL import Image
out, count, size = sys.argv[1], int(sys.argv[2]), tuple(int(v) for v in sys.argv[3].split("x"))
src = (glob.glob("/usr/share/matplotlib/*/sample_data/grace_hopper.jpg")
       + glob.glob("/usr/share/matplotlib/sample_data/grace_hopper.jpg"))
if not src:
    sys.exit("bench: grace_hopper.jpg not found (apt-get install python-matplotlib-data)")
base = Image.open(src[0]).convert("RGB").resize(size, Image.LANCZOS)
rng = np.random.default_rng(3)
for i in range(count):
    d = os.path.join(out, "c%d" % (i % 4))
    os.makedirs(d, exist_ok=True)
    arr = np.asarray(base, dtype=np.int16) + rng.integers(-10, 11, size=(size[1], size[0], 3))
    Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(
        os.path.join(d, "%04d.jpg" % i), quality=90)
PY
fi
data=$(cd "$data" && pwd)
find "$data" -type f -exec cat {} + >/dev/null # warm page cache for every run

now() { date +%s.%N; }

# run NAME STAGES FLAG SHRINK: best wall-clock seconds of $repeat builds into $best.
run() {
  local name=$1 stages=$2 flag=$3 shrink=$4 start end secs i
  printf '[source]\npath = %s\n%b[encode]\nformat = jpeg\nquality = 90\n[shards]\ntype = tar\n' \
    "$data" "$stages" >"$work/$name.ini"
  best=""
  for ((i = 0; i < repeat; i++)); do
    rm -rf "$work/$name.out"
    start=$(now)
    "$shardpack" build "$work/$name.ini" -q -j "$threads" -o "$work/$name.out" \
      --set run.crop_on_load="$flag" --set run.shrink_on_load="$shrink"
    end=$(now)
    secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')
    if [ -z "$best" ] || awk -v s="$secs" -v b="$best" 'BEGIN { exit !(s < b) }'; then
      best=$secs
    fi
  done
}

n=$(find "$data" -type f -name '*.jpg' | wc -l)
echo "$n JPEGs in $data, $threads thread(s), best of $repeat;" \
  "$("$shardpack" --version 2>/dev/null | head -n 1)"
echo
echo "| chain | crop_on_load | seconds | images/s | speed-up |"
echo "|---|---|---|---|---|"
# bench_chain LABEL STAGES [scaled]: crop_on_load off and on with shrink_on_load off (the
# outputs must be byte-identical), and with "scaled" a third row with both on.
bench_chain() {
  run off "$2" false false
  local off=$best
  run on "$2" true false
  local on=$best
  cmp -s "$work/on.out/shards-000000.tar" "$work/off.out/shards-000000.tar" ||
    { echo "bench: outputs differ with and without crop_on_load" >&2; exit 1; }
  awk -v l="$1" -v n="$n" -v s="$off" 'BEGIN { printf "| %s | false | %.2f | %.1f | 1.00x |\n", l, s, n / s }'
  awk -v l="$1" -v n="$n" -v s="$on" -v o="$off" \
    'BEGIN { printf "| %s | true | %.2f | %.1f | %.2fx |\n", l, s, n / s, o / s }'
  if [ "${3:-}" = scaled ]; then
    run both "$2" true true
    awk -v l="$1" -v n="$n" -v s="$best" -v o="$off" \
      'BEGIN { printf "| %s | true, with shrink_on_load | %.2f | %.1f | %.2fx |\n", l, s, n / s, o / s }'
  fi
}
bench_chain "random_resized_crop 224 (apply = all)" \
  "[random_resized_crop]\nwidth = 224\nheight = 224\napply = all\n" scaled
bench_chain "crop 512x512, resize 224" "[crop]\nwidth = 512\nheight = 512\n[resize]\nsize = 224\n"
bench_chain "random_crop 224 (apply = all)" "[random_crop]\nwidth = 224\nheight = 224\napply = all\n"
