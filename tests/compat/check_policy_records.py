#!/usr/bin/python3
"""Reads back a build of tests/augment/policies.ini with Python's tarfile and Pillow,
independent of shardpack's code.

Why: the unit tests call the policies directly; this goes through the real pipeline
(config, registry, p/apply, the record's .json). It checks that copy 0 of every sample is
plain (no policy entry) and every copy >= 1 has both; that randaugment noted exactly
num_ops = 3 ops with magnitudes of bin 12 and trivialaugment one op with a bin in range;
that names are torchvision's; that every op was drawn somewhere; and that augmented
copies' pixels differ from their plain copy 0 for most records.

Usage: check_policy_records.py OUTDIR
"""
import io
import json
import os
import sys
import tarfile

from PIL import Image

OPS = {"Identity", "ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate", "Brightness",
       "Color", "Contrast", "Sharpness", "Posterize", "Solarize", "AutoContrast", "Equalize"}
NOMAG = {"Identity", "AutoContrast", "Equalize"}
# Bin 12 of 31 in RandAugment's space (48x48 images after the crop).
RA12 = {"ShearX": 0.3 * 12 / 30, "ShearY": 0.3 * 12 / 30,
        "TranslateX": 150 / 331 * 48 * 12 / 30, "TranslateY": 150 / 331 * 48 * 12 / 30,
        "Rotate": 30 * 12 / 30, "Brightness": 0.9 * 12 / 30, "Color": 0.9 * 12 / 30,
        "Contrast": 0.9 * 12 / 30, "Sharpness": 0.9 * 12 / 30,
        "Posterize": 8 - round(12 / 7.5), "Solarize": 255 * (1 - 12 / 30)}


def main():
    out = sys.argv[1]
    problems = []
    plain = {}
    augmented = []
    seen = set()
    for name in sorted(os.listdir(out)):
        if not name.endswith(".tar"):
            continue
        with tarfile.open(os.path.join(out, name)) as t:
            members = {m.name: m for m in t.getmembers()}
            for mname in members:
                if not mname.endswith(".json"):
                    continue
                key = mname[:-5]
                rec = json.loads(t.extractfile(members[mname]).read())
                png = t.extractfile(members[key + ".png"]).read()
                img = Image.open(io.BytesIO(png))
                if img.size != (48, 48):
                    problems.append(f"{key}: size {img.size}")
                stages = {op["stage"]: op.get("params", {}) for op in rec["ops"]}
                if rec["copy"] == 0:
                    if "randaugment" in stages or "trivialaugment" in stages:
                        problems.append(f"{key}: copy 0 was augmented")
                    plain[rec["source"]] = img.tobytes()
                    continue
                if "randaugment" not in stages or "trivialaugment" not in stages:
                    problems.append(f"{key}: copy {rec['copy']} missing a policy: {rec['ops']}")
                    continue
                ra = stages["randaugment"]
                for i in (1, 2, 3):
                    op, mag = ra.get(f"op{i}"), ra.get(f"magnitude{i}")
                    if op not in OPS or mag is None:
                        problems.append(f"{key}: randaugment op{i} = {op}, magnitude {mag}")
                        continue
                    seen.add(op)
                    want = 0 if op in NOMAG else RA12[op]
                    if abs(abs(mag) - want) > 1e-6 * (1 + want):
                        problems.append(f"{key}: {op} magnitude {mag}, expected +-{want}")
                if "op4" in ra:
                    problems.append(f"{key}: randaugment noted more than num_ops = 3 ops")
                ta = stages["trivialaugment"]
                if ta.get("op") not in OPS or not 0 <= ta.get("bin", -1) <= 30:
                    problems.append(f"{key}: trivialaugment notes {ta}")
                seen.add(ta.get("op"))
                augmented.append((rec["source"], img.tobytes()))
    if not augmented:
        problems.append("no augmented copies")
    missing = OPS - seen
    if missing:
        problems.append(f"ops never drawn: {sorted(missing)}")
    changed = sum(1 for src, px in augmented if plain.get(src) is not None and px != plain[src])
    if changed < 0.9 * len(augmented):
        problems.append(f"only {changed} of {len(augmented)} augmented copies differ from copy 0")
    for p in problems[:20]:
        print(p)
    if problems:
        sys.exit(1)
    print(f"check_policy_records: {len(plain)} plain, {len(augmented)} augmented records "
          f"({changed} changed), {len(seen)} ops seen")


if __name__ == "__main__":
    main()
