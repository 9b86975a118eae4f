#!/usr/bin/python3
"""configs/fashion-mnist.ini on the real Fashion-MNIST training set (Debian's
dataset-fashion-mnist package), checked against the IDX files read here with numpy.

    /usr/bin/python3 tests/inputs/test_fashion_mnist.py SHARDPACK CONFIG WORKDIR

Builds the 60000 training images, then checks with tarfile and Pillow only: 60000
records, 6000 in each of the ten classes (manifest and records agree), every record's
class is the IDX label's name, every 7th record's PNG decodes to exactly the IDX pixels
(gray in all three channels), and a rescan of the unchanged files is served entirely by
the catalog cache. Also checks the build took under two minutes.

Exit status 0 when every check holds, 1 otherwise, 77 (skipped) when the dataset is not
installed (scripts/deps.sh test installs it).
"""

import gzip
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time

import numpy as np
from PIL import Image

DATA = "/usr/share/datasets/fashion-mnist"
NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
         "Sneaker", "Bag", "Ankle boot"]


def read_idx(path):
    raw = gzip.open(path, "rb").read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def main():
    sp, config, work = sys.argv[1:4]
    images_path = os.path.join(DATA, "train-images-idx3-ubyte.gz")
    if not os.path.exists(images_path):
        print(f"skipped: {images_path} is not installed (apt-get install dataset-fashion-mnist)")
        return 77
    shutil.rmtree(work, ignore_errors=True)
    failures = []

    def check(cond, what):
        if not cond:
            failures.append(what)
            print("FAIL:", what)

    t0 = time.monotonic()
    p = subprocess.run([sp, "build", config, "-o", work, "-j", "2"], capture_output=True, text=True)
    seconds = time.monotonic() - t0
    print(f"build: {seconds:.1f} s")
    if p.returncode != 0:
        print("FAIL: build exit", p.returncode, p.stderr)
        return 1
    check(seconds < 120, f"the build took {seconds:.0f} s (over 2 minutes)")

    images = read_idx(images_path)
    labels = read_idx(os.path.join(DATA, "train-labels-idx1-ubyte.gz"))
    m = json.load(open(os.path.join(work, "manifest.json")))
    check(m["records"] == 60000, f"manifest: {m['records']} records")
    check(sorted(m["classes"]) == sorted(NAMES), f"manifest classes: {m['classes']}")
    check(m["counts_out"] == {c: 6000 for c in NAMES}, f"manifest counts_out: {m['counts_out']}")

    seen, counts, decoded = set(), {}, 0
    for sh in m["shards"]:
        with tarfile.open(os.path.join(work, sh["path"])) as t:
            members = {x.name: x for x in t}
            for name, member in members.items():
                if not name.endswith(".json"):
                    continue
                key = name[: -len(".json")]
                meta = json.loads(t.extractfile(member).read())
                i = int(meta["source"].rsplit("/", 1)[1])
                check(meta["source"] == f"train-images-idx3-ubyte/{i:08d}", f"{key}: source {meta['source']}")
                check(i not in seen, f"{key}: image {i} written twice")
                seen.add(i)
                want = NAMES[labels[i]]
                check(meta["class"] == want, f"{key}: class {meta['class']}, IDX label {labels[i]} is {want}")
                cls = int(t.extractfile(members[key + ".cls"]).read())
                check(m["classes"][cls] == want, f"{key}: .cls {cls} is {m['classes'][cls]}, wanted {want}")
                counts[meta["class"]] = counts.get(meta["class"], 0) + 1
                if i % 7 == 0:
                    img = Image.open(io.BytesIO(t.extractfile(members[key + ".png"]).read()))
                    px = np.asarray(img.convert("RGB"))
                    ok = px.shape == (28, 28, 3) and all(np.array_equal(px[:, :, c], images[i]) for c in range(3))
                    check(ok, f"{key}: pixels differ from IDX image {i}")
                    decoded += 1
    check(len(seen) == 60000, f"{len(seen)} distinct images in the shards")
    check(counts == {c: 6000 for c in NAMES}, f"records per class: {counts}")
    check(decoded == len(range(0, 60000, 7)), f"decoded {decoded} records")

    # The second scan of the unchanged IDX files reads no image: the cache answers all.
    p = subprocess.run([sp, "scan", config, "-o", work], capture_output=True, text=True)
    check(p.returncode == 0 and "60000 samples in 10 classes, 0 rejected, 60000 from cache" in p.stderr,
          f"rescan not served by the cache: {p.stderr}")

    print(f"{len(failures)} failed" if failures else f"all checks passed ({decoded} records decoded)")
    if not failures:
        shutil.rmtree(work, ignore_errors=True)  # 220 MB of shards
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
