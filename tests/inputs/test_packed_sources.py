#!/usr/bin/python3
"""The idx and cifar sources, end to end, on synthetic data made here.

    /usr/bin/python3 tests/inputs/test_packed_sources.py SHARDPACK WORKDIR

Writes small IDX files (plain and gzipped, images of a non-square size so a transposed
reader would show) and CIFAR-10 / CIFAR-100 binaries with numpy into WORKDIR, builds them
with `shardpack build` into lossless PNG tar shards, and reads every record back with
tarfile and Pillow only: each record's pixels must equal the generated image its .json
`source` names (CONTAINER/INDEX), and its label, class name and .cls must be that image's.
Then the cases that must fail clearly (mismatched counts, a float IDX, a truncated gzip, a
CIFAR file that is not whole records, ...) and a rescan served wholly by the cache.

WORKDIR/idx/ keeps the generated IDX files: the config_fashion-mnist test plans
configs/fashion-mnist.ini on them.

Exit status 0 when every check holds; otherwise one line per failed check and 1.
"""

import gzip
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tarfile

import numpy as np
from PIL import Image

SP, WORK = sys.argv[1], sys.argv[2]
failures = []
RNG = np.random.default_rng(20240611)  # fixed: a failure reproduces


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def run(*args):
    p = subprocess.run([SP, *args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def build(name, ini, *extra):
    """Builds the config text into WORK/out-NAME; returns (rc, stderr, outdir)."""
    cfg = os.path.join(WORK, name + ".ini")
    with open(cfg, "w") as f:
        f.write(ini)
    out = os.path.join(WORK, "out-" + name)
    rc, _, err = run("build", cfg, "-o", out, "-j", "2", *extra)
    return rc, err, out


def write_idx(path, arr, compress=False):
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    data = struct.pack(">BBBB", 0, 0, 0x08, arr.ndim) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
    data += arr.tobytes()
    with (gzip.open if compress else open)(path, "wb") as f:
        f.write(data)


def records(out):
    """source path -> (pixels HxWx3, .cls, .json) for every record in every shard."""
    m = json.load(open(os.path.join(out, "manifest.json")))
    got = {}
    for sh in m["shards"]:
        with tarfile.open(os.path.join(out, sh["path"])) as t:
            members = {x.name: x for x in t}
            for name in members:
                if not name.endswith(".json"):
                    continue
                key = name[: -len(".json")]
                meta = json.loads(t.extractfile(members[name]).read())
                png = t.extractfile(members[key + ".png"]).read()
                cls = int(t.extractfile(members[key + ".cls"]).read())
                img = Image.open(io.BytesIO(png))
                check(img.format == "PNG", f"{out}: {key} is {img.format}, not PNG")
                got[meta["source"]] = (np.asarray(img.convert("RGB")), cls, meta)
    return m, got


def check_labels(what, m, got, source, names, labels):
    """Every record's class is names[label], its .cls that name's index in the run."""
    for src, (_, cls, meta) in got.items():
        i = int(src.rsplit("/", 1)[1])
        want = names[labels[source(src)][i]]
        check(meta["class"] == want, f"{what}: {src} class {meta['class']!r}, wanted {want!r}")
        check(m["classes"][cls] == want, f"{what}: {src} .cls {cls} is {m['classes'][cls]!r}, wanted {want!r}")
        check(meta["label"] == cls, f"{what}: {src} .json label {meta['label']} != .cls {cls}")


# --- IDX ----------------------------------------------------------------------------------
def test_idx():
    d = os.path.join(WORK, "idx")
    os.makedirs(d)
    n, rows, cols = 57, 6, 9
    imgs = RNG.integers(0, 256, (n, rows, cols), dtype=np.uint8)
    imgs[0] = 0
    imgs[1] = 255
    labels = RNG.integers(0, 10, n, dtype=np.uint8)
    labels[:10] = np.arange(10)  # every class present
    write_idx(f"{d}/plain-images-idx3-ubyte", imgs)
    write_idx(f"{d}/plain-images-idx3-ubyte.gz", imgs, compress=True)
    write_idx(f"{d}/plain-labels-idx1-ubyte", labels)
    write_idx(f"{d}/plain-labels-idx1-ubyte.gz", labels, compress=True)

    names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
             "Sneaker", "Bag", "Ankle boot"]
    for images, labs, classes in [
        ("plain-images-idx3-ubyte", "plain-labels-idx1-ubyte.gz", None),
        ("plain-images-idx3-ubyte.gz", "plain-labels-idx1-ubyte", names),
        ("plain-images-idx3-ubyte.gz", "plain-labels-idx1-ubyte.gz", names),
    ]:
        what = f"idx {images} + {labs}"
        ini = f"[src]\ntype = idx\nimages = {d}/{images}\nlabels = {d}/{labs}\n"
        if classes:
            ini += "classes = " + ", ".join(classes) + "\n"
        ini += "[shuffle]\n[encode]\nformat = png\n[shards]\ntype = tar\nmax_records = 20\n"
        rc, err, out = build("idx", ini)
        check(rc == 0, f"{what}: build exit {rc}: {err}")
        if rc:
            continue
        m, got = records(out)
        check(m["records"] == n and len(got) == n, f"{what}: {len(got)} records, wanted {n}")
        check(sorted(got) == [f"plain-images-idx3-ubyte/{i:08d}" for i in range(n)],
              f"{what}: sources {sorted(got)[:3]}...")
        for src, (px, _, meta) in got.items():
            i = int(src.rsplit("/", 1)[1])
            check(px.shape == (rows, cols, 3), f"{what}: {src} shape {px.shape}")
            check(meta["format"] == "pnm" and meta["width"] == cols and meta["height"] == rows,
                  f"{what}: {src} json {meta}")
            for c in range(3):
                check(np.array_equal(px[:, :, c], imgs[i]), f"{what}: {src} channel {c} differs")
        check_labels(what, m, got, lambda s: 0, classes or [str(k) for k in range(10)], [labels])

        # A rescan of unchanged files reads no image: every sample comes from the cache.
        cfg = os.path.join(WORK, "idx.ini")
        rc, _, err = run("scan", cfg, "-o", out)
        check(rc == 0 and f"{n} samples in 10 classes, 0 rejected, {n} from cache" in err,
              f"{what}: rescan not served by the cache: {err}")

    # Default class names are the label values, zero-padded so they sort numerically.
    many = (np.arange(n) % 12).astype(np.uint8)
    write_idx(f"{d}/many-labels-idx1-ubyte", many)
    rc, err, out = build("idx-many", f"[src]\ntype = idx\nimages = {d}/plain-images-idx3-ubyte\n"
                         f"labels = {d}/many-labels-idx1-ubyte\n[encode]\nformat = png\n[shards]\ntype = tar\n")
    check(rc == 0, f"idx with 12 labels: exit {rc}: {err}")
    if rc == 0:
        m, got = records(out)
        check(m["classes"] == [f"{k:02d}" for k in range(12)], f"idx numbered classes: {m['classes']}")
        check_labels("idx 12 labels", m, got, lambda s: 0, [f"{k:02d}" for k in range(12)], [many])

    # Labels outside `classes` reject their samples, and say why.
    rc, err, out = build("idx-range", f"[src]\ntype = idx\nimages = {d}/plain-images-idx3-ubyte\n"
                         f"labels = {d}/plain-labels-idx1-ubyte\nclasses = a, b, c\n"
                         "[encode]\nformat = png\n[shards]\ntype = tar\n")
    check(rc == 0, f"idx with 3 classes: exit {rc}: {err}")
    if rc == 0:
        m = json.load(open(os.path.join(out, "manifest.json")))
        bad = [s for s in m["skipped"] if s["reason"] == "no_label"]
        check(len(bad) == int((labels >= 3).sum()) and m["records"] == int((labels < 3).sum()),
              f"idx labels >= 3 should be skipped: {len(bad)} skipped, {m['records']} records")
        check(bad and "label" in bad[0]["detail"] and "3 classes" in bad[0]["detail"], f"idx skip detail: {bad[:1]}")

    # Broken containers fail the run with the file and the reason.
    head = struct.pack(">BBBBIII", 0, 0, 8, 3, n, rows, cols)
    open(f"{d}/short-labels", "wb").write(struct.pack(">BBBBI", 0, 0, 8, 1, n - 1) + bytes(n - 1))
    open(f"{d}/float-images", "wb").write(struct.pack(">BBBBIII", 0, 0, 0x0D, 3, 1, 1, 1) + bytes(4))
    open(f"{d}/trunc-images", "wb").write(head + bytes(n * rows * cols - 1))
    open(f"{d}/long-images", "wb").write(head + bytes(n * rows * cols + 1))
    open(f"{d}/huge-images", "wb").write(struct.pack(">BBBBIII", 0, 0, 8, 3, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF))
    open(f"{d}/big-images", "wb").write(struct.pack(">BBBBIII", 0, 0, 8, 3, 1, 70000, 1) + bytes(70000))
    write_idx(f"{d}/one-label", np.zeros(1, dtype=np.uint8))
    open(f"{d}/empty", "wb").close()
    gz = open(f"{d}/plain-images-idx3-ubyte.gz", "rb").read()
    open(f"{d}/cut.gz", "wb").write(gz[: len(gz) // 2])
    for images, labs, words in [
        ("plain-images-idx3-ubyte", "short-labels", ["short-labels", "56 labels for 57 images"]),
        ("float-images", "plain-labels-idx1-ubyte", ["float-images", "0x0d (float)", "unsigned bytes"]),
        ("trunc-images", "plain-labels-idx1-ubyte", ["trunc-images", "declares 3078 bytes", "has 3077"]),
        ("long-images", "plain-labels-idx1-ubyte", ["long-images", "declares 3078 bytes", "has 3079"]),
        ("huge-images", "plain-labels-idx1-ubyte", ["huge-images", "overflow"]),
        ("big-images", "one-label", ["big-images", "over max_dimension"]),
        ("empty", "plain-labels-idx1-ubyte", ["empty", "not an IDX file"]),
        ("cut.gz", "plain-labels-idx1-ubyte", ["cut.gz", "truncated"]),
        ("plain-labels-idx1-ubyte", "plain-labels-idx1-ubyte", ["labels-idx1-ubyte", "images file has 1 dimensions, not 3"]),
        ("missing", "plain-labels-idx1-ubyte", ["missing", "cannot open images"]),
    ]:
        rc, err, _ = build("idx-bad", f"[src]\ntype = idx\nimages = {d}/{images}\nlabels = {d}/{labs}\n"
                           "[shards]\ntype = tar\n")
        check(rc != 0 and all(w in err for w in words), f"idx {images}/{labs}: exit {rc}, wanted {words} in: {err.strip()}")
    rc, err, _ = build("idx-bad", f"[src]\ntype = idx\nimages = {d}/plain-images-idx3-ubyte\n"
                       f"labels = {d}/plain-labels-idx1-ubyte\nclasses = a, b, a\n[shards]\ntype = tar\n")
    check(rc != 0 and "classes names class 'a' twice" in err, f"idx repeated class: {err.strip()}")
    # A limit below the data refuses it before allocating, and says which limit.
    rc, err, _ = build("idx-bad", f"[run]\nmax_file_bytes = 2K\n[src]\ntype = idx\nimages = {d}/plain-images-idx3-ubyte\n"
                       f"labels = {d}/plain-labels-idx1-ubyte\n[shards]\ntype = tar\n")
    check(rc != 0 and "max_file_bytes" in err, f"idx over max_file_bytes: {err.strip()}")


# --- CIFAR --------------------------------------------------------------------------------
def cifar_file(path, n, label_cols):
    """n records: label bytes (one column per label kind) + 3072 random pixel bytes."""
    labels = np.stack([RNG.integers(0, k, n, dtype=np.uint8) for k in label_cols], axis=1)
    px = RNG.integers(0, 256, (n, 3072), dtype=np.uint8)
    open(path, "wb").write(np.concatenate([labels, px], axis=1).tobytes())
    return labels, px.reshape(n, 3, 32, 32).transpose(0, 2, 3, 1)  # planes to HxWxRGB


def check_cifar(what, out, data, names, label_col, stems):
    m, got = records(out)
    want = sum(len(data[s][1]) for s in stems)
    check(len(got) == want and m["records"] == want, f"{what}: {len(got)} records, wanted {want}")
    for src, (px, _, meta) in got.items():
        stem, i = src.rsplit("/", 1)
        check(stem in stems, f"{what}: unexpected source {src}")
        if stem in stems:
            check(np.array_equal(px, data[stem][1][int(i)]), f"{what}: {src} pixels differ")
    check_labels(what, m, got, lambda s: s.rsplit("/", 1)[0], names,
                 {s: data[s][0][:, label_col] for s in stems})


def test_cifar():
    d10 = os.path.join(WORK, "cifar10")
    os.makedirs(d10)
    c10 = "airplane automobile bird cat deer dog frog horse ship truck".split()
    data = {}
    for stem, n in [("data_batch_1", 23), ("data_batch_2", 11), ("test_batch", 9)]:
        data[stem] = cifar_file(f"{d10}/{stem}.bin", n, [10])
    open(f"{d10}/batches.meta.txt", "w").write("\n".join(c10) + "\n\n")
    ini = f"[c]\ntype = cifar\npath = {d10}\nfiles = data_batch_1.bin, data_batch_2.bin\n" \
          "[shuffle]\n[encode]\nformat = png\n[shards]\ntype = tar\nmax_records = 10\n"
    rc, err, out = build("c10", ini)
    check(rc == 0, f"cifar10: exit {rc}: {err}")
    if rc == 0:
        check_cifar("cifar10", out, data, c10, 0, ["data_batch_1", "data_batch_2"])
        rc, _, err = run("scan", os.path.join(WORK, "c10.ini"), "-o", out)
        check(rc == 0 and "34 samples in 10 classes, 0 rejected, 34 from cache" in err,
              f"cifar10: rescan not served by the cache: {err}")
    rc, err, out = build("c10", ini.replace("data_batch_1.bin, data_batch_2.bin", "test_batch.bin"))
    check(rc == 0, f"cifar10 test batch: exit {rc}: {err}")
    if rc == 0:
        check_cifar("cifar10 test", out, data, c10, 0, ["test_batch"])

    d100 = os.path.join(WORK, "cifar100")
    os.makedirs(d100)
    data100 = {"train": cifar_file(f"{d100}/train.bin", 41, [20, 100])}
    fine = [f"fine{k:03d}" for k in range(100)]
    open(f"{d100}/fine_label_names.txt", "w").write("\n".join(fine) + "\n")
    rc, err, out = build("c100", f"[c]\ntype = cifar\npath = {d100}\nvariant = cifar100\n"
                         "[encode]\nformat = png\n[shards]\ntype = tar\n")
    check(rc == 0, f"cifar100 fine: exit {rc}: {err}")
    if rc == 0:
        check_cifar("cifar100 fine", out, data100, fine, 1, ["train"])
    # No coarse_label_names.txt: the 20 superclasses are numbered.
    rc, err, out = build("c100", f"[c]\ntype = cifar\npath = {d100}\nvariant = cifar100\nlabel = coarse\n"
                         "[encode]\nformat = png\n[shards]\ntype = tar\n")
    check(rc == 0 and "no coarse_label_names.txt" in err, f"cifar100 coarse: exit {rc}: {err}")
    if rc == 0:
        check_cifar("cifar100 coarse", out, data100, [f"{k:02d}" for k in range(20)], 0, ["train"])

    # Bad inputs fail the run with the file and the reason; bad labels cost their sample.
    bad = os.path.join(WORK, "cifar-bad")
    os.makedirs(bad)
    open(f"{bad}/data_batch_1.bin", "wb").write(bytes(3073 * 3 - 1))
    open(f"{bad}/data_batch_2.bin", "wb").write(bytes([12]) + bytes(3072) + bytes([3]) + bytes(3072))
    def expect_failure(opts, words):
        rc, err, _ = build("c-bad", f"[c]\ntype = cifar\npath = {bad}\n{opts}\n[shards]\ntype = tar\n")
        check(rc != 0 and all(w in err for w in words), f"cifar {opts}: exit {rc}, wanted {words} in: {err.strip()}")
    expect_failure("files = data_batch_1.bin", ["data_batch_1.bin", "9218 bytes is not a whole number of 3073-byte CIFAR-10 records"])
    expect_failure("files = nope.bin", ["nope.bin", "cannot open"])
    expect_failure("files = data_batch_2.bin, data_batch_2", ["files names 'data_batch_2' twice"])
    expect_failure("files = data_batch_2.bin, data_batch_2.bin", ["files names file 'data_batch_2.bin' twice"])
    expect_failure("label = coarse", ["label = coarse needs variant = cifar100"])
    open(f"{bad}/batches.meta.txt", "w").write("a\nb\n")
    expect_failure("files = data_batch_2.bin", ["batches.meta.txt", "2 class names; CIFAR-10 has 10"])
    os.remove(f"{bad}/batches.meta.txt")
    rc, err, out = build("c-bad", f"[c]\ntype = cifar\npath = {bad}\nfiles = data_batch_2.bin\n"
                         "[encode]\nformat = png\n[shards]\ntype = tar\n")
    check(rc == 0, f"cifar label out of range: exit {rc}: {err}")
    if rc == 0:
        m = json.load(open(os.path.join(out, "manifest.json")))
        check(m["records"] == 1 and [s["path"] for s in m["skipped"]] == ["data_batch_2/00000000"]
              and m["skipped"][0]["reason"] == "no_label", f"cifar label 12 of 10: {m['records']} {m['skipped']}")


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    test_idx()
    test_cifar()
    print(f"{len(failures)} failed" if failures else "all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
