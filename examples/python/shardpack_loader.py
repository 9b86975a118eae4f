#!/usr/bin/python3
"""Read shardpack output (tar, npy or TFRecord shards) as (image, label) pairs.

    from shardpack_loader import ShardpackDataset
    ds = ShardpackDataset("out")               # the folder holding manifest.json
    for image, label in ds:                    # image: H x W x 3 uint8 numpy array
        ...

Needs only the standard library and numpy; Pillow too for decoding JPEG/PNG images
(decode=True with tar or TFRecord shards of jpeg/png). PyTorch is optional: when it is
importable, ShardpackIterableDataset wraps the same reader as a
torch.utils.data.IterableDataset that splits shards across DataLoader workers.

Run it as a script to summarise a folder:

    python3 shardpack_loader.py OUTDIR [--sink NAME] [--no-decode] [--show N]
"""

import copy
import io
import json
import os
import re
import struct
import tarfile

import numpy as np

__all__ = ["ShardpackDataset", "ShardpackIterableDataset", "crc32c"]

IMAGE_EXTS = ("jpg", "png", "raw")


# ---------------------------------------------------------------------------------------
# Format helpers
# ---------------------------------------------------------------------------------------

def _make_crc32c_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return tuple(table)


_CRC32C_TABLE = _make_crc32c_table()


def crc32c(data):
    """CRC-32C (Castagnoli) in pure Python: slow, used only when verify=True."""
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC32C_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def _masked_crc32c(data):
    c = crc32c(data)
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def _varint(buf, pos):
    result = shift = 0
    while True:
        b = buf[pos]  # IndexError on truncation: reported by the caller
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint longer than 10 bytes")


def _fields(buf):
    """Yields (field number, wire type, value) of one protobuf message."""
    pos, end = 0, len(buf)
    while pos < end:
        tag, pos = _varint(buf, pos)
        wire = tag & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 2:
            n, pos = _varint(buf, pos)
            if pos + n > end:
                raise ValueError("length-delimited field runs past the message")
            value, pos = buf[pos:pos + n], pos + n
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        yield tag >> 3, wire, value


def _signed64(u):
    return u - (1 << 64) if u >= 1 << 63 else u


def parse_example(buf):
    """Serialized tf.train.Example -> {feature name: list of bytes / int / float}."""
    out = {}
    buf = memoryview(buf)
    for n, w, features in _fields(buf):
        if n != 1 or w != 2:
            continue  # Example.features is field 1
        for n2, w2, entry in _fields(features):
            if n2 != 1 or w2 != 2:
                continue  # Features.feature (a map) is field 1
            key, feature = None, b""
            for n3, w3, v in _fields(entry):
                if n3 == 1 and w3 == 2:
                    key = bytes(v).decode("utf-8")
                elif n3 == 2 and w3 == 2:
                    feature = v
            if key is None:
                continue
            values = []
            for kind, wk, lst in _fields(feature):  # oneof bytes/float/int64 list
                if wk != 2:
                    continue
                for n4, w4, v in _fields(lst):
                    if n4 != 1:
                        continue
                    if kind == 1:
                        values.append(bytes(v))
                    elif kind == 2:
                        raw = bytes(v)
                        values.extend(struct.unpack(f"<{len(raw) // 4}f", raw))
                    elif kind == 3 and w4 == 2:  # packed varints
                        pos = 0
                        while pos < len(v):
                            x, pos = _varint(v, pos)
                            values.append(_signed64(x))
                    elif kind == 3 and w4 == 0:
                        values.append(_signed64(v))
            out[key] = values
    return out


def iter_tfrecord(path, verify=False):
    """Yields the payload of each record of a TFRecord file."""
    with open(path, "rb") as f:
        while True:
            head = f.read(12)
            if not head:
                return
            if len(head) < 12:
                raise ValueError(f"{path}: truncated record header")
            length = struct.unpack_from("<Q", head)[0]
            data = f.read(length)
            tail = f.read(4)
            if len(data) < length or len(tail) < 4:
                raise ValueError(f"{path}: truncated record")
            if verify:
                if struct.unpack_from("<I", head, 8)[0] != _masked_crc32c(head[:8]):
                    raise ValueError(f"{path}: bad length CRC")
                if struct.unpack("<I", tail)[0] != _masked_crc32c(data):
                    raise ValueError(f"{path}: bad data CRC")
            yield data


def _decode_image(data, fmt, shape):
    """Encoded bytes -> H x W x 3 uint8 array."""
    if fmt in ("raw",):
        if shape is None:
            raise ValueError("raw image of unknown size")
        return np.frombuffer(data, dtype=np.uint8).reshape(shape)
    from PIL import Image  # only needed for JPEG and PNG

    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


