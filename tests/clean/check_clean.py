#!/usr/bin/python3
"""The clean stage on a real dataset with planted duplicates.

    check_clean.py SHARDPACK EXAMPLES_DATA WORKDIR

examples/data plus: an exact copy of a circle filed under squares (a cross-class copy),
a re-encoded, 90%-resized, 10%-brightened JPEG of a square filed under triangles, and a
PNG re-encode of another circle. The clean stage must find exactly those (the dataset's
own images are all distinct), report them in report.tsv and manifest.json with their
cluster, drop or keep them as told, mark clusters even when keeping, apply the size and
aspect filters as Pillow measures the files, decode-check with verify = decode, and give
the same output from a warm catalog cache, a cache written without hashes, and -j1.
"""

import csv
import json
import os
import shutil
import subprocess
import sys

from PIL import Image, ImageEnhance

SP, DATA, WORK = sys.argv[1:4]
shutil.rmtree(WORK, ignore_errors=True)
D = os.path.join(WORK, "data")
shutil.copytree(DATA, D)
shutil.copy(os.path.join(D, "circles/circle_000.jpg"), os.path.join(D, "squares/zz_copy.jpg"))
im = Image.open(os.path.join(D, "squares/square_001.jpg")).convert("RGB")
im = ImageEnhance.Brightness(im.resize((im.width * 9 // 10, im.height * 9 // 10))).enhance(1.1)
im.save(os.path.join(D, "triangles/zz_near.jpg"), quality=70)
Image.open(os.path.join(D, "circles/circle_003.jpg")).save(os.path.join(D, "circles/zz_png.png"))
failures = []


def check(cond, what):
    print(("ok  " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def build(name, clean, sets=(), threads=2, out=None):
    cfg = os.path.join(WORK, name + ".ini")
    with open(cfg, "w") as f:
        f.write(f"[source]\npath = {D}\n[clean]\n{clean}\n[shards]\ntype = tar\n")
    out = out or os.path.join(WORK, "out-" + name)
    cmd = [SP, "build", cfg, "-o", out, "-j", str(threads)]
    for s in sets:
        cmd += ["--set", s]
    p = subprocess.run(cmd, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    m = json.load(open(os.path.join(out, "manifest.json")))
    with open(os.path.join(out, "report.tsv"), newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return m, rows, p.stderr, out


def by_reason(rows, reason):
    return sorted(r["path"] for r in rows if r["reason"] == reason)


def clusters(m):
    return sorted(sorted((x["path"], x["kept"]) for x in c["members"]) for c in m["clusters"])


# Drop (the default): the copy and the two near copies go, each pointing at its original.
m, rows, err, out = build("drop", "verify = decode")
check(list(rows[0].keys()) == ["phase", "source", "path", "member", "reason", "detail"],
      "report.tsv has its header row")
check(by_reason(rows, "duplicate") == ["squares/zz_copy.jpg"], "the exact copy is a duplicate")
check(by_reason(rows, "near_duplicate") == ["circles/zz_png.png", "triangles/zz_near.jpg"],
      "the re-encoded and resized+brightened copies are near duplicates")
dup = [r for r in rows if r["reason"] == "duplicate"][0]
check("circles/circle_000.jpg" in dup["detail"] and dup["phase"] == "clean",
      "the duplicate's detail names the original it copies")
check(clusters(m) == sorted([
    [("circles/circle_000.jpg", True), ("squares/zz_copy.jpg", False)],
    [("circles/circle_003.jpg", True), ("circles/zz_png.png", False)],
    [("squares/square_001.jpg", True), ("triangles/zz_near.jpg", False)]]),
    "manifest.json lists the three clusters, the first in path order kept")
check(sorted(set(c["id"] for c in m["clusters"])) == [1, 2, 3], "cluster ids are 1..3")
check(by_reason(rows, "cluster") == ["circles/circle_000.jpg", "circles/circle_003.jpg",
                                     "squares/square_001.jpg"],
      "report.tsv lists the kept members of each cluster")
skipped = {s["path"]: s for s in m["skipped"]}
check(skipped["stars/star_broken.jpg"]["phase"] == "scan" and
      skipped["stars/star_broken.jpg"]["reason"] == "corrupt",
      "verify = decode finds the truncated JPEG at scan")
valid = 90 + 3  # examples/data's valid images plus the three planted
check(m["records"] == valid - 3, f"records: {m['records']} == {valid - 3}")
check("dropped by reason:" in err and "duplicate 1" in err and "near_duplicate 2" in err,
      "the stderr summary counts drops by reason")
check("dropped by class:" in err, "the stderr summary counts drops by class")

# Header only (and no hashing, which decodes too): the truncated JPEG passes the scan and
# fails at build instead.
m2, _, _, _ = build("header", "verify = header\nnear_duplicates = off")
b = {s["path"]: s for s in m2["skipped"]}["stars/star_broken.jpg"]
check(b["phase"] == "build" and b["reason"] == "corrupt",
      "verify = header leaves the decode check to the build")

# Keep: nothing dropped, clusters still marked.
m3, rows3, _, _ = build("keep", "duplicates = keep\nnear_duplicates = keep")
check(m3["records"] == valid, "near_duplicates = keep keeps every sample")
check(clusters(m3) == sorted([
    [("circles/circle_000.jpg", True), ("squares/zz_copy.jpg", True)],
    [("circles/circle_003.jpg", True), ("circles/zz_png.png", True)],
    [("squares/square_001.jpg", True), ("triangles/zz_near.jpg", True)]]),
    "with keep, the clusters are still marked, every member kept")
m4, _, _, _ = build("exact-only", "duplicates = keep\nnear_duplicates = off")
check(clusters(m4) == [[("circles/circle_000.jpg", True), ("squares/zz_copy.jpg", True)]],
      "near_duplicates = off still marks exact copies as a cluster")

# Size and aspect filters, against the sizes Pillow reads.
sizes = {}
for c in os.listdir(D):
    for f in os.listdir(os.path.join(D, c)):
        try:
            sizes[f"{c}/{f}"] = Image.open(os.path.join(D, c, f)).size
        except Exception:
            pass
m5, rows5, _, _ = build("sizes", "duplicates = keep\nnear_duplicates = off\nmin_width = 50\n"
                        "min_height = 50\nmax_aspect = 2.5")
small = sorted(p for p, (w, h) in sizes.items() if w < 50 or h < 50)
wide = sorted(p for p, (w, h) in sizes.items()
              if p not in small and max(w, h) / min(w, h) > 2.5 and p != "stars/star_broken.jpg")
check(small and by_reason(rows5, "too_small") == small, f"too_small: {len(small)} files")
check(wide and by_reason(rows5, "bad_aspect") == wide, f"bad_aspect: {len(wide)} files")
m6, rows6, _, _ = build("large", "near_duplicates = off\nmax_width = 300")
check(by_reason(rows6, "too_large") ==
      sorted(p for p, (w, h) in sizes.items() if w > 300 and p != "stars/star_broken.jpg"),
      "too_large: wider than max_width")

# Determinism and the cache: a warm cache, a cache written without hashes, one thread.
again, _, _, _ = build("drop", "verify = decode", out=out)
check(again == m, "a rebuild from the warm catalog cache gives the same manifest")
cold = os.path.join(WORK, "out-cold")
build("plain", "near_duplicates = off", out=cold)  # fills the cache without hashes
warm, _, _, _ = build("drop", "verify = decode", out=cold)
check(warm["clusters"] == m["clusters"] and warm["skipped"] == m["skipped"],
      "a cache without hashes is completed, not trusted")
cache = os.path.join(out, ".shardpack", "catalog-source.tsv")
lines = open(cache).read().split("\n")
damaged = [l.split("\t") for l in lines]
for f in damaged:
    if f[0] == "triangles/zz_near.jpg":
        f[12] = "not-a-hash"
open(cache, "w").write("\n".join("\t".join(f) for f in damaged))
again, _, _, _ = build("drop", "verify = decode", out=out)
check(again == m, "a damaged perceptual hash in the cache is scanned again, not trusted")
j1, _, _, _ = build("drop", "verify = decode", threads=1, out=os.path.join(WORK, "out-j1"))
check(j1 == m, "-j1 and -j2 give the same manifest")

# Leakage: with the clusters kept, a split never puts two members of one cluster on two
# sides. Half the data goes to val so that, were the split blind to clusters, some seed
# would part a pair; each seed's plan is checked from plan.tsv (sink = split).
def split_sides(seed):
    cfg = os.path.join(WORK, "leak.ini")
    with open(cfg, "w") as f:
        f.write(f"[run]\nseed = {seed}\n[source]\npath = {D}\n[clean]\n"
                "duplicates = keep\nnear_duplicates = keep\n[split]\nval = 0.5\n"
                "[train]\ntype = tar\ninput = split.train\n[val]\ntype = tar\ninput = split.val\n")
    out = os.path.join(WORK, "out-leak")
    p = subprocess.run([SP, "plan", cfg, "-q", "-o", out], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    with open(os.path.join(out, "plan.tsv"), newline="") as f:
        return {r["path"]: r["sink"] for r in csv.DictReader(f, delimiter="\t")}


pairs = [m["members"] for m in m3["clusters"]]
straddled, parted_if_blind = [], 0
for seed in range(8):
    side = split_sides(seed)
    for members in pairs:
        sides = {side.get(x["path"]) for x in members}
        if len(sides) != 1 or None in sides:
            straddled.append((seed, sorted(x["path"] for x in members), sides))
check(not straddled, f"no near-duplicate cluster straddles train and val (8 seeds): {straddled}")
check(len({split_sides(0)[x["path"]] for c in pairs for x in c}) == 2,
      "the clusters themselves land on both sides (the check can fail)")

# inspect: a bare dataset folder, nothing written under it or left in TMPDIR.
def listing(root):
    return sorted((os.path.relpath(os.path.join(d, f), root), os.stat(os.path.join(d, f)).st_mtime_ns)
                  for d, _, fs in os.walk(root) for f in fs) + sorted(
                      os.path.relpath(d, root) for d, _, _ in os.walk(root))


tmp = os.path.join(WORK, "tmp")
os.makedirs(tmp)
before = listing(D)
p = subprocess.run([SP, "inspect", D, "-q"], capture_output=True, text=True,
                   env=dict(os.environ, TMPDIR=tmp))
check(p.returncode == 0, "inspect DATASET runs: " + p.stderr.strip())
text = p.stdout
print(text)
check(listing(D) == before and os.listdir(tmp) == [],
      "inspect writes nothing under the dataset and leaves nothing in TMPDIR")
counts = {c: len([f for f in os.listdir(os.path.join(D, c))]) for c in os.listdir(D)}
counts["squares"] -= 1  # notes.txt
counts["stars"] -= 1  # star_broken.jpg
check(all(f"  {c:<24} {n:>10}" in text for c, n in counts.items()), "inspect counts every class")
big, small = max(counts.values()), min(counts.values())
check(f"imbalance: {big / small:.2f}" in text, "inspect gives the imbalance ratio max/min")
ws = sorted(w for p_, (w, h) in sizes.items() if p_ != "stars/star_broken.jpg")
check(f"width    min {ws[0]}," in text and f"max {ws[-1]}" in text, "inspect's width range")
check("unknown_format 1 corrupt 1" in text, "inspect finds the corrupt file with a full decode")
check("exact duplicates: 1 groups, 1 extra copies" in text, "inspect finds the exact copy")
check("3 clusters" in text and "triangles/zz_near.jpg" in text,
      "inspect finds the near-duplicate clusters")
check("93 records in 1 shards" in text, "inspect predicts the shards of the default tar sink")

sys.exit(1 if failures else 0)
