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