def _section_inputs(config, names, name):
    value = config[name].get("input")
    if value:
        return [s for s in re.split(r"[,\s]+", value) if s]
    i = names.index(name)
    return [names[i - 1]] if i > 0 else []


def _crop_shape(config, sink):
    """(H, W, 3) of the nearest crop upstream of `sink`, or None."""
    names = [n for n, v in config.items() if n != "run" and isinstance(v, dict)]
    if sink not in names:
        return None
    todo, seen, sizes = _section_inputs(config, names, sink), set(), set()
    while todo:
        n = todo.pop()
        if n in seen or n not in config:
            continue
        seen.add(n)
        if config[n].get("type", n) == "crop":
            sizes.add((int(config[n]["height"]), int(config[n]["width"]), 3))
        else:
            todo.extend(_section_inputs(config, names, n))
    return sizes.pop() if len(sizes) == 1 else None


def _shard_type(manifest, shard):
    if shard.get("type"):
        return shard["type"]
    conf = manifest["config"].get(shard.get("sink"), {})
    if conf.get("type"):
        return conf["type"]
    path = shard["path"]
    if path.endswith(".tar"):
        return "tar"
    if path.endswith(".images.npy"):
        return "npy"
    return "tfrecord"


def split_key(name):
    """WebDataset rule: (key, extension) split at the first '.' of the last component."""
    head, _, last = name.rpartition("/")
    if "." not in last:
        return None, None
    stem, ext = last.split(".", 1)
    return (f"{head}/{stem}" if head else stem), ext


# ---------------------------------------------------------------------------------------
# The dataset
# ---------------------------------------------------------------------------------------

class ShardpackDataset:
    """Iterates (image, label) over one sink of a shardpack output folder, shard by shard.

    outdir: the folder holding manifest.json.
    sink:   the sink (config section) to read; may be omitted when there is only one.
    decode: True gives images as H x W x 3 uint8 numpy arrays; False gives the stored
            bytes (JPEG/PNG/raw as written; for npy shards, the raw pixel bytes).
    verify: TFRecord only: check each record's CRC-32C (pure Python, slow).

    label is the class index (manifest["classes"][label] is its name); for TFRecord the
    sink's label_offset is subtracted again, so every format gives the same labels.
    """

    def __init__(self, outdir, sink=None, decode=True, verify=False):
        self.outdir = outdir
        self.decode = decode
        self.verify = verify
        with open(os.path.join(outdir, "manifest.json"), encoding="utf-8") as f:
            self.manifest = json.load(f)
        self.classes = list(self.manifest["classes"])
        shards = self.manifest["shards"]
        sinks = sorted({s["sink"] for s in shards})
        if sink is None:
            if len(sinks) > 1:
                raise ValueError(f"{outdir} has several sinks {sinks}: pass sink=")
            sink = sinks[0] if sinks else None
        elif sink not in sinks:
            raise ValueError(f"{outdir} has no shards of sink {sink!r} (sinks: {sinks})")
        self.sink = sink
        self.config = self.manifest["config"].get(sink, {}) if sink else {}
        self.all_shards = [s for s in shards if s["sink"] == sink]
        self.shards = self.all_shards
        self.type = _shard_type(self.manifest, self.all_shards[0]) if self.all_shards else None
        self.shape = _crop_shape(self.manifest["config"], sink) if sink else None
        self.label_offset = int(self.config.get("label_offset", 0) or 0)

    def __len__(self):
        return sum(s["records"] for s in self.shards)

    def __repr__(self):
        return (f"ShardpackDataset({self.outdir!r}, sink={self.sink!r}, type={self.type!r}, "
                f"shards={len(self.shards)}, records={len(self)})")

    def shard_subset(self, rank, world_size):
        """A dataset over every world_size-th shard from rank (shards[rank::world_size]).

        The subsets of ranks 0..world_size-1 partition the shards: use it to give each
        process (or DataLoader worker) its own shards. With fewer shards than workers
        some subsets are empty.
        """
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} outside 0..{world_size - 1}")
        subset = copy.copy(self)
        subset.shards = self.shards[rank::world_size]
        return subset

    def __iter__(self):
        for shard in self.shards:
            path = os.path.join(self.outdir, shard["path"])
            yield from getattr(self, "_iter_" + self.type)(path)

    # -- per format ----------------------------------------------------------------------

    def _iter_tar(self, path):
        with tarfile.open(path, mode="r|") as tf:  # streaming: no seeking, no index
            key, files = None, {}
            for member in tf:
                if not member.isreg():
                    continue
                k, ext = split_key(member.name)
                if k is None or k.startswith("__"):
                    continue  # not a sample member, or metadata
                if k != key and files:
                    yield self._tar_sample(key, files)
                    files = {}
                key = k
                files[ext] = tf.extractfile(member).read()
            if files:
                yield self._tar_sample(key, files)

    def _tar_sample(self, key, files):
        if "cls" in files:
            label = int(files["cls"])
        elif "json" in files:
            label = int(json.loads(files["json"])["label"])
        elif "txt" in files:
            label = self.classes.index(files["txt"].decode("utf-8"))
        else:
            raise ValueError(f"sample {key!r} has no .cls, .json or .txt for its label")
        for ext in IMAGE_EXTS:
            if ext in files:
                data = files[ext]
                if self.decode:
                    fmt = {"jpg": "jpeg", "png": "png", "raw": "raw"}[ext]
                    return _decode_image(data, fmt, self.shape), label
                return data, label
        raise ValueError(f"sample {key!r} has no image member ({sorted(files)})")

    def _iter_npy(self, path):
        images = np.load(path, mmap_mode="r")
        labels = np.load(path[:-len(".images.npy")] + ".labels.npy", mmap_mode="r")
        if len(images) != len(labels):
            raise ValueError(f"{path}: {len(images)} images but {len(labels)} labels")
        for i in range(len(images)):
            image = images[i]
            # A copy, so the array outlives the map and can be written to.
            yield (np.array(image) if self.decode else image.tobytes()), int(labels[i])

    def _iter_tfrecord(self, path):
        for data in iter_tfrecord(path, self.verify):
            ex = parse_example(data)
            label = ex["image/class/label"][0] - self.label_offset
            encoded = ex["image/encoded"][0]
            if not self.decode:
                yield encoded, label
                continue
            fmt = ex["image/format"][0].decode("ascii")
            shape = (ex["image/height"][0], ex["image/width"][0], ex["image/channels"][0])
            yield _decode_image(encoded, fmt, shape), label


