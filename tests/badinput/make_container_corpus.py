#!/usr/bin/python3
"""Makes the container bad-input corpus: hostile or broken archives, manifests, IDX and
CIFAR files, each with the outcome shardpack documents for it (docs/guide.md, "Bad
containers"). run_container_corpus.py builds each beside a good dataset and checks it.

    /usr/bin/python3 tests/badinput/make_container_corpus.py DIR

Writes DIR/good/ (a small class-folder dataset), one file or folder per case, and
DIR/cases.json: [{name, path, options: {key: value}, run: {key: value}, expect}] where
expect is {"outcome": "skip", "skips": [{reason, path, detail}], "records": N} (the case's
source gives N good records and reports each listed sample, the detail a substring;
optionally "classes": the run's exact class list, and "labels": {source path: class}, each
such record's class and .cls index in that list) or {"outcome": "refused", "message":
substring} (the run stops, exit 1, naming the input).
"""

import bz2
import io
import json
import os
import shutil
import struct
import sys
import tarfile
import zipfile

import numpy as np
from PIL import Image


def png_bytes(seed, size=(12, 10)):
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    return buf.getvalue()


def tar_add(t, name, data=None, kind=tarfile.REGTYPE, link=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.mtime = 946684800
    if data is not None:
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    else:
        t.addfile(info)


def tar_bytes(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        for m in members:
            tar_add(t, *m)
    return buf.getvalue()


GOOD = [("cat/a.png", png_bytes(1)), ("cat/b.png", png_bytes(2)), ("dog/c.png", png_bytes(3))]


def main():
    out = sys.argv[1]
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    for i, cls in enumerate(["bird", "fish"]):
        for j in range(3):
            d = os.path.join(out, "good", cls)
            os.makedirs(d, exist_ok=True)
            open(os.path.join(d, f"{j}.png"), "wb").write(png_bytes(100 + 10 * i + j))
    cases = []

    def case(name, data, expect, options=None, run=None):
        path = os.path.join(out, name)
        if isinstance(data, bytes):
            open(path, "wb").write(data)
        cases.append({"name": name, "path": path, "options": options or {}, "run": run or {},
                      "expect": expect})

    def skip(records, *skips):
        return {"outcome": "skip", "records": records,
                "skips": [{"reason": r, "path": p, "detail": d} for r, p, d in skips]}

    def refused(message):
        return {"outcome": "refused", "message": message}

    # Archive members that would escape, or are not files: rejected, never followed.
    case("dotdot.tar", tar_bytes(GOOD + [("../evil.png", png_bytes(9))]),
         skip(3, ("unsafe_member", "../evil.png", "escapes the archive")))
    case("absolute.tar", tar_bytes(GOOD + [("/tmp/evil.png", png_bytes(9))]),
         skip(3, ("unsafe_member", "/tmp/evil.png", "escapes the archive")))
    case("symlink.tar", tar_bytes(GOOD + [("cat/link.png", None, tarfile.SYMTYPE, "/etc/passwd")]),
         skip(3, ("unsafe_member", "cat/link.png", "symlink to /etc/passwd")))
    case("hardlink.tar", tar_bytes(GOOD + [("dog/hard.png", None, tarfile.LNKTYPE, "cat/a.png")]),
         skip(3, ("unsafe_member", "dog/hard.png", "hardlink to cat/a.png")))
    case("device.tar", tar_bytes(GOOD + [("dog/null", None, tarfile.CHRTYPE)]),
         skip(3, ("unsafe_member", "dog/null", "a device")))
    case("duplicate.tar", tar_bytes(GOOD + [("cat/a.png", png_bytes(8))]),
         skip(3, ("corrupt", "cat/a.png (copy 2)", "appears twice")))
    # A later copy's new name is one no member has: "cat/a.png (copy 2)" is taken.
    case("duplicate-name-taken.tar",
         tar_bytes(GOOD + [("cat/a.png (copy 2)", png_bytes(5)), ("cat/a.png", png_bytes(8))]),
         skip(4, ("corrupt", "cat/a.png (copy 3)", "appears twice")))
    case("toplevel.tar", tar_bytes(GOOD + [("loose.png", png_bytes(7))]),
         skip(3, ("no_label", "loose.png", "not inside a class folder")))

    # A zip bomb: 64 MiB of zeros deflates to ~64 KB. Stopped by max_ratio while it
    # streams; with a smaller max_file_bytes, by its declared size before a byte is read.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in GOOD:
            z.writestr(n, d)
        z.writestr("dog/bomb.png", b"\0" * (64 << 20))
    bomb = buf.getvalue()
    case("bomb.zip", bomb, skip(3, ("max_ratio", "dog/bomb.png", "max_ratio")))
    case("bomb-size.zip", bomb, skip(3, ("max_file_bytes", "dog/bomb.png", "max_file_bytes")),
         run={"max_file_bytes": "1M"})

    # A member never read still unpacks when the reader skips it in a compressed tar: a
    # hidden 1 GiB of zeros in a ~1 KB tar.bz2 (bzip2 streams concatenated, 64 x 16 MiB)
    # is counted while skipped and stops the archive at max_ratio. A member rejected on its
    # declared size is skipped the same way: its own reason, then the stop.
    def tar_bz2_bomb(name):
        def entry(n, size):
            info = tarfile.TarInfo(n)
            info.size = size
            info.mtime = 946684800
            return info.tobuf(format=tarfile.GNU_FORMAT)
        head = b"".join(entry(n, len(d)) + d + bytes(-len(d) % 512) for n, d in GOOD)
        zeros = bz2.compress(bytes(16 << 20), 9)
        tail = entry("dog/after.png", len(png_bytes(6))) + png_bytes(6)
        tail += bytes(-len(tail) % 512) + bytes(1024)
        return (bz2.compress(head + entry(name, 1 << 30), 9) + zeros * 64 +
                bz2.compress(tail, 9))
    case("hidden-bomb.tar.bz2", tar_bz2_bomb("cat/.big"),
         skip(3, ("max_ratio", "cat/.big", "max_ratio")))
    case("bomb-size.tar.bz2", tar_bz2_bomb("dog/big.png"),
         skip(3, ("max_file_bytes", "dog/big.png", "max_file_bytes"),
              ("max_ratio", "dog/big.png (skipped data)", "max_ratio")),
         run={"max_file_bytes": "1M"})

    # Compressed members are held in memory: one that would take the archive's unpacked
    # bytes over max_unpacked_bytes is skipped with that reason; the others build.
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for n, d in GOOD:
            tar_add(t, n, d)
        tar_add(t, "dog/big.png", png_bytes(60, (64, 64)))
    case("unpacked.tar.gz", buf.getvalue(),
         skip(3, ("max_unpacked_bytes", "dog/big.png", "max_unpacked_bytes (4096)")),
         run={"max_unpacked_bytes": "4K"})

    # A truncated .tar.gz: the members before the cut are kept.
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for n, d in GOOD:
            tar_add(t, n, d)
        for k in range(6):
            tar_add(t, f"dog/big{k}.png", png_bytes(50 + k, (200, 200)))
    whole = buf.getvalue()
    case("truncated.tar.gz", whole[: len(whole) * 2 // 3],
         skip(None, ("corrupt", None, "")))

    # A zip whose central directory is damaged: every central header's signature broken.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for n, d in GOOD:
            z.writestr(n, d)
    zbytes = bytearray(buf.getvalue())
    cd = zbytes.find(b"PK\x01\x02")
    zbytes[cd:] = zbytes[cd:].replace(b"PK\x01\x02", b"XX\x01\x02")
    case("badcentral.zip", bytes(zbytes), refused("cannot read the archive"))

    # Nesting: a tar in a tar in a tar in a tar (3 deep; max_nesting is 2).
    inner = tar_bytes([("x.png", png_bytes(20))])
    for depth in range(3):
        inner = tar_bytes([(f"level{depth}.tar", inner)])
    case("deep.tar", tar_bytes(GOOD + [("dog/deep.tar", inner)]),
         skip(3, ("max_nesting", "dog/deep/level2/level1.tar", "max_nesting")))

    # More members than max_members: the archive is refused.
    many = tar_bytes([(f"cat/{k:03d}.png", png_bytes(k)) for k in range(30)])
    case("many.tar", many, refused("max_members"), run={"max_members": "20"})

    # Empty archives: no samples (a warning), the rest builds.
    case("empty.tar", b"\0" * 10240, skip(0))
    case("empty.zip", b"PK\x05\x06" + b"\0" * 18, skip(0))
    case("garbage.bin", bytes(range(256)) * 3, refused("not a dataset"))

    # A CSV manifest with every kind of bad row.
    mdir = os.path.join(out, "manifest")
    os.makedirs(os.path.join(mdir, "img"))
    for k in range(4):
        open(os.path.join(mdir, "img", f"{k}.png"), "wb").write(png_bytes(30 + k))
    open(os.path.join(out, "outside.png"), "wb").write(png_bytes(40))
    rows = [
        "path,label,split",
        "img/0.png,cat,train",                       # line 2: good
        "img/1.png,dog,val",                         # line 3: good
        "img/2.png",                                 # line 4: missing field
        "img/3.png,cat,somewhere",                   # line 5: bad split
        "../outside.png,cat,train",                  # line 6: escapes the folder
        "/etc/passwd,cat,",                          # line 7: absolute
        "img/missing.png,dog,",                      # line 8: missing file
        "img/0.png,dog,",                            # line 9: listed twice
        "img/" + "x" * 70000 + ".png,cat,",          # line 10: over max_line_bytes
        '"img/3.png",dog,test',                      # line 11: good, quoted
        '"img/oops.png,cat,train',                   # line 12: never closed
        "img/2.png,cat,",                            # (inside the open quote)
    ]
    open(os.path.join(mdir, "labels.csv"), "w").write("\n".join(rows) + "\n")
    cases.append({"name": "manifest/labels.csv", "path": os.path.join(mdir, "labels.csv"),
                  "options": {}, "run": {}, "expect": skip(
                      3,
                      ("bad_row", "labels.csv:4", "line 4: 1 fields"),
                      ("bad_row", "labels.csv:5", "line 5: split 'somewhere'"),
                      ("unsafe_member", "labels.csv:6", "line 6: path ../outside.png escapes"),
                      ("unsafe_member", "labels.csv:7", "line 7: path /etc/passwd escapes"),
                      ("io_error", "img/missing.png", "line 8: img/missing.png"),
                      ("bad_row", "labels.csv:9", "line 9: img/0.png is listed before, at line 2"),
                      ("max_line_bytes", "labels.csv:10", "line 10: row over max_line_bytes"),
                      ("bad_row", "labels.csv:12", "line 12: a quoted field is never closed"))})
    # Labels as indexes with a classes file; one index out of range.
    open(os.path.join(mdir, "classes.txt"), "w").write("cat\ndog\n")
    open(os.path.join(mdir, "index.tsv"), "w").write(
        "path\tlabel\nimg/0.png\t0\nimg/1.png\t1\nimg/2.png\t7\n")
    cases.append({"name": "manifest/index.tsv", "path": os.path.join(mdir, "index.tsv"),
                  "options": {"classes": os.path.join(mdir, "classes.txt")}, "run": {},
                  "expect": skip(2, ("bad_row", "index.tsv:4", "line 4: unknown label '7'"))})

    # Rows rejected before they are samples make no class (no phantom class, no .cls
    # shifted); links are followed only inside the manifest's folder, never read outside.
    os.symlink(os.path.join(out, "outside.png"), os.path.join(mdir, "img", "outside.png"))
    os.symlink("/etc/passwd", os.path.join(mdir, "img", "evil.png"))
    os.symlink("1.png", os.path.join(mdir, "img", "alias.png"))
    open(os.path.join(mdir, "phantom.csv"), "w").write(
        "path,label\n"
        "img/0.png,cat\n"              # line 2: good
        "img/1.png,dog\n"              # line 3: good
        "img/missing.png,aardvark\n"   # line 4: missing file
        "img/0.png,zebra\n"            # line 5: listed twice
        "img/outside.png,yak\n"        # line 6: a link out of the folder
        "img/evil.png,wolf\n"          # line 7: a link to /etc/passwd
        "img/alias.png,dog\n")         # line 8: a link inside: good
    cases.append({"name": "manifest/phantom.csv", "path": os.path.join(mdir, "phantom.csv"),
                  "options": {}, "run": {}, "expect": dict(skip(
                      3,
                      ("io_error", "img/missing.png", "line 4: img/missing.png"),
                      ("bad_row", "phantom.csv:5", "line 5: img/0.png is listed before, at line 2"),
                      ("unsafe_member", "img/outside.png", "/outside.png, outside the manifest"),
                      ("unsafe_member", "img/evil.png", "symlink to /etc/passwd, outside")),
                      classes=["bird", "cat", "dog", "fish"],
                      labels={"img/0.png": "cat", "img/1.png": "dog", "img/alias.png": "dog"})})

    # IDX: counts that disagree, and data shorter than the header says.
    def idx(magic, dims, data):
        return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + data
    os.makedirs(os.path.join(out, "idx-counts"))
    open(os.path.join(out, "idx-counts", "t-images-idx3-ubyte"), "wb").write(
        idx(0x803, [10, 4, 4], bytes(160)))
    open(os.path.join(out, "idx-counts", "t-labels-idx1-ubyte"), "wb").write(
        idx(0x801, [9], bytes(9)))
    cases.append({"name": "idx-counts", "path": os.path.join(out, "idx-counts", "t-images-idx3-ubyte"),
                  "options": {}, "run": {}, "expect": refused("9 labels for 10 images")})
    os.makedirs(os.path.join(out, "idx-short"))
    open(os.path.join(out, "idx-short", "t-images-idx3-ubyte"), "wb").write(
        idx(0x803, [10, 4, 4], bytes(100)))
    open(os.path.join(out, "idx-short", "t-labels-idx1-ubyte"), "wb").write(
        idx(0x801, [10], bytes(10)))
    cases.append({"name": "idx-short", "path": os.path.join(out, "idx-short", "t-images-idx3-ubyte"),
                  "options": {}, "run": {}, "expect": refused("the header declares 160 bytes")})

    # CIFAR: a batch that is not a whole number of records (format forced: the size rule
    # is what auto-detection uses, so it could not pick this file).
    case("cifar-bad.bin", bytes(3073 * 2 + 100), refused("not a whole number of 3073-byte"),
         options={"format": "cifar"})

    json.dump(cases, open(os.path.join(out, "cases.json"), "w"), indent=1)
    print(f"{len(cases)} cases in {out}")


if __name__ == "__main__":
    main()
