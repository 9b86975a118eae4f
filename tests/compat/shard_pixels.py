"""The PNG records of every tar shard in an output folder, decoded with Pillow:
{member name: float64 array}. Shared by the decode-path comparisons (shrink-on-load,
crop-on-load), which compare two builds pixel by pixel."""

import glob
import io
import os
import tarfile

import numpy as np
from PIL import Image


def png_records(out):
    recs = {}
    for t in sorted(glob.glob(os.path.join(out, "*.tar"))):
        with tarfile.open(t) as tf:
            for m in tf.getmembers():
                if m.name.endswith(".png"):
                    recs[m.name] = np.asarray(Image.open(io.BytesIO(tf.extractfile(m).read())),
                                              dtype=np.float64)
    return recs
