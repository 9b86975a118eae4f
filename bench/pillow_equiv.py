#!/usr/bin/python3
"""The Pillow script a user would write instead of shardpack: the benchmark's baseline.

    /usr/bin/python3 bench/pillow_equiv.py DATA_DIR OUTDIR [--size 256] [--crop 224]
        [--quality 90] [--shard-records 1000] [--draft]

Same job as bench/convert.ini without the shuffle: class folders (sorted)
-> decode -> RGB -> shorter side to --size (bilinear, antialiased as Pillow's resize does
when shrinking) -> centre crop --crop x --crop -> JPEG at --quality -> WebDataset tar
shards (keys %09d, members .cls/.jpg/.json) written with tarfile.  One process, as such
scripts usually are.  Files Pillow cannot decode are skipped.

--draft lets libjpeg decode JPEGs at 1/2, 1/4 or 1/8 scale when that still covers the
target size (Image.draft), the DCT-domain shortcut shardpack also takes; off by default
because a typical script does not do it.
"""

import argparse
import io
import json
import os
import sys
import tarfile
import time

from PIL import Image

MTIME = 946684800  # fixed member mtime (2000-01-01) so output is reproducible


def list_samples(root):
    """(relative path, class name, label) for every file under root/<class>/, sorted."""
    classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
    for label, cls in enumerate(classes):
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, cls)):
            dirnames.sort()
            for name in sorted(filenames):
                yield os.path.relpath(os.path.join(dirpath, name), root), cls, label


def resized_size(w, h, size):
    """Shorter side to size, longer side scaled and truncated (torchvision's Resize(int))."""
    if w <= h:
        return size, int(size * h / w)
    return int(size * w / h), size


def to_rgb(im):
    # Pillow maps 16-bit grayscale to 8 bits by clipping, not scaling; scale first so a
    # 16-bit PNG does not come out almost white.
    if im.mode in ("I", "I;16", "I;16B", "I;16L"):
        im = im.convert("I").point(lambda v: v * (1 / 257)).convert("L")
    return im.convert("RGB")


def transform(path, size, crop, quality, draft):
    """JPEG bytes of the resized, centre-cropped image and its original (width, height)."""
    with Image.open(path) as im:
        orig = im.size
        target = resized_size(*orig, size)
        if draft and im.format == "JPEG":
            im.draft("RGB", target)
        im = to_rgb(im)  # forces the full decode: truncated files raise here
        im = im.resize(target, Image.BILINEAR)
    w, h = im.size
    # torchvision's CenterCrop offsets: round((w - crop) / 2).
    left, top = int(round((w - crop) / 2)), int(round((h - crop) / 2))
    im = im.crop((left, top, left + crop, top + crop))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    return buf.getvalue(), orig


class ShardWriter:
    """WebDataset tar shards of at most max_records samples, named shard-%06d.tar."""

    def __init__(self, outdir, max_records):
        self.outdir, self.max_records = outdir, max_records
        self.tar, self.count, self.shards = None, 0, 0

    def add(self, key, files):
        if self.tar is None or self.count == self.max_records:
            self.close()
            path = os.path.join(self.outdir, f"shard-{self.shards:06d}.tar")
            self.tar = tarfile.open(path, "w", format=tarfile.USTAR_FORMAT)
            self.shards += 1
            self.count = 0
        for ext, data in files:
            info = tarfile.TarInfo(f"{key}.{ext}")
            info.size, info.mode, info.mtime = len(data), 0o444, MTIME
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            self.tar.addfile(info, io.BytesIO(data))
        self.count += 1

    def close(self):
        if self.tar is not None:
            self.tar.close()
            self.tar = None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data_dir")
    ap.add_argument("outdir")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--crop", type=int, default=224)
    ap.add_argument("--quality", type=int, default=90)
    ap.add_argument("--shard-records", type=int, default=1000)
    ap.add_argument("--draft", action="store_true", help="use JPEG DCT-domain downscaling")
    ap.add_argument("-q", "--quiet", action="store_true", help="do not list skipped files")
    args = ap.parse_args()
    if args.crop > args.size:
        sys.exit("pillow_equiv: --crop must not exceed --size")
    os.makedirs(args.outdir, exist_ok=True)

    start = time.perf_counter()
    writer = ShardWriter(args.outdir, args.shard_records)
    records = skipped = 0
    for rel, cls, label in list_samples(args.data_dir):
        try:
            jpg, (w, h) = transform(os.path.join(args.data_dir, rel), args.size, args.crop,
                                    args.quality, args.draft)
        except Exception as e:  # corrupt, truncated or not an image: skip, as shardpack does
            skipped += 1
            if not args.quiet:
                print(f"pillow_equiv: skip {rel}: {type(e).__name__}: {e}", file=sys.stderr)
            continue
        key = f"{records:09d}"
        meta = {"class": cls, "height": h, "key": key, "label": label, "source": rel, "width": w}
        writer.add(key, [("cls", str(label).encode()), ("jpg", jpg),
                         ("json", json.dumps(meta, sort_keys=True).encode())])
        records += 1
    writer.close()
    seconds = time.perf_counter() - start
    print(f"pillow_equiv: {records} records in {writer.shards} shards, {skipped} skipped, "
          f"{seconds:.3f} s")


if __name__ == "__main__":
    main()
