#!/usr/bin/python3
"""One small dataset presented seven ways -- class folders, .tar, .tar.gz, .zip, .7z, a tar
of per-class tars (ImageNet's layout) and a CSV manifest -- must give the same shards.

    /usr/bin/python3 tests/inputs/test_containers.py SHARDPACK WORKDIR

The images are made here with Pillow (JPEG and PNG, three classes, names that sort
differently from their creation order). Each layout is built with `format = auto` (the
probe must pick the right reader) into its own output; every output's shards must be
byte-identical to the folder build's, and the folder build's records are checked
against the source images: key order, label, class name and pixels (the shards hold
lossless PNG). Then:
  - a split layout (ROOT/train/<class>, ROOT/val/<class>) and a zip holding one gives
    the classes of the inner folders;
  - a flat tar labelled by a manifest of member paths (`manifest =`) gives each member
    its listed class, and reports the member it does not list and the row naming no
    member;
  - a second scan of each unchanged input reads no sample bytes (`-v` prints the bytes
    the scan read; the catalog cache, keyed by the container's stat, answers), compressed
    archives are not decompressed to be listed again (their list cache answers), and
    touching the archive makes the scan read it again.
Exit status 0 when every check holds.
"""

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile

import numpy as np
from PIL import Image

CLASSES = ["zebra", "apple", "mango"]
PER_CLASS = 5


def make_images(root):
    """ROOT/<class>/<name>: gradients with a class-dependent pattern, JPEG or PNG."""
    files = []
    for ci, cls in enumerate(CLASSES):
        os.makedirs(os.path.join(root, cls), exist_ok=True)
        for i in range(PER_CLASS):
            w, h = 40 + 3 * i, 30 + 2 * ci
            y, x = np.mgrid[0:h, 0:w]
            arr = np.stack([(x * 5 + ci * 60) % 256, (y * 7 + i * 30) % 256,
                            ((x + y) * 3) % 256], axis=-1).astype(np.uint8)
            ext = "png" if (i + ci) % 2 else "jpg"
            rel = f"{cls}/{cls}_{i:02d}.{ext}"
            Image.fromarray(arr).save(os.path.join(root, rel))
            files.append(rel)
    return files


def config(path, out_name, extra=""):
    return (f"[run]\noutput = {out_name}\nseed = 7\n\n[source]\npath = {path}\n{extra}\n"
            "[shuffle]\n\n[encode]\nformat = png\n\n[shards]\ntype = tar\nmax_records = 6\n")


def build(sp, work, name, path, extra=""):
    ini = os.path.join(work, f"{name}.ini")
    out = os.path.join(work, f"out-{name}")
    with open(ini, "w") as f:
        f.write(config(path, out, extra))
    p = subprocess.run([sp, "build", ini, "-o", out, "-v", "-j", "2"], capture_output=True,
                       text=True, timeout=60)
    return p, out


def shards(out):
    m = json.load(open(os.path.join(out, "manifest.json")))
    return m, [os.path.join(out, s["path"]) for s in m["shards"]]


def scan_bytes(stderr):
    for line in stderr.splitlines():
        if "scan read" in line:
            return int(line.split("scan read")[1].split()[0])
    return None


