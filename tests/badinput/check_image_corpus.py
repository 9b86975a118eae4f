#!/usr/bin/python3
"""Run every case of the image bad-input corpus through shardpack and check its outcome.

    check_image_corpus.py SHARDPACK MAKE_JPEG WORKDIR

Each case is built alone (under `timeout 2`: no hang) with a lossless chain (source ->
encode png -> tar), and must give its documented outcome: decoded to the expected pixels
within the case's tolerance, or skipped with the expected reason — never a crash. Then
all cases are built together with a few good images, and the build must succeed with
every good file in it. Last, shrink-on-load on a rotated JPEG must give the same size and
nearly the same pixels as a full decode.

The report lists every written sample whose pixels the decoder changed (EXIF orientation,
CMYK/YCCK, alpha, depth) with the case's exact rows, in report.tsv (phase `decode`) and in
manifest.json (`altered`); plain images, orientation 1 and skipped files have none. A
rebuild from the catalog cache reports the same; copies are listed once; archive members
are named by archive and member.
"""

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile

import numpy as np
from PIL import Image

SP, MAKE_JPEG, WORK = sys.argv[1:4]
HERE = os.path.dirname(os.path.abspath(__file__))
shutil.rmtree(WORK, ignore_errors=True)
CORPUS = os.path.join(WORK, "corpus")
subprocess.run(["/usr/bin/python3", os.path.join(HERE, "make_image_corpus.py"), CORPUS,
                MAKE_JPEG], check=True)
expect = json.load(open(os.path.join(CORPUS, "expect.json")))
assert len(expect) >= 15, len(expect)
failures = []

CHAIN = "[encode]\nformat = png\n[shards]\ntype = tar\nmax_records = 1000\n"


def build(name, root, extra="", sets=(), timeout=2):
    cfg = os.path.join(WORK, name + ".ini")
    with open(cfg, "w") as f:
        f.write(f"[source]\npath = {root}\n{extra}{CHAIN}")
    out = os.path.join(WORK, "out-" + name)
    cmd = ["timeout", str(timeout), SP, "build", cfg, "-o", out, "-q", "-j", "2"]
    for s in sets:
        cmd += ["--set", s]
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p, out


def images(out):
    """Every record's image in the output, by source path."""
    m = json.load(open(os.path.join(out, "manifest.json")))
    got = {}
    for sh in m["shards"]:
        with tarfile.open(os.path.join(out, sh["path"])) as t:
            members = {x.name: x for x in t.getmembers()}
            for name, x in members.items():
                if name.endswith(".json"):
                    meta = json.load(t.extractfile(x))
                    key = name[:-5]
                    img = Image.open(io.BytesIO(t.extractfile(members[key + ".png"]).read()))
                    mode = "RGBA" if img.mode in ("RGBA", "LA") else "RGB"
                    got[meta["source"] if "source" in meta else key] = np.asarray(img.convert(mode))
                    METAS[meta["source"]] = meta
    return m, got


METAS = {}


def altered_rows(out):
    """The report's `decode` rows as (path, member, reason, detail), and the manifest's
    `altered` entries as (path, archive, reason, detail)."""
    with open(os.path.join(out, "report.tsv"), encoding="utf-8") as f:
        rows = [l.rstrip("\n").split("\t") for l in f][1:]
    tsv = [(r[2], r[3], r[4], r[5]) for r in rows if r[0] == "decode"]
    m = json.load(open(os.path.join(out, "manifest.json"), encoding="utf-8"))
    for a in m["altered"]:
        want_keys = {"source", "path", "reason", "detail"} | ({"archive"} if "archive" in a else set())
        assert set(a) == want_keys and a["source"] == "source", a
    man = [(a["path"], a.get("archive", ""), a["reason"], a["detail"]) for a in m["altered"]]
    return tsv, man


def check_altered(what, out, want):
    """want: [(path, reason, detail)] for a folder source."""
    tsv, man = altered_rows(out)
    if tsv != [(p, "", r, d) for p, r, d in want]:
        failures.append(f"{what}: report.tsv altered rows {tsv}, expected {want}")
        return False
    if man != [(p, "", r, d) for p, r, d in want]:
        failures.append(f"{what}: manifest altered {man}, expected {want}")
        return False
    return True


