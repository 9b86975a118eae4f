"""Reads the shards examples/embed wrote and checks its custom stage acted on the pixels.

  check_embed.py OUT DATASET RECORDS

The embed pipeline is source -> channel_swap (order = bgr) -> encode (png) -> tar, with no
geometry, so each record must be its source image decoded independently here with PIL
(normalised to 8-bit RGB as docs/guide.md says: gray replicated, 16-bit scaled, alpha
composited on white) with red and blue swapped: exactly for PNG sources, within a small
tolerance for JPEG ones (two decoders). Also: every record's .json notes the swap, the
count matches what embed printed, and the swap really changed the colour images.
"""
import glob
import io
import json
import os
import sys
import tarfile

import numpy as np
from PIL import Image


def source_rgb(path):
    """A source image as shardpack normalises it: 8-bit RGB."""
    im = Image.open(path)
    im.load()
    if im.mode in ("I", "I;16", "I;16B"):  # 16-bit gray: round(v * 255 / 65535)
        v = np.asarray(im).astype(np.uint64)
        g = ((v * 255 + 32767) // 65535).astype(np.uint8)
        return np.repeat(g[..., None], 3, axis=2), im.format
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("RGB")), im.format
    return np.asarray(im.convert("RGB")), im.format


def main():
    out, dataset, expected = sys.argv[1], sys.argv[2], int(sys.argv[3])
    shards = sorted(glob.glob(os.path.join(out, "swapped-*.tar")))
    if not shards:
        sys.exit("no swapped-*.tar shards in " + out)
    n = exact = swapped_differs = 0
    for shard in shards:
        with tarfile.open(shard) as tf:
            recs = {}
            for m in tf.getmembers():
                key, ext = m.name.split(".", 1)
                recs.setdefault(key, {})[ext] = tf.extractfile(m).read()
        for key, rec in recs.items():
            where = "%s: %s" % (os.path.basename(shard), key)
            assert set(rec) == {"cls", "json", "png"}, "%s: members %s" % (where, sorted(rec))
            meta = json.loads(rec["json"])
            ops = [(o["type"], o.get("params", {}).get("order")) for o in meta["ops"]]
            assert ops == [("channel_swap", "bgr")], "%s: ops %s" % (where, meta["ops"])
            got_im = Image.open(io.BytesIO(rec["png"]))
            assert got_im.mode == "RGB", "%s: mode %s" % (where, got_im.mode)
            got = np.asarray(got_im).astype(int)
            ref, fmt = source_rgb(os.path.join(dataset, meta["source"]))
            ref = ref.astype(int)
            assert got.shape == ref.shape, "%s: shape %s, source %s" % (where, got.shape, ref.shape)
            diff = np.abs(got - ref[..., ::-1])
            if fmt == "PNG":
                assert diff.max() == 0, "%s: %s differs from the swapped source by up to %d" % (
                    where, meta["source"], diff.max())
                exact += 1
            else:
                assert diff.max() <= 3 and diff.mean() <= 0.5, "%s: %s: max %d, mean %.3f" % (
                    where, meta["source"], diff.max(), diff.mean())
            # Where red and blue differ, an unswapped record would not match.
            if (ref[..., 0] != ref[..., 2]).any():
                assert np.abs(got - ref).max() > 3, "%s: the channels were not swapped" % where
                swapped_differs += 1
            n += 1
    assert n == expected, "%d records in the shards, embed read back %d" % (n, expected)
    assert swapped_differs > n // 2, "only %d of %d records are colour images" % (swapped_differs, n)
    print("%d records in %d shards: each is its source with red and blue swapped (%d PNG "
          "sources exact, %d colour records changed by the swap)"
          % (n, len(shards), exact, swapped_differs))


if __name__ == "__main__":
    main()