# ---------------------------------------------------------------------------------------
# PyTorch (optional)
# ---------------------------------------------------------------------------------------

try:
    import torch.utils.data as _torch_data
except ImportError:  # torch is optional
    _torch_data = None

if _torch_data is not None:

    class ShardpackIterableDataset(_torch_data.IterableDataset):
        """torch IterableDataset over a shardpack sink; each DataLoader worker reads its
        own shards (shards are split between workers with get_worker_info(), and between
        distributed processes with rank/world_size).

        transform: applied to each image (e.g. torchvision transforms, or
        lambda a: torch.from_numpy(a).permute(2, 0, 1)).
        """

        def __init__(self, outdir, sink=None, decode=True, transform=None, rank=0,
                     world_size=1, verify=False):
            super().__init__()
            self.dataset = ShardpackDataset(outdir, sink, decode, verify)
            if world_size > 1:
                self.dataset = self.dataset.shard_subset(rank, world_size)
            self.transform = transform

        def __len__(self):
            # Records of this process's shards (over all of its workers).
            return len(self.dataset)

        def __iter__(self):
            ds = self.dataset
            info = _torch_data.get_worker_info()
            if info is not None and info.num_workers > 1:
                ds = ds.shard_subset(info.id, info.num_workers)
            for image, label in ds:
                yield (self.transform(image) if self.transform else image), label

else:

    class ShardpackIterableDataset:  # noqa: D101 - placeholder when torch is missing
        def __init__(self, *args, **kwargs):
            raise ImportError("ShardpackIterableDataset needs PyTorch (import torch failed);"
                              " ShardpackDataset works without it")


# ---------------------------------------------------------------------------------------

def main(argv=None):
    import argparse

    ap = argparse.ArgumentParser(description="Summarise a shardpack output folder.")
    ap.add_argument("outdir")
    ap.add_argument("--sink", help="sink to read (needed when there are several)")
    ap.add_argument("--no-decode", action="store_true", help="do not decode images")
    ap.add_argument("--show", type=int, default=3, help="print the first N records")
    args = ap.parse_args(argv)

    ds = ShardpackDataset(args.outdir, sink=args.sink, decode=not args.no_decode)
    print(ds)
    counts = [0] * len(ds.classes)
    n = 0
    for i, (image, label) in enumerate(ds):
        if i < args.show:
            what = (f"shape {image.shape} {image.dtype}" if hasattr(image, "shape")
                    else f"{len(image)} bytes")
            print(f"  record {i}: {what}, label {label} ({ds.classes[label]})")
        counts[label] += 1
        n += 1
    print(f"{n} records (manifest says {len(ds)})")
    for name, c in zip(ds.classes, counts):
        print(f"  {name}: {c}")


if __name__ == "__main__":
    main()