for case, e in sorted(expect.items()):
    p, out = build(case, os.path.join(CORPUS, case), sets=e["set"])
    if p.returncode == 124:
        failures.append(f"{case}: hung (over 2 s)")
        continue
    if p.returncode != 0:
        failures.append(f"{case}: exit {p.returncode}: {p.stderr.strip()}")
        continue
    m, got = images(out)
    want_alt = [(f"{case}/{e['file']}", r, d) for r, d in e["altered"]]
    if not check_altered(case, out, want_alt):
        continue
    if want_alt:
        print(f"ok  {case}: reported altered: {'; '.join(r + ': ' + d for _, r, d in want_alt)}")
    if e["outcome"] == "skipped":
        reasons = [s["reason"] for s in m["skipped"]]
        if reasons != [e["reason"]] or m["records"] != 0:
            failures.append(f"{case}: expected skipped as {e['reason']}, got {reasons}, "
                            f"{m['records']} records")
        else:
            print(f"ok  {case}: skipped, {e['reason']}: {m['skipped'][0]['detail']}")
        continue
    if m["skipped"] or len(got) != 1:
        failures.append(f"{case}: expected decoded, got skipped {m['skipped']}")
        continue
    (img,) = got.values()
    want = np.load(os.path.join(CORPUS, case + ".npy"))
    if img.shape != want.shape:
        failures.append(f"{case}: shape {img.shape}, expected {want.shape}")
        continue
    diff = int(np.abs(img.astype(int) - want.astype(int)).max())
    meta = METAS[f"{case}/{e['file']}"]
    if (meta["width"], meta["height"]) != (want.shape[1], want.shape[0]):
        failures.append(f"{case}: the catalog says {meta['width']}x{meta['height']}, the "
                        f"upright image is {want.shape[1]}x{want.shape[0]}")
    elif diff > e["tol"]:
        failures.append(f"{case}: pixels differ by up to {diff} (tolerance {e['tol']})")
    else:
        print(f"ok  {case}: decoded {img.shape[1]}x{img.shape[0]}, max difference {diff}")

# The whole corpus as one dataset (a class per case) plus good images: the build goes on.
ALL = os.path.join(WORK, "all")
for case in expect:
    shutil.copytree(os.path.join(CORPUS, case), ALL, dirs_exist_ok=True)
good = os.path.join(ALL, "good")
os.makedirs(good)
for i in range(5):
    Image.fromarray(np.full((16, 16, 3), i * 40, np.uint8)).save(os.path.join(good, f"g{i}.png"))
p, out = build("all", ALL, timeout=20)
if p.returncode != 0:
    failures.append(f"whole corpus: exit {p.returncode}: {p.stderr.strip()}")
