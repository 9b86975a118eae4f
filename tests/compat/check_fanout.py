"""The fan-out config (tests/configs/fanout.ini) writes the same records twice: as
224x224 JPEGs in tar shards and as 64x64 pixels in npy arrays. Both must hold the same
records in the same order (labels match one for one), at their own sizes, and the npy
pixels must be the JPEG branch's content at another scale (a loose check: the mean
colour of each record agrees)."""
import glob
import io
import json
import os
import sys
import tarfile

import numpy as np
from PIL import Image

out = sys.argv[1]
tars = sorted(glob.glob(os.path.join(out, "big_shards-*.tar")))
assert tars, "no tar shards"
labels, means, sources = [], [], []
for t in tars:
    with tarfile.open(t) as tf:
        members = {m.name: m for m in tf.getmembers()}
        for name in sorted(n for n in members if n.endswith(".jpg")):
            key = name[:-4]
            img = Image.open(io.BytesIO(tf.extractfile(members[name]).read()))
            assert img.size == (224, 224), (name, img.size)
            meta = json.loads(tf.extractfile(members[key + ".json"]).read())
            labels.append(int(tf.extractfile(members[key + ".cls"]).read()))
            assert meta["label"] == labels[-1]
            sources.append(meta["source"])
            means.append(np.asarray(img.convert("RGB"), dtype=np.float64).mean(axis=(0, 1)))

arrays = sorted(glob.glob(os.path.join(out, "small_arrays-*.images.npy")))
assert len(arrays) == 1, arrays
x = np.load(arrays[0], mmap_mode="r")
y = np.load(arrays[0].replace(".images.npy", ".labels.npy"))
assert x.shape == (len(labels), 64, 64, 3), (x.shape, len(labels))
assert list(y) == labels, "the two sinks hold different records or orders"
small_means = x.reshape(len(labels), -1, 3).mean(axis=1)
diff = np.abs(small_means - np.array(means)).max()
assert diff < 12, f"record content differs between sinks (max mean diff {diff:.1f})"
manifest = json.load(open(os.path.join(out, "manifest.json")))
assert manifest["records"] == 2 * len(labels), manifest["records"]
print(f"fan-out ok: {len(labels)} records in both sinks, same order, max mean diff {diff:.1f}")
