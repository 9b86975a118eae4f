"""Shrink-on-load against the full decode: the same pipeline (resize to 224 on the shorter
side, centre crop, PNG so only the pixel path differs) built with [run] shrink_on_load on
and off, on large JPEGs where libjpeg-turbo's DCT scaling applies (1/2 to 1/8). Every
record must stay within the PSNR bound of its full-decode twin, and the shrink path must
really have been taken (the outputs are not identical).

  check_shrink_psnr.py SHARDPACK WORKDIR
"""
import glob
import os
import shutil
import subprocess
import sys

import numpy as np
from PIL import Image

from shard_pixels import png_records

PSNR_BOUND = 40.0  # dB, per record; stated in docs/guide.md

exe, work = sys.argv[1], sys.argv[2]
shutil.rmtree(work, ignore_errors=True)
data = os.path.join(work, "data")
rng = np.random.default_rng(7)


def photo():
    """A real photograph where Debian ships one (python-matplotlib-data), else texture."""
    for p in glob.glob("/usr/share/matplotlib/sample_data/grace_hopper.jpg") + glob.glob(
            "/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg"):
        return Image.open(p).convert("RGB")
    y, x = np.mgrid[0:600, 0:512]
    img = np.stack([(x * 0.4 + 40 * np.sin(y / 9.0)) % 255, (y * 0.4) % 255,
                    (x + y) * 0.2 % 255], axis=-1)
    return Image.fromarray(img.astype(np.uint8))


base = photo()
sizes = [(2400, 1800), (1800, 2400), (1600, 1000), (1000, 1000), (3000, 700), (900, 640)]
for c in ("a", "b"):
    os.makedirs(os.path.join(data, c))
for i, (w, h) in enumerate(sizes * 2):
    img = base.resize((w, h), Image.LANCZOS)
    # Fine texture on top, so a lazy downscale would show.
    arr = np.asarray(img, dtype=np.int16) + rng.integers(-12, 13, size=(h, w, 3))
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    img.save(os.path.join(data, "ab"[i % 2], "%02d.jpg" % i), quality=92)

cfg = os.path.join(work, "shrink.ini")
with open(cfg, "w") as f:
    f.write("[source]\npath = %s\n[resize]\nsize = 224\nfilter = bilinear\n[crop]\n"
            "[encode]\nformat = png\n[shards]\ntype = tar\n" % data)


def build(flag):
    out = os.path.join(work, "out-" + flag)
    subprocess.run([exe, "build", cfg, "-q", "-o", out, "--set", "run.shrink_on_load=" + flag],
                   check=True)
    return png_records(out)


fast, full = build("true"), build("false")
assert fast.keys() == full.keys() and len(fast) == len(sizes) * 2, (len(fast), len(full))
worst, differ = 1e9, 0
for k in sorted(fast):
    a, b = fast[k], full[k]
    assert a.shape == b.shape == (224, 224, 3), (k, a.shape, b.shape)
    mse = np.mean((a - b) ** 2)
    differ += mse > 0
    psnr = 99.0 if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)
    worst = min(worst, psnr)
    assert psnr >= PSNR_BOUND, "%s: PSNR %.1f dB < %.1f" % (k, psnr, PSNR_BOUND)
assert differ >= len(fast) // 2, "shrink-on-load did not change the path: %d differ" % differ
print("shrink-on-load: %d records, worst PSNR %.1f dB (bound %.1f), %d took the scaled path"
      % (len(fast), worst, PSNR_BOUND, differ))