else:
    m, got = images(out)
    decoded = [c for c, e in expect.items() if e["outcome"] == "decoded"]
    want = len(decoded) + 5
    skipped = sorted((s["path"].split("/")[0], s["reason"]) for s in m["skipped"])
    want_skipped = sorted((c, e["reason"]) for c, e in expect.items() if e["outcome"] == "skipped")
    if m["records"] != want or skipped != want_skipped:
        failures.append(f"whole corpus: {m['records']} records (expected {want}), skipped "
                        f"{skipped} (expected {want_skipped})")
    else:
        print(f"ok  whole corpus: {want} records, {len(skipped)} skipped with their reasons")
    # Every altered case once, in path order; the background cases are built on white here.
    want_alt = []
    for case, e in sorted(expect.items()):
        rows = e["altered"]
        if "on_white" in e:
            rows = e["on_white"]
        elif any(x.startswith("run.background") for x in e["set"]):
            rows = [["alpha_composited", "composited on white (255,255,255)"]]
        want_alt += [(f"{case}/{e['file']}", r, d) for r, d in rows]
    assert len(want_alt) >= 15, want_alt
    if check_altered("whole corpus", out, want_alt):
        print(f"ok  whole corpus: {len(want_alt)} altered rows, none for plain images")
    # A rebuild answers every header from the catalog cache: the same report, the same
    # manifest, and the summary counts the rows by reason.
    first = open(os.path.join(out, "report.tsv"), "rb").read()
    first_alt = json.load(open(os.path.join(out, "manifest.json")))["altered"]
    cfg = os.path.join(WORK, "all.ini")
    p = subprocess.run(["timeout", "20", SP, "build", cfg, "-o", out, "-j", "2"],
                       capture_output=True, text=True)
    counts = {}
    for _, r, _ in want_alt:
        counts[r] = counts.get(r, 0) + 1
    order = ["exif_rotated", "cmyk_converted", "alpha_composited", "alpha_dropped",
             "depth_reduced", "depth_scaled"]
    line = "altered by reason: " + ", ".join(f"{r} {counts[r]}" for r in order if r in counts)
    found = [l for l in p.stderr.splitlines() if "samples found" in l]
    if p.returncode != 0:
        failures.append(f"cached rebuild: exit {p.returncode}: {p.stderr.strip()}")
    elif open(os.path.join(out, "report.tsv"), "rb").read() != first:
        failures.append("cached rebuild: report.tsv differs from the first build's")
    elif json.load(open(os.path.join(out, "manifest.json")))["altered"] != first_alt:
        failures.append("cached rebuild: manifest altered differs from the first build's")
    elif line not in p.stderr:
        failures.append(f"cached rebuild: no '{line}' in the summary: {p.stderr}")
    elif not found or found[0].split("catalog cache hits ")[1] != found[0].split()[2].rstrip(","):
        failures.append(f"cached rebuild: not every sample came from the cache: {found}")
    else:
        print(f"ok  cached rebuild: same report; summary '{line}'")
    # A damaged alteration field in the cache is not trusted: that row is scanned again.
    cache = os.path.join(out, ".shardpack", "catalog-source.tsv")
    rows = open(cache, encoding="utf-8").read().split("\n")
    hit = [i for i, r in enumerate(rows) if r.startswith("exif_orientation_6/")]
    assert len(hit) == 1 and len(rows[hit[0]].split("\t")) == 17, rows[hit[0]]
    f = rows[hit[0]].split("\t")
    f[14] = "1x"
    rows[hit[0]] = "\t".join(f)
    open(cache, "w", encoding="utf-8").write("\n".join(rows))
    p = subprocess.run(["timeout", "20", SP, "build", cfg, "-o", out, "-j", "2"],
                       capture_output=True, text=True)
    found = [l for l in p.stderr.splitlines() if "samples found" in l]
    hits = int(found[0].split("catalog cache hits ")[1]) if found else -1
    total = int(found[0].split()[2].rstrip(",")) if found else -1
    if p.returncode != 0 or open(os.path.join(out, "report.tsv"), "rb").read() != first:
        failures.append(f"damaged cache row: exit {p.returncode}, report differs or {p.stderr}")
    elif hits != total - 1:
        failures.append(f"damaged cache row: {hits} cache hits of {total}, expected one rescan")
    else:
        print("ok  a damaged alteration field in the cache is rescanned; same report")

# Copies of an altered sample (balance) and archive members: one row per sample, named by
# the archive and the member path.
ARC = os.path.join(WORK, "arc")
os.makedirs(ARC)
with tarfile.open(os.path.join(ARC, "set.tar"), "w") as t:
    t.add(os.path.join(CORPUS, "exif_orientation_6", "exif_orientation_6", "a.jpg"), "rot/a.jpg")
    t.add(os.path.join(CORPUS, "rgba_on_white", "rgba_on_white", "a.png"), "rot/b.png")
    for i in range(6):
        t.add(os.path.join(good, f"g{i % 5}.png"), f"plain/g{i}.png")
p, out = build("arc", os.path.join(ARC, "set.tar"), extra="[balance]\nmode = over\n", timeout=10)
if p.returncode != 0:
    failures.append(f"archive with copies: exit {p.returncode}: {p.stderr.strip()}")
else:
    tsv, man = altered_rows(out)
    tar_path = os.path.join(ARC, "set.tar")
    recs = json.load(open(os.path.join(out, "manifest.json")))["records"]
    want_tsv = [(tar_path, "rot/a.jpg", "exif_rotated", "EXIF orientation 6: turned 90° clockwise"),
                (tar_path, "rot/b.png", "alpha_composited", "composited on white (255,255,255)")]
    want_man = [(m_, a, r, d) for a, m_, r, d in want_tsv]
    if recs != 12 or tsv != want_tsv or man != want_man:
        failures.append(f"archive with copies: {recs} records (expected 12), report {tsv}, "
                        f"manifest {man}; expected {want_tsv}")
    else:
        print("ok  archive with copies: 12 records, each altered member listed once")

