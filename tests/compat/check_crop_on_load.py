"""Crop-aware decoding against the full decode, through whole builds: pipelines that open
with crop, random_crop and random_resized_crop (every record, copies included, so the
boxes are drawn), built with [run] crop_on_load on and off (shrink_on_load off), must give
byte-identical shards on photographs (grace_hopper.jpg from python-matplotlib-data, resized and saved as
4:2:0, 4:2:2, 4:4:4, progressive, gray and CMYK JPEGs; odd sizes so boxes meet partial
iMCUs). With shrink_on_load on as well, random_resized_crop's box is decoded at a DCT
scale when it is at least twice the target: those records must stay above PSNR_BOUND
against the full path, and some must have taken the scaled path. The unit test
unit_region holds the decoder on random boxes and the hook's choices; this holds the
build around them.

  check_crop_on_load.py SHARDPACK WORKDIR
"""
import glob
import os
import shutil
import subprocess
import sys


import numpy as np
from PIL import Image

from shard_pixels import png_records

PSNR_BOUND = 40.0  # dB per record, crop + shrink against the full decode; in docs/guide.md

exe, work = sys.argv[1], sys.argv[2]
shutil.rmtree(work, ignore_errors=True)
data = os.path.join(work, "data")


def photo():
    for p in glob.glob("/usr/share/matplotlib/sample_data/grace_hopper.jpg") + glob.glob(
            "/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg"):
        return Image.open(p).convert("RGB")
    print("grace_hopper.jpg not found (python-matplotlib-data): using a texture")
    y, x = np.mgrid[0:600, 0:512]
    img = np.stack([(x * 0.4 + 40 * np.sin(y / 9.0)) % 255, (y * 0.4) % 255,
                    (x + y) * 0.2 % 255], axis=-1)
    return Image.fromarray(img.astype(np.uint8))


base = photo()
variants = [
    ((1531, 1179), dict(subsampling=2)),
    ((1203, 1601), dict(subsampling=1)),
    ((999, 777), dict(subsampling=0)),
    ((1280, 853), dict(subsampling=2, progressive=True)),
    ((700, 901), "L"),
    ((640, 515), "CMYK"),
    (base.size, "asis"),
]
for c in ("a", "b"):
    os.makedirs(os.path.join(data, c))
for i, (size, how) in enumerate(variants):
    path = os.path.join(data, "ab"[i % 2], "%02d.jpg" % i)
    if how == "asis":
        src = glob.glob("/usr/share/matplotlib/*/sample_data/grace_hopper.jpg") + glob.glob(
            "/usr/share/matplotlib/sample_data/grace_hopper.jpg")
        if src:
            shutil.copy(src[0], path)
            continue
        how = dict(subsampling=2)
    img = base.resize(size, Image.LANCZOS)
    if how in ("L", "CMYK"):
        img.convert(how).save(path, quality=90)
    else:
        img.save(path, quality=90, **how)

HEAD = "[run]\nseed = 9\n[source]\npath = %s\n[balance]\nmode = over\ncount = 12\n" % data
TAIL = "[encode]\nformat = png\n[shards]\ntype = tar\nmax_records = 10\n"
pipelines = {
    "crop": "[crop]\nwidth = 333\nheight = 251\n[resize]\nsize = 96\n",
    "random_crop": "[random_crop]\nwidth = 301\nheight = 199\napply = all\n[hflip]\napply = all\n",
    "rrc_all": "[random_resized_crop]\nwidth = 112\nheight = 112\napply = all\n",
    "rrc_copies": "[random_resized_crop]\nwidth = 80\nheight = 64\nscale_min = 0.02\n"
                  "filter = bicubic\n",
}


def build(name, flag, shrink="false"):
    cfg = os.path.join(work, name + ".ini")
    with open(cfg, "w") as f:
        f.write(HEAD + pipelines[name] + TAIL)
    out = os.path.join(work, "%s-%s-%s" % (name, flag, shrink))
    subprocess.run([exe, "build", cfg, "-q", "-j", "2", "-o", out, "--set",
                    "run.crop_on_load=" + flag, "--set", "run.shrink_on_load=" + shrink],
                   check=True)
    return out


total = 0
for name in pipelines:
    a, b = build(name, "true"), build(name, "false")
    shards = sorted(os.path.basename(p) for p in glob.glob(os.path.join(a, "*.tar")))
    assert shards, name
    assert shards == sorted(os.path.basename(p) for p in glob.glob(os.path.join(b, "*.tar")))
    for s in shards + [s[:-4] + ".idx" for s in shards]:
        with open(os.path.join(a, s), "rb") as fa, open(os.path.join(b, s), "rb") as fb:
            assert fa.read() == fb.read(), "%s: %s differs with crop_on_load" % (name, s)
    with open(os.path.join(a, "plan.tsv")) as f:
        n = sum(1 for line in f) - 1
    total += n
    print("%s: %d shards byte-identical (%d records)" % (name, len(shards), n))
assert total > 0
print("crop_on_load: every shard identical to the full decode's")

# Crop and shrink together: random_resized_crop boxes decoded at a DCT scale.
pipelines["rrc_small"] = "[random_resized_crop]\nwidth = 64\nheight = 64\napply = all\n"
fast, full = png_records(build("rrc_small", "true", "true")), png_records(build("rrc_small", "false", "true"))
assert fast.keys() == full.keys() and fast, (len(fast), len(full))
worst, differ = 99.0, 0
for k in sorted(fast):
    a, b = fast[k], full[k]
    assert a.shape == b.shape == (64, 64, 3), (k, a.shape)
    mse = np.mean((a - b) ** 2)
    differ += mse > 0
    psnr = 99.0 if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)
    worst = min(worst, psnr)
    assert psnr >= PSNR_BOUND, "%s: PSNR %.1f dB < %.1f" % (k, psnr, PSNR_BOUND)
assert differ >= len(fast) // 2, "the scaled path was not taken: %d of %d differ" % (
    differ, len(fast))
print("crop + shrink: %d records, worst PSNR %.1f dB (bound %.1f), %d decoded scaled"
      % (len(fast), worst, PSNR_BOUND, differ))