def main():
    sp, work = sys.argv[1:3]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    failures = []

    def check(cond, what):
        if not cond:
            failures.append(what)
            print("FAIL:", what)

    data = os.path.join(work, "data")
    files = make_images(data)

    # The containers, made with Python's tarfile and zipfile and bsdtar (7z).
    def add_tree(t):
        for rel in files:
            t.add(os.path.join(data, rel), arcname=rel)
    with tarfile.open(os.path.join(work, "d.tar"), "w") as t:
        add_tree(t)
    with tarfile.open(os.path.join(work, "d.tar.gz"), "w:gz") as t:
        add_tree(t)
    with zipfile.ZipFile(os.path.join(work, "d.zip"), "w", zipfile.ZIP_DEFLATED) as z:
        for rel in files:
            z.write(os.path.join(data, rel), rel)
    subprocess.run(["bsdtar", "--format", "7zip", "-cf", os.path.join(work, "d.7z"), "-C",
                    data] + files, check=True)
    # ImageNet's train tar: one tar per class, named after it, holding flat files.
    with tarfile.open(os.path.join(work, "nested.tar"), "w") as outer:
        for cls in CLASSES:
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w") as inner:
                for rel in files:
                    if rel.startswith(cls + "/"):
                        inner.add(os.path.join(data, rel), arcname=rel.split("/", 1)[1])
            info = tarfile.TarInfo(cls + ".tar")
            info.size = buf.tell()
            buf.seek(0)
            outer.addfile(info, buf)
    # A CSV manifest beside the images: quoted fields, a header in another column order.
    with open(os.path.join(data, "labels.csv"), "w") as f:
        f.write("label,path\r\n")
        for rel in files:
            f.write(f"\"{rel.split('/')[0]}\",\"{rel}\"\r\n")

    layouts = [("folder", data), ("tar", os.path.join(work, "d.tar")),
               ("targz", os.path.join(work, "d.tar.gz")), ("zip", os.path.join(work, "d.zip")),
               ("7z", os.path.join(work, "d.7z")), ("nested", os.path.join(work, "nested.tar")),
               ("csv", os.path.join(data, "labels.csv"))]
    expected_format = {"folder": "folder", "tar": "archive", "targz": "archive", "zip": "archive",
                       "7z": "archive", "nested": "archive", "csv": "csv"}
    outs = {}
    for name, path in layouts:
        p, out = build(sp, work, name, path)
        if p.returncode != 0:
            check(False, f"{name}: build exit {p.returncode}: {p.stderr}")
            continue
        check(f"is read as {expected_format[name]}" in p.stderr,
              f"{name}: not probed as {expected_format[name]}: {p.stderr[:300]}")
        outs[name] = out
        # The CSV lives inside the folder: the folder build sees it as a top-level file.
        m, _ = shards(out)
        check(m["records"] == len(files), f"{name}: {m['records']} records, not {len(files)}")

    # Every layout's shards are byte-identical to the folder's.
    if "folder" in outs:
        _, ref = shards(outs["folder"])
        for name, out in outs.items():
            _, mine = shards(out)
            check([os.path.basename(x) for x in mine] == [os.path.basename(x) for x in ref],
                  f"{name}: shard names differ")
            for a, b in zip(ref, mine):
                check(open(a, "rb").read() == open(b, "rb").read(),
                      f"{name}: {os.path.basename(b)} differs from the folder build's")

        # The folder build's records against the source images.
        m, paths = shards(outs["folder"])
        seen = set()
        for sh in paths:
            with tarfile.open(sh) as t:
                members = {x.name: x for x in t}
                for n, mem in members.items():
                    if not n.endswith(".json"):
                        continue
                    key = n[:-5]
                    meta = json.loads(t.extractfile(mem).read())
                    src = meta["source"]
                    seen.add(src)
                    cls = src.split("/")[0]
                    check(meta["class"] == cls, f"{key}: class {meta['class']} for {src}")
                    cls_idx = int(t.extractfile(members[key + ".cls"]).read())
                    check(m["classes"][cls_idx] == cls, f"{key}: .cls {cls_idx} for {src}")
                    got = np.asarray(Image.open(io.BytesIO(t.extractfile(members[key + ".png"]).read())).convert("RGB"))
                    want = np.asarray(Image.open(os.path.join(data, src)).convert("RGB"))
                    check(got.shape == want.shape and np.array_equal(got, want),
                          f"{key}: pixels differ from {src}")
        check(seen == set(files), f"records cover {len(seen)} of {len(files)} files")

    # Rescans: nothing read when unchanged; a touched archive is read again.
    for name, path in layouts:
        if name not in outs:
            continue
        p, _ = build(sp, work, name, path)
        n = scan_bytes(p.stderr)
        check(p.returncode == 0 and n == 0, f"{name}: the second scan read {n} bytes of samples")
        # Compressed archives are not even decompressed to be listed: the list cache.
        if name in ("targz", "zip", "7z"):
            check("listed from the list cache" in p.stderr and "unpacked into memory" not in p.stderr,
                  f"{name}: the second scan decompressed the archive to list it")
    os.utime(os.path.join(work, "d.tar.gz"))
    p, _ = build(sp, work, "targz", os.path.join(work, "d.tar.gz"))
    n = scan_bytes(p.stderr)
    check(n is not None and n > 0, f"targz touched: the scan read {n} bytes (expected a rescan)")

    # The split layout, as a folder and inside a zip: classes from the inner folders.
    split = os.path.join(work, "split")
    for i, rel in enumerate(files):
        part = "val" if i % 4 == 0 else "train"
        dst = os.path.join(split, part, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy(os.path.join(data, rel), dst)
    with zipfile.ZipFile(os.path.join(work, "split.zip"), "w") as z:
        for r, _, fs in os.walk(split):
            for f in sorted(fs):
                full = os.path.join(r, f)
                z.write(full, os.path.relpath(full, split))
    for name, path in [("splitdir", split), ("splitzip", os.path.join(work, "split.zip"))]:
        p, out = build(sp, work, name, path)
        if p.returncode != 0:
            check(False, f"{name}: build exit {p.returncode}: {p.stderr}")
            continue
        m = json.load(open(os.path.join(out, "manifest.json")))
        check(sorted(m["classes"]) == sorted(CLASSES), f"{name}: classes {m['classes']}")
        check(m["records"] == len(files), f"{name}: {m['records']} records")
    # A zip of stored members (Python's default) is read in place, never unpacked: a
    # max_unpacked_bytes below what its members add up to takes nothing from it.
    out = os.path.join(work, "out-splitzip-inplace")
    p = subprocess.run([sp, "build", os.path.join(work, "splitzip.ini"), "-o", out, "-v",
                        "--set", "run.max_unpacked_bytes=1024"], capture_output=True, text=True,
                       timeout=60)
    m = json.load(open(os.path.join(out, "manifest.json"))) if p.returncode == 0 else {}
    check(p.returncode == 0 and m["records"] == len(files) and not m["skipped"] and
          "unpacked into memory" not in p.stderr,
          f"stored zip: not read in place (exit {p.returncode}): {m.get('skipped')} {p.stderr[-400:]}")

    # A flat archive (ImageNet's val tar) labelled by a manifest of member paths; one row
    # names a member the archive lacks, one member is not listed.
    with tarfile.open(os.path.join(work, "flat.tar"), "w") as t:
        for rel in files:
            t.add(os.path.join(data, rel), arcname=rel.split("/")[1])
        t.add(os.path.join(data, files[0]), arcname="unlisted.jpg")
    with open(os.path.join(work, "flat.csv"), "w") as f:
        f.write("path,label,split\n")
        for i, rel in enumerate(files):
            f.write(f"{rel.split('/')[1]},{rel.split('/')[0]},{'val' if i % 2 else 'train'}\n")
        f.write("absent.jpg,zebra,train\n")
    p, out = build(sp, work, "flat", os.path.join(work, "flat.tar"),
                   f"manifest = {os.path.join(work, 'flat.csv')}\n")
    if p.returncode != 0:
        check(False, f"flat: build exit {p.returncode}: {p.stderr}")
    else:
        m, paths = shards(out)
        check(m["records"] == len(files), f"flat: {m['records']} records")
        skipped = {(k["path"], k["reason"]) for k in m["skipped"]}
        check(("unlisted.jpg", "no_label") in skipped, f"flat: unlisted member not reported: {skipped}")
        check((f"flat.csv:{len(files) + 2}", "bad_row") in skipped,
              f"flat: the row naming no member not reported: {skipped}")
        for sh in paths:
            with tarfile.open(sh) as t:
                for mem in t:
                    if mem.name.endswith(".json"):
                        meta = json.loads(t.extractfile(mem).read())
                        want = meta["source"].rsplit("_", 1)[0]
                        check(meta["class"] == want, f"flat: {meta['source']} has class {meta['class']}")

    if failures:
        print(f"{len(failures)} failures")
        return 1
    print(f"containers: {len(outs)} layouts give identical shards; rescans read nothing")
    return 0


if __name__ == "__main__":
    sys.exit(main())
