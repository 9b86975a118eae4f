"""Replay and preview on an augmented build (tests/configs/augment.ini: a balance stage and
random stages, so most records are augmented copies).

- `shardpack replay SHARD KEY` gives, byte for byte, what the shard stores, for every
  record of the first shard (copies, plain samples, and stand-ins for the corrupt star);
- after a source is edited, replay of its record fails with a message naming the source,
  and prints nothing (the plan is made from the files as they are now: printing whatever
  the edited file gives would pass off different pixels as the stored record);
- `shardpack preview -o sheet.png` draws a sheet of the promised size whose copy columns
  differ from the plain column.

  check_replay_preview.py SHARDPACK WORKDIR
"""
import io
import os
import shutil
import subprocess
import sys
import tarfile

import numpy as np
from PIL import Image

exe, work = sys.argv[1], sys.argv[2]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
cfg = "tests/configs/augment.ini"
out = os.path.join(work, "out")
subprocess.run([exe, "build", cfg, "-q", "-o", out], check=True)

shard = os.path.join(out, "aug-000000.tar")
checked = copies = stand_ins = 0
with tarfile.open(shard) as tf:
    for m in tf.getmembers():
        if not m.name.endswith(".jpg"):
            continue
        key = m.name[:-4]
        stored = tf.extractfile(m).read()
        meta = tf.extractfile(key + ".json").read().decode()
        copies += '"copy": 0' not in meta
        stand_ins += '"substitute_for"' in meta
        again = subprocess.run([exe, "replay", shard, key], check=True,
                               capture_output=True).stdout
        assert again == stored, "replay of %s differs from the stored record" % key
        checked += 1
assert checked >= 20 and copies >= 10, (checked, copies)
# The corrupt star's records are written from stand-ins: replay makes the same ones.
assert stand_ins >= 1, stand_ins

# Edit the source behind a plain record of a copy of the data: replay refuses.
data = os.path.join(work, "data")
shutil.copytree("examples/data", data)
cfg2 = os.path.join(work, "augment.ini")
open(cfg2, "w").write(open(cfg).read().replace("path = examples/data", "path = " + data))
out2 = os.path.join(work, "out2")
subprocess.run([exe, "build", cfg2, "-q", "-o", out2], check=True)
shard2 = os.path.join(out2, "aug-000000.tar")
with tarfile.open(shard2) as tf:
    metas = [(m.name[:-5], tf.extractfile(m).read().decode()) for m in tf.getmembers()
             if m.name.endswith(".json")]
key, meta = next((k, j) for k, j in metas if '"copy": 0' in j and "substitute_for" not in j)
source = meta.split('"source": "')[1].split('"')[0]
before = subprocess.run([exe, "replay", shard2, key], capture_output=True)
assert before.returncode == 0 and before.stdout, before.stderr
path = os.path.join(data, source)
im = Image.open(path).convert("RGB")
im.putpixel((im.width // 2, im.height // 2), (0, 255, 0))
im.save(path, format=Image.open(path).format)
after = subprocess.run([exe, "replay", shard2, key], capture_output=True, text=True)
assert after.returncode != 0 and after.stdout == "", (after.returncode, len(after.stdout))
assert "differs from the stored one" in after.stderr and source in after.stderr, after.stderr
print("replay after an edit of %s: refused (%s)" % (source, after.stderr.strip()))

# A record the build left out (it failed and its class has no stand-in) moves the ones
# after it up a place; replay finds each by key (tar) or by its moved position (npy).
small = os.path.join(work, "small")
os.makedirs(os.path.join(small, "a"))
os.makedirs(os.path.join(small, "b"))
Image.new("RGB", (10, 10), (200, 0, 0)).save(os.path.join(small, "a", "tiny.jpg"))
rng = np.random.default_rng(5)
for i in range(5):
    Image.fromarray(rng.integers(0, 255, (60, 70, 3), dtype=np.uint8)).save(
        os.path.join(small, "b", "%d.jpg" % i))
for sink in ("tar", "npy"):
    cfg3 = os.path.join(work, "small-%s.ini" % sink)
    open(cfg3, "w").write("[source]\npath = %s\n\n[random_crop]\nwidth = 40\nheight = 40\n"
                          "apply = all\n\n[out]\ntype = %s\n" % (small, sink))
    out3 = os.path.join(work, "out-small-" + sink)
    subprocess.run([exe, "build", cfg3, "-q", "-o", out3], check=True)
    m3 = __import__("json").load(open(os.path.join(out3, "manifest.json")))
    assert m3["records"] == 5 and [s["path"] for s in m3["skipped"]] == ["a/tiny.jpg"], m3
    shard3 = os.path.join(out3, m3["shards"][0]["path"])
    if sink == "tar":
        with tarfile.open(shard3) as tf:
            keys = [m.name[:-4] for m in tf.getmembers() if m.name.endswith(".jpg")]
    else:
        keys = ["%09d" % i for i in range(1, 6)]  # plan positions 1..5, stored at 0..4
    for key in keys:
        r = subprocess.run([exe, "replay", shard3, key], capture_output=True)
        assert r.returncode == 0 and r.stdout, (sink, key, r.stderr)
    print("replay after a record the build left out: %d %s records made again" % (len(keys), sink))

sheet = os.path.join(work, "sheet.png")
rows, ncopies, cell = 4, 5, 64
subprocess.run([exe, "preview", cfg, "-q", "-o", sheet, "--rows", str(rows), "--copies",
                str(ncopies), "--cell", str(cell)], check=True)
img = np.asarray(Image.open(sheet).convert("RGB"), dtype=np.int16)
pad, label = 6, 12
assert img.shape == (label + rows * (label + cell + pad) + pad, pad + ncopies * (cell + pad), 3), \
    img.shape
differ = 0
for r in range(rows):
    y = label + r * (label + cell + pad) + label
    plain = img[y:y + cell, pad:pad + cell]
    for k in range(1, ncopies):
        x = pad + k * (cell + pad)
        differ += np.abs(img[y:y + cell, x:x + cell] - plain).mean() > 2
assert differ >= rows * (ncopies - 1) * 3 // 4, "copies look like the plain sample: %d" % differ
print("replay: %d records byte-identical (%d copies); preview %dx%d, %d augmented cells differ"
      % (checked, copies, img.shape[1], img.shape[0], differ))