# Shrink-on-load on an EXIF-rotated JPEG: the decoder scales the stored (sideways) image,
# and the result must match a full decode's in size and, closely, in pixels.
ROT = os.path.join(WORK, "rotated", "r")
os.makedirs(ROT)
y, x = np.mgrid[0:600, 0:800]
big = np.stack([x * 255 // 799, y * 255 // 599, (x // 50 + y // 50) % 2 * 255], -1).astype(np.uint8)
ex = Image.Exif()
ex[0x0112] = 6
Image.fromarray(big).save(os.path.join(ROT, "r.jpg"), quality=95, exif=ex.tobytes())
sizes = {}
for shrink in ("true", "false"):
    p, out = build("rot-" + shrink, os.path.dirname(ROT), extra="[resize]\nsize = 100\n",
                   sets=[f"run.shrink_on_load={shrink}"], timeout=10)
    assert p.returncode == 0, p.stderr
    _, got = images(out)
    sizes[shrink] = next(iter(got.values()))
a, b = sizes["true"].astype(float), sizes["false"].astype(float)
if a.shape != b.shape or a.shape[:2] != (133, 100):
    failures.append(f"shrink-on-load of a rotated JPEG: {a.shape} vs {b.shape}, expected 133x100")
else:
    psnr = 10 * np.log10(255 ** 2 / max(((a - b) ** 2).mean(), 1e-9))
    if psnr < 30:
        failures.append(f"shrink-on-load of a rotated JPEG: PSNR {psnr:.1f} dB vs a full decode")
    else:
        print(f"ok  shrink-on-load of an EXIF-rotated JPEG: {a.shape[1]}x{a.shape[0]}, PSNR {psnr:.1f} dB")

# background = keep through a chain into npy tensors: every record has four channels, the
# RGBA image's alpha goes through the resize, images without alpha are opaque; a sink that
# would store JPEG is refused before anything is built, naming the sink.
KEEPD = os.path.join(WORK, "keep")
os.makedirs(os.path.join(KEEPD, "a"))
shutil.copy(os.path.join(CORPUS, "rgba_keep", "rgba_keep", "a.png"), os.path.join(KEEPD, "a", "t.png"))
Image.fromarray(np.full((32, 48, 3), 90, np.uint8)).save(os.path.join(KEEPD, "a", "o.jpg"), quality=95)
tensors = ("[run]\nbackground = keep\n[source]\npath = %s\n[resize]\nmode = exact\nwidth = 24\n"
           "height = 16\n[hflip]\napply = all\n[tensors]\ntype = npy\n" % KEEPD)
cfg = os.path.join(WORK, "keep.ini")
open(cfg, "w").write(tensors)
out = os.path.join(WORK, "out-keep")
p = subprocess.run(["timeout", "10", SP, "build", cfg, "-o", out, "-q"], capture_output=True, text=True)
if p.returncode != 0:
    failures.append(f"keep into npy: exit {p.returncode}: {p.stderr.strip()}")
else:
    x = np.load(os.path.join(out, "tensors-000000.images.npy"))
    m = json.load(open(os.path.join(out, "manifest.json")))
    src = np.asarray(Image.open(os.path.join(KEEPD, "a", "t.png")))
    want_alpha = np.asarray(Image.fromarray(src[..., 3]).resize((24, 16), Image.BILINEAR))[:, ::-1]
    # Records in key order: o.jpg, then t.png (no shuffle stage).
    if x.shape != (2, 16, 24, 4):
        failures.append(f"keep into npy: shape {x.shape}, expected (2, 16, 24, 4)")
    elif not (x[0, ..., 3] == 255).all() or (x[0, ..., :3].astype(int) - 90).__abs__().max() > 2:
        failures.append("keep into npy: the JPEG record is not opaque grey 90")
    elif np.abs(x[1, ..., 3].astype(int) - want_alpha.astype(int)).mean() > 1.5:
        failures.append("keep into npy: the PNG's alpha did not go through resize and hflip")
    elif m["altered"]:
        failures.append(f"keep into npy: altered rows {m['altered']}, expected none")
    else:
        print("ok  background = keep into npy: (2, 16, 24, 4), alpha resized and flipped, "
              "the JPEG opaque, nothing reported altered")
open(cfg, "w").write(tensors.replace("type = npy", "type = tar"))
p = subprocess.run(["timeout", "10", SP, "build", cfg, "-o", out + "-jpeg", "-q"],
                   capture_output=True, text=True)
if p.returncode == 0 or "[tensors]" not in p.stderr or "background = keep" not in p.stderr \
        or os.path.exists(os.path.join(out + "-jpeg", "manifest.json")):
    failures.append(f"keep into a JPEG tar: exit {p.returncode}, expected a config error "
                    f"naming [tensors]: {p.stderr.strip()}")
else:
    print(f"ok  background = keep into a JPEG tar refused: {p.stderr.strip().splitlines()[0]}")

for f in failures:
    print("FAIL", f)
sys.exit(1 if failures else 0)
