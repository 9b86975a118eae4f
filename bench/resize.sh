#!/bin/bash
# Resize throughput per filter, shardpack's kernel against Pillow's Image.resize on the same
# jobs in the same run, as a markdown table (input megapixels per second, one thread).
#
#   bench/resize.sh            (needs build/resize_bench: cmake --build build)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${RESIZE_BENCH:-$here/../build/resize_bench}
secs=${SECONDS_PER_ROW:-1.0}
"$bin" "$secs" > /tmp/shardpack-resize.$$
/usr/bin/python3 - "$secs" /tmp/shardpack-resize.$$ <<'PY'
import sys, time
import numpy as np
from PIL import Image
budget, ours = float(sys.argv[1]), sys.argv[2]
def image(w, h):
    y, x = np.mgrid[0:h, 0:w]
    a = np.stack([x * 255 // w, y * 255 // h, ((x * 7 + y * 13) ^ (x >> 3)) & 255], -1)
    return Image.fromarray(a.astype(np.uint8))
big, small = image(2048, 1536), image(512, 384)
filters = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC,
           "lanczos3": Image.LANCZOS, "area": Image.BOX}
jobs = {"shrink 2048x1536 -> 341x256": (big, (341, 256)),
        "enlarge 512x384 -> 1024x768": (small, (1024, 768))}
print("| job | filter | shardpack MP/s | Pillow MP/s | ratio |")
print("|---|---|---|---|---|")
for line in open(ours):
    job, name, mps = line.rstrip("\n").split("\t")
    src, size = jobs[job]
    n, start = 0, time.perf_counter()
    while True:
        src.resize(size, filters[name])
        n += 1
        el = time.perf_counter() - start
        if el >= budget:
            break
    pil = src.width * src.height / 1e6 * n / el
    print("| %s | %s | %.1f | %.1f | %.2fx |" % (job, name, float(mps), pil, float(mps) / pil))
PY
rm -f /tmp/shardpack-resize.$$
