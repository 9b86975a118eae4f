#!/usr/bin/python3
"""Check every shardpack output format the way its readers will see it.

    /usr/bin/python3 tests/compat/check_formats.py OUTDIR
    /usr/bin/python3 tests/compat/check_formats.py --self-test

Reads OUTDIR/manifest.json and every shard it lists, with code written here from the
published formats (Python's tarfile, numpy, Pillow, and a CRC-32C and protobuf reader of
its own; nothing from shardpack), and checks, per shard by its sink's type:

* all formats: the path is inside OUTDIR; size and xxh3 (XXH3-128, via the system
  libxxhash when present) match the manifest; listed sidecars exist; the block-sum file
  NAME.xxh ("xxh3-64 4096", then one XXH3-64 per 4 KiB block) matches the shard;
* tar: every entry of the DALI index PREFIX-NNNNNN.idx (v1.2) points at the member's data
  (offset after its 512-byte header, a multiple of 512) and the bytes there equal what
  tarfile extracts; every member is indexed exactly once, one index line per WebDataset
  sample, and the sample count equals the manifest's; each sample holds the image plus
  exactly the sink's `fields`, in extension order, consistent with each other and the
  manifest's classes; the image decodes to the crop size; the sink's wids index
  PREFIX.wids.json has the right kind, version and name, urls sorted and equal to the
  sink's shards, nsamples and filesize equal to the manifest and the files;
* npy: the .images.npy / .labels.npy headers (parsed here) are format 1.0, '|u1'
  (N, H, W, 3) and '<i8' (N,), C order, data on a 64-byte boundary; numpy.load with
  mmap_mode='r' agrees; N is the manifest's record count, H x W the crop size; labels are
  valid class indexes;
* tfrecord: shard names PREFIX-SSSSS-of-TTTTT cover 0..TTTTT-1; every record's length and
  data CRC-32C (masked) are right; every tf.train.Example holds the required features
  with the right types, its image decodes to (width, height), its label minus the sink's
  label_offset names the class in image/class/text; the DALI index lists exactly the
  record boundaries walked.

Across shards: per-class counts over all sinks equal counts_out (with several sinks, each
sink's counts are also compared with plan.tsv) and record totals equal the manifest's.  When
plan.tsv is present, each shard's labels (and tfrecord filenames) follow it in order.

Exit status: 0 when everything holds, 1 with one line per problem otherwise, 2 when the
output cannot be read at all (usage, missing or malformed manifest).
"""

import argparse
import ast
import io
import json
import os
import re
import struct
import sys
import tarfile

import numpy as np
from PIL import Image

from wds_rules import group_samples, load_xxhash

PROG = "check_formats"
MAX_REPORTED = 50
XXH3_RE = re.compile(r"[0-9a-f]{32}")
CLS_RE = re.compile(r"0|[1-9][0-9]*")
IMAGE_EXTS = ("jpg", "png", "raw")
ENCODE_EXT = {"jpeg": "jpg", "png": "png", "raw": "raw"}
TAR_FIELDS = ("cls", "json", "txt")
TFRECORD_NAME_RE = re.compile(r"(.*)-([0-9]{5})-of-([0-9]{5})")
TAR_NAME_RE = re.compile(r"(.*)-([0-9]{6})\.tar")
NPY_NAME_RE = re.compile(r"(.*)-([0-9]{6})\.images\.npy")


# ---------------------------------------------------------------------------------------
# CRC-32C (Castagnoli), table-driven, and TFRecord's masking
# ---------------------------------------------------------------------------------------

def _crc32c_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return tuple(table)


CRC32C_TABLE = _crc32c_table()


def crc32c(data, crc=0):
    """CRC-32C of `data`; pass a previous result as `crc` to continue it."""
    c = crc ^ 0xFFFFFFFF
    table = CRC32C_TABLE
    for b in data:
        c = table[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def masked_crc32c(data):
    c = crc32c(data)
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


# ---------------------------------------------------------------------------------------
# Protobuf wire format, just enough for tf.train.Example
# ---------------------------------------------------------------------------------------

class ProtoError(ValueError):
    pass


def read_varint(buf, pos):
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ProtoError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            break
        shift += 7
        if shift >= 70:
            raise ProtoError("varint longer than 10 bytes")
    if result >= 1 << 64:
        raise ProtoError("varint over 64 bits")
    return result, pos


def parse_fields(buf):
    """A message's fields as a list of (number, wire type, value), in wire order.

    value is an int for varint (0), fixed64 (1) and fixed32 (5) fields and bytes for
    length-delimited (2) ones; groups (3, 4) are not supported.
    """
    buf = bytes(buf)
    fields, pos = [], 0
    while pos < len(buf):
        tag, pos = read_varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        if number == 0:
            raise ProtoError(f"field number 0 at byte {pos}")
        if wire == 0:
            value, pos = read_varint(buf, pos)
        elif wire == 1:
            if pos + 8 > len(buf):
                raise ProtoError("truncated fixed64")
            value, pos = struct.unpack_from("<Q", buf, pos)[0], pos + 8
        elif wire == 2:
            n, pos = read_varint(buf, pos)
            if pos + n > len(buf):
                raise ProtoError(f"length {n} runs past the message end")
            value, pos = buf[pos:pos + n], pos + n
        elif wire == 5:
            if pos + 4 > len(buf):
                raise ProtoError("truncated fixed32")
            value, pos = struct.unpack_from("<I", buf, pos)[0], pos + 4
        else:
            raise ProtoError(f"field {number}: unsupported wire type {wire}")
        fields.append((number, wire, value))
    return fields


def to_int64(u):
    u &= (1 << 64) - 1
    return u - (1 << 64) if u >= 1 << 63 else u


def parse_feature(buf):
    """Feature -> (kind, values, notes): kind 'bytes', 'float' or 'int64'."""
    kinds = []
    notes = []
    for number, wire, value in parse_fields(buf):
        if wire != 2 or number not in (1, 2, 3):
            raise ProtoError(f"Feature: unexpected field {number} (wire type {wire})")
        kinds.append((number, value))
    if len(kinds) != 1:
        raise ProtoError(f"Feature: {len(kinds)} list fields, want exactly one (oneof)")
    number, body = kinds[0]
    values = []
    for n, wire, value in parse_fields(body):
        if n != 1:
            raise ProtoError(f"list: unexpected field {n}")
        if number == 1:
            if wire != 2:
                raise ProtoError(f"BytesList: value has wire type {wire}")
            values.append(value)
        elif number == 2:
            if wire == 2:
                if len(value) % 4:
                    raise ProtoError("FloatList: packed length not a multiple of 4")
                values.extend(struct.unpack(f"<{len(value) // 4}f", value))
            elif wire == 5:
                values.append(struct.unpack("<f", struct.pack("<I", value))[0])
                notes.append("float values not packed")
            else:
                raise ProtoError(f"FloatList: value has wire type {wire}")
        else:
            if wire == 2:
                pos = 0
                while pos < len(value):
                    v, pos = read_varint(value, pos)
                    values.append(to_int64(v))
            elif wire == 0:
                values.append(to_int64(value))
                notes.append("int64 values not packed")
            else:
                raise ProtoError(f"Int64List: value has wire type {wire}")
    return {1: "bytes", 2: "float", 3: "int64"}[number], values, notes


def parse_example(buf):
    """tf.train.Example bytes -> ({key: (kind, [values])}, notes); raises ProtoError."""
    features, notes = {}, []
    for number, wire, value in parse_fields(buf):
        if number != 1 or wire != 2:
            raise ProtoError(f"Example: unexpected field {number} (wire type {wire})")
        for n, w, entry in parse_fields(value):
            if n != 1 or w != 2:
                raise ProtoError(f"Features: unexpected field {n} (wire type {w})")
            key, feature = None, None
            for en, ew, ev in parse_fields(entry):
                if en == 1 and ew == 2:
                    key = ev
                elif en == 2 and ew == 2:
                    feature = ev
                else:
                    raise ProtoError(f"map entry: unexpected field {en} (wire type {ew})")
            if key is None or feature is None:
                raise ProtoError("map entry without key or value")
            try:
                key = key.decode("utf-8")
            except UnicodeDecodeError:
                raise ProtoError(f"feature key {key!r} is not UTF-8") from None
            if key in features:
                notes.append(f"feature {key!r} appears twice")
            kind, values, more = parse_feature(feature)
            notes.extend(f"{key}: {m}" for m in more)
            features[key] = (kind, values)
    return features, notes


# Encoder used only by --self-test to build messages by hand.

def enc_varint(v):
    v &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def enc_field(number, wire, payload):
    tag = enc_varint(number << 3 | wire)
    if wire == 2:
        return tag + enc_varint(len(payload)) + payload
    return tag + payload


def self_test():
    problems = []

    def expect(what, got, want):
        if got != want:
            problems.append(f"{what}: got {got!r}, want {want!r}")

    expect("crc32c(b'123456789')", crc32c(b"123456789"), 0xE3069283)
    # RFC 3720 (iSCSI) appendix B.4 vectors.
    expect("crc32c(32 x 00)", crc32c(bytes(32)), 0x8A9136AA)
    expect("crc32c(32 x ff)", crc32c(b"\xff" * 32), 0x62A8AB43)
    expect("crc32c(0..31)", crc32c(bytes(range(32))), 0x46DD794E)
    expect("crc32c(b'')", crc32c(b""), 0)
    expect("crc32c continued", crc32c(b"6789", crc32c(b"12345")), 0xE3069283)
    c = crc32c(b"123456789")
    expect("mask", masked_crc32c(b"123456789"),
           ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) % (1 << 32))

    # The protobuf documentation's example: field 1 = 150 is 08 96 01.
    expect("varint 150", parse_fields(b"\x08\x96\x01"), [(1, 0, 150)])
    expect("enc varint 150", enc_field(1, 0, enc_varint(150)), b"\x08\x96\x01")
    expect("varint -1 length", len(enc_varint(-1)), 10)

    def feat_bytes(*vs):
        return enc_field(1, 2, b"".join(enc_field(1, 2, v) for v in vs))

    def feat_int64(*vs, packed=True):
        if packed:
            body = enc_field(1, 2, b"".join(enc_varint(v) for v in vs))
        else:
            body = b"".join(enc_field(1, 0, enc_varint(v)) for v in vs)
        return enc_field(3, 2, body)

    def feat_float(*vs):
        return enc_field(2, 2, enc_field(1, 2, struct.pack(f"<{len(vs)}f", *vs)))

    def entry(key, feature):
        return enc_field(1, 2, enc_field(1, 2, key.encode()) + enc_field(2, 2, feature))

    image = bytes(range(256)) * 3
    example = enc_field(1, 2, b"".join([
        entry("image/encoded", feat_bytes(image)),
        entry("image/format", feat_bytes(b"jpeg")),
        entry("image/height", feat_int64(224)),
        entry("image/class/label", feat_int64(-1, 0, 1, 2**63 - 1, -2**63)),
        entry("image/empty", feat_bytes(b"")),
        entry("image/unpacked", feat_int64(7, 300, packed=False)),
        entry("image/bbox", feat_float(0.5, -2.0)),
        entry("image/none", feat_int64()),
    ]))
    try:
        got, notes = parse_example(example)
    except ProtoError as e:
        problems.append(f"parse_example raised {e}")
    else:
        expect("image/encoded", got.get("image/encoded"), ("bytes", [image]))
        expect("image/format", got.get("image/format"), ("bytes", [b"jpeg"]))
        expect("image/height", got.get("image/height"), ("int64", [224]))
        expect("image/class/label", got.get("image/class/label"),
               ("int64", [-1, 0, 1, 2**63 - 1, -2**63]))
        expect("image/empty", got.get("image/empty"), ("bytes", [b""]))
        expect("image/unpacked", got.get("image/unpacked"), ("int64", [7, 300]))
        expect("image/bbox", got.get("image/bbox"), ("float", [0.5, -2.0]))
        # An empty packed list is a zero-length field 1 inside Int64List.
        expect("image/none", got.get("image/none"), ("int64", []))
        expect("notes", notes, ["image/unpacked: int64 values not packed"] * 2)
        expect("keys", len(got), 8)

    for bad, why in ((example[:-1], "truncated"), (b"\x08", "truncated varint"),
                     (b"\x0b", "group"), (b"\x0a\x05abc", "overlong length"),
                     (b"\xff" * 11, "11-byte varint")):
        try:
            parse_example(bad)
        except ProtoError:
            pass
        else:
            problems.append(f"parse_example accepted a bad message ({why})")

    # A whole framed record, walked back with walk_tfrecord.
    data = example
    length = struct.pack("<Q", len(data))
    framed = (length + struct.pack("<I", masked_crc32c(length)) + data
              + struct.pack("<I", masked_crc32c(data)))
    records, errs = walk_tfrecord(framed + framed)
    expect("walk errors", errs, [])
    expect("walk boundaries", [(o, s) for o, s, _ in records],
           [(0, len(framed)), (len(framed), len(framed))])
    broken = bytearray(framed)
    broken[20] ^= 1
    records, errs = walk_tfrecord(bytes(broken))
    if not errs:
        problems.append("walk_tfrecord accepted a flipped data bit")

    # npy header parsing against numpy's own writer.
    buf = io.BytesIO()
    np.save(buf, np.zeros((2, 3, 4, 3), np.uint8))
    try:
        hdr = parse_npy_header(buf.getvalue()[:4096])
        expect("npy header", (hdr["descr"], hdr["shape"], hdr["fortran_order"]),
               ("|u1", (2, 3, 4, 3), False))
    except ValueError as e:
        problems.append(f"parse_npy_header: {e}")

    for p in problems:
        print(f"{PROG}: self-test FAIL: {p}", file=sys.stderr)
    if problems:
        return 1
    print(f"{PROG}: self-test OK (CRC-32C check value 0xE3069283, protobuf round trip, "
          "TFRecord framing, npy header)")
    return 0


# ---------------------------------------------------------------------------------------
# Helpers shared by the format checks
# ---------------------------------------------------------------------------------------

class Failures:
    def __init__(self):
        self.messages = []

    def __call__(self, message):
        self.messages.append(message)

    def report(self):
        for message in self.messages[:MAX_REPORTED]:
            print(f"{PROG}: FAIL: {message}", file=sys.stderr)
        if len(self.messages) > MAX_REPORTED:
            print(f"{PROG}: ... and {len(self.messages) - MAX_REPORTED} more", file=sys.stderr)


def die(message):
    print(f"{PROG}: {message}", file=sys.stderr)
    sys.exit(2)


def stage_names(config):
    return [n for n, v in config.items() if n != "run" and isinstance(v, dict)]


def section_inputs(config, names, name):
    value = config[name].get("input")
    if value:
        return [s for s in re.split(r"[,\s]+", value) if s]
    i = names.index(name)
    return [names[i - 1]] if i > 0 else []


def nearest_upstream(config, sink, stage_type):
    """Sections of `stage_type` nearest upstream of `sink` on every input path."""
    names = stage_names(config)
    todo = list(section_inputs(config, names, sink)) if sink in names else []
    found, seen = [], set()
    while todo:
        n = todo.pop()
        if n in seen or n not in config:
            continue
        seen.add(n)
        if config[n].get("type", n) == stage_type:
            found.append(n)
            continue
        todo.extend(section_inputs(config, names, n))
    return found


def crop_size(config, sink):
    """(width, height) the sink's pixel chain crops to; None if none or ambiguous."""
    sizes = set()
    for n in nearest_upstream(config, sink, "crop"):
        opts = config[n]
        try:
            sizes.add((int(opts.get("width", opts.get("size"))),
                       int(opts.get("height", opts.get("size")))))
        except (TypeError, ValueError):
            die(f"manifest: crop section [{n}] has no integer width/height: {opts}")
    return sizes.pop() if len(sizes) == 1 else None


def encode_format(config, sink):
    """'jpeg', 'png' or 'raw' per the nearest encode stage (jpeg when there is none)."""
    formats = {config[n].get("format", "jpeg") for n in nearest_upstream(config, sink, "encode")}
    if len(formats) > 1:
        return None
    return formats.pop() if formats else "jpeg"


def sink_type(manifest, shard):
    t = shard.get("type")
    if t:
        return t
    sink = shard.get("sink")
    conf = manifest["config"].get(sink)
    if isinstance(conf, dict) and conf.get("type"):
        return conf["type"]
    path = shard.get("path", "")
    if path.endswith(".tar"):
        return "tar"
    if path.endswith(".images.npy"):
        return "npy"
    if TFRECORD_NAME_RE.fullmatch(os.path.basename(path)):
        return "tfrecord"
    return None


def parse_bool(text, default):
    if text is None:
        return default
    return str(text).strip().lower() in ("1", "true", "yes", "on")


def decode_image(data, fmt, width, height, where, fail):
    """Checks an encoded image; returns its (width, height) or None."""
    if fmt == "raw":
        if width is None or height is None:
            return None
        if len(data) != width * height * 3:
            fail(f"{where}: raw image holds {len(data)} bytes, want {width}x{height}x3 = "
                 f"{width * height * 3}")
            return None
        return (width, height)
    want = {"jpeg": "JPEG", "png": "PNG"}.get(fmt)
    try:
        with Image.open(io.BytesIO(data)) as im:
            if want and im.format != want:
                fail(f"{where}: image holds {im.format}, not {want}")
            im.load()
            if im.mode not in ("RGB",):
                fail(f"{where}: image mode {im.mode}, want RGB (3 channels)")
            return im.size
    except Exception as e:  # any decoder error means a reader would fail too
        fail(f"{where}: image does not decode: {type(e).__name__}: {e}")
        return None


def check_source_path(where, source, cls, ctx, fail):
    parts = source.split("/")
    if source.startswith("/") or ".." in parts:
        fail(f"{where}: source {source!r} is not relative to the source root")
    elif cls is not None and parts[0] != cls:
        fail(f"{where}: source {source!r} is not under class folder {cls!r}")
    if source in ctx["skipped_paths"]:
        fail(f"{where}: source {source!r} is listed as skipped in the manifest")


def check_common(outdir, shard, ctx, fail):
    """Path, size, xxh3, sidecars, block sums; returns the shard's path or None."""
    rel = shard.get("path")
    if not isinstance(rel, str) or not rel or os.path.isabs(rel) or ".." in rel.split("/"):
        fail(f"manifest: shard path {rel!r} is not a relative path inside OUTDIR")
        return None
    path = os.path.join(outdir, rel)
    if not os.path.isfile(path):
        fail(f"{rel}: listed in the manifest but missing")
        return None
    size = os.path.getsize(path)
    if shard.get("bytes") != size:
        fail(f"{rel}: {size} bytes on disk, manifest says {shard.get('bytes')!r}")
    if not isinstance(shard.get("records"), int) or shard["records"] < 0:
        fail(f"{rel}: manifest records {shard.get('records')!r} is not a count")
    digest = shard.get("xxh3")
    if not isinstance(digest, str) or not XXH3_RE.fullmatch(digest):
        fail(f"{rel}: manifest xxh3 {digest!r} is not 32 lowercase hex digits")
    elif ctx["xxh3_128"]:
        got = ctx["xxh3_128"](path)
        if got != digest:
            fail(f"{rel}: xxh3 on disk {got}, manifest says {digest}")
    sidecars = shard.get("sidecars", [])
    if not isinstance(sidecars, list):
        fail(f"{rel}: manifest sidecars {sidecars!r} is not a list")
        sidecars = []
    for side in sidecars:
        # {"path", "bytes", "xxh3"}: sidecars are checksummed like the shards they serve.
        name = side.get("path") if isinstance(side, dict) else None
        spath = os.path.join(outdir, name) if isinstance(name, str) else None
        if not spath or not os.path.isfile(spath):
            fail(f"{rel}: sidecar {side!r} listed in the manifest is missing")
            continue
        if os.path.getsize(spath) != side.get("bytes"):
            fail(f"{name}: {os.path.getsize(spath)} bytes, manifest says {side.get('bytes')}")
        elif ctx["xxh3_128"] and ctx["xxh3_128"](spath) != side.get("xxh3"):
            fail(f"{name}: xxh3 differs from the manifest")
    xxh = path + ".xxh"
    if os.path.isfile(xxh) and ctx["xxh3_64"]:
        check_block_sums(path, xxh, rel, ctx, fail)
    return path


def check_block_sums(path, xxh, rel, ctx, fail):
    with open(xxh, encoding="ascii", errors="replace") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines or lines[0] != "xxh3-64 4096":
        fail(f"{rel}.xxh: first line {lines[0] if lines else ''!r}, want 'xxh3-64 4096'")
        return
    with open(path, "rb") as f:
        data = f.read()
    blocks = (len(data) + 4095) // 4096
    if len(lines) - 1 != blocks:
        fail(f"{rel}.xxh: {len(lines) - 1} block sums, the shard has {blocks} 4 KiB blocks")
    bad = 0
    for i, line in enumerate(lines[1:blocks + 1]):
        want = f"{ctx['xxh3_64'](data[i * 4096:(i + 1) * 4096]):016x}"
        if line != want:
            if bad < 3:
                fail(f"{rel}.xxh: block {i} sum {line!r}, the shard's is {want}")
            bad += 1
    if bad > 3:
        fail(f"{rel}.xxh: {bad} block sums wrong in all")


def count(ctx, sink, label):
    classes = ctx["classes"]
    name = classes[label] if isinstance(label, int) and 0 <= label < len(classes) else None
    if name is not None:
        per = ctx["counts"].setdefault(sink, {})
        per[name] = per.get(name, 0) + 1


def check_plan(rel, got, ctx, fail, what="labels"):
    """Compare a shard's per-record values with plan.tsv's rows for it, in order."""
    plan = ctx["plan"]
    if plan is None:
        return
    rows = plan.get(rel)
    if rows is None:
        fail(f"{rel}: no rows for this shard in plan.tsv")
        return
    idx = {"labels": "label", "paths": "path", "keys": "key"}[what]
    want = [r[idx] for r in rows]
    if len(want) != len(got):
        fail(f"{rel}: {len(got)} records, plan.tsv plans {len(want)}")
        return
    for i, (g, w) in enumerate(zip(got, want)):
        if g != w:
            fail(f"{rel}: record {i} {what[:-1]} {g!r}, plan.tsv says {w!r}")
            return


# ---------------------------------------------------------------------------------------
# tar
# ---------------------------------------------------------------------------------------

def parse_dali_idx(path, rel, fail):
    """-> (declared count, [[(ext, offset, size, name), ...] per line]) or None."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        fail(f"{rel}: cannot read DALI index: {e}")
        return None
    if not text.endswith("\n"):
        fail(f"{rel}: does not end in a newline")
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    if not lines:
        fail(f"{rel}: empty DALI index")
        return None
    head = lines[0].split(" ")
    if len(head) != 2 or head[0] != "v1.2" or not CLS_RE.fullmatch(head[1]):
        fail(f"{rel}: first line {lines[0]!r}, want 'v1.2 <num_samples>'")
        return None
    entries = []
    for n, line in enumerate(lines[1:], start=2):
        tokens = line.split(" ")
        if "" in tokens or len(tokens) % 4 or not tokens:
            fail(f"{rel}:{n}: {line[:80]!r} is not '<ext> <offset> <size> <member>' groups "
                 "separated by single spaces")
            entries.append([])
            continue
        sample = []
        for i in range(0, len(tokens), 4):
            ext, off, size, name = tokens[i:i + 4]
            if not CLS_RE.fullmatch(off) or not CLS_RE.fullmatch(size):
                fail(f"{rel}:{n}: offset/size {off!r} {size!r} are not decimal")
                continue
            sample.append((ext, int(off), int(size), name))
        entries.append(sample)
    return int(head[1]), entries


def check_tar_shard(outdir, shard, path, ctx, fail):
    rel = shard["path"]
    sink = shard.get("sink")
    conf = ctx["config"].get(sink, {})
    fields = [f for f in re.split(r"[,\s]+", conf.get("fields", "cls,json")) if f]
    for f in fields:
        if f not in TAR_FIELDS:
            fail(f"manifest: sink {sink!r} has unknown field {f!r}")
    fmt = encode_format(ctx["config"], sink)
    image_ext = ENCODE_EXT.get(fmt) if fmt else None
    crop = crop_size(ctx["config"], sink)

    m = TAR_NAME_RE.fullmatch(os.path.basename(rel))
    if not m:
        fail(f"{rel}: tar shard not named PREFIX-NNNNNN.tar")
    elif conf.get("prefix") and m.group(1) != conf["prefix"]:
        fail(f"{rel}: prefix {m.group(1)!r}, sink {sink!r} says {conf['prefix']!r}")

    try:
        tf = tarfile.open(path, "r:")
        members = tf.getmembers()
    except tarfile.TarError as e:
        fail(f"{rel}: Python tarfile cannot read it: {e}")
        return 0
    with tf:
        for mem in members:
            if not mem.isreg():
                fail(f"{rel}: {mem.name}: not a regular file")
            if mem.offset_data - mem.offset != 512 or mem.pax_headers:
                fail(f"{rel}: {mem.name}: extension headers before the member")
        samples, problems = group_samples([mem.name for mem in members])
        for p in problems:
            fail(f"{rel}: {p}")
        by_name = {mem.name: mem for mem in members}
        want = shard.get("records")
        if want != len(samples):
            fail(f"{rel}: {len(samples)} samples, manifest says {want!r}")

        data = {}
        for mem in members:
            if mem.isreg():
                data[mem.name] = tf.extractfile(mem).read()

        # DALI index
        idx_rel = rel[:-len(".tar")] + ".idx"
        idx_path = os.path.join(outdir, idx_rel)
        if not parse_bool(conf.get("index"), True):
            if os.path.exists(idx_path):
                fail(f"{idx_rel}: written although sink {sink!r} has index = false")
        elif not os.path.isfile(idx_path):
            fail(f"{idx_rel}: DALI index missing")
        else:
            parsed = parse_dali_idx(idx_path, idx_rel, fail)
            if parsed:
                check_dali_idx(path, idx_rel, parsed, samples, by_name, data, want, fail)

        labels, sources = [], []
        for key, exts in samples:
            order = list(exts)  # dicts keep the members' order
            where = f"{rel}: sample {key!r}"
            if order != sorted(order):
                fail(f"{where}: members in order {order}, want sorted by extension")
            images = [e for e in exts if e in IMAGE_EXTS]
            others = sorted(e for e in exts if e not in IMAGE_EXTS)
            if len(images) != 1:
                fail(f"{where}: {len(images)} image members ({images}), want one")
            elif image_ext and images[0] != image_ext:
                fail(f"{where}: image member .{images[0]}, encode format {fmt!r} wants "
                     f".{image_ext}")
            if others != sorted(fields):
                fail(f"{where}: members {others} beside the image, sink fields say "
                     f"{sorted(fields)}")
            label, source = check_tar_sample(where, key, exts, images, data, crop, ctx, fail)
            labels.append(label)
            sources.append(source)
            count(ctx, sink, label)
        check_plan(rel, [str(x) if x is not None else None for x in labels], ctx, fail)
        check_plan(rel, [key for key, _ in samples], ctx, fail, "keys")
        if "json" in fields:
            check_plan(rel, sources, ctx, fail, "paths")
        ctx["wids"].setdefault(sink, []).append((rel, len(samples)))
    return len(samples)


def check_dali_idx(path, idx_rel, parsed, samples, by_name, data, want, fail):
    declared, lines = parsed
    if declared != len(lines):
        fail(f"{idx_rel}: header says {declared} samples, {len(lines)} lines follow")
    if declared != want:
        fail(f"{idx_rel}: header says {declared} samples, manifest says {want!r}")
    if declared == 0:
        fail(f"{idx_rel}: DALI wants num_samples > 0")
    if len(lines) != len(samples):
        fail(f"{idx_rel}: {len(lines)} lines, the tar holds {len(samples)} samples")
    indexed = {}
    with open(path, "rb") as f:
        for n, (line, sample) in enumerate(zip(lines, samples), start=2):
            key, exts = sample
            names = [e[3] for e in line]
            if sorted(names) != sorted(exts.values()):
                fail(f"{idx_rel}:{n}: lists {names}, sample {key!r} has "
                     f"{sorted(exts.values())}")
            for ext, off, size, name in line:
                where = f"{idx_rel}:{n}: {name}"
                if name in indexed:
                    fail(f"{where}: indexed twice")
                indexed[name] = off
                if "." not in name or name.split("/")[-1].split(".", 1)[1] != ext:
                    fail(f"{where}: ext {ext!r} does not match the member name")
                if off % 512:
                    fail(f"{where}: offset {off} is not a multiple of 512")
                mem = by_name.get(name)
                if mem is None:
                    fail(f"{where}: no such member in the tar")
                    continue
                if off != mem.offset_data:
                    fail(f"{where}: offset {off}, the member's data starts at "
                         f"{mem.offset_data}")
                if size != mem.size:
                    fail(f"{where}: size {size}, the member holds {mem.size} bytes")
                f.seek(off)
                if f.read(size) != data.get(name):
                    fail(f"{where}: bytes at {off}+{size} differ from what tarfile "
                         "extracts")
    missing = set(by_name) - set(indexed)
    for name in sorted(missing)[:5]:
        fail(f"{idx_rel}: member {name!r} is not in the index")


def check_tar_sample(where, key, exts, images, data, crop, ctx, fail):
    """Checks a sample's members against each other; returns (label, .json source)."""
    classes = ctx["classes"]
    label = meta = None
    if "cls" in exts:
        text = data.get(exts["cls"], b"").decode("ascii", "replace")
        if CLS_RE.fullmatch(text):
            label = int(text)
        else:
            fail(f"{where}: .cls is {text[:20]!r}, want ASCII decimal with no newline")
    if "json" in exts:
        try:
            meta = json.loads(data.get(exts["json"], b"").decode("utf-8"))
            if not isinstance(meta, dict):
                raise ValueError("not an object")
        except (UnicodeDecodeError, ValueError) as e:
            fail(f"{where}: .json is not a UTF-8 JSON object: {e}")
            meta = None
    if meta is not None:
        for name, kind in (("key", str), ("source", str), ("format", str), ("width", int),
                           ("height", int), ("label", int), ("class", str), ("copy", int)):
            v = meta.get(name)
            if not isinstance(v, kind) or isinstance(v, bool):
                fail(f"{where}: .json {name!r} is {v!r}, want {kind.__name__}")
                meta[name] = None
        if meta["key"] is not None and meta["key"] != key:
            fail(f"{where}: .json key {meta['key']!r} is not the member key")
        if meta["label"] is not None:
            if label is not None and label != meta["label"]:
                fail(f"{where}: .cls says {label}, .json label says {meta['label']}")
            label = meta["label"] if label is None else label
        if meta["class"] is not None and label is not None and 0 <= label < len(classes) \
                and classes[label] != meta["class"]:
            fail(f"{where}: .json class {meta['class']!r}, manifest class {label} is "
                 f"{classes[label]!r}")
        if meta["source"] is not None:
            check_source_path(where, meta["source"], meta["class"], ctx, fail)
    if "txt" in exts:
        try:
            text = data.get(exts["txt"], b"").decode("utf-8")
        except UnicodeDecodeError:
            fail(f"{where}: .txt is not UTF-8")
            text = None
        if text is not None:
            if text.endswith("\n"):
                fail(f"{where}: .txt ends in a newline")
            if label is not None and 0 <= label < len(classes):
                if text != classes[label]:
                    fail(f"{where}: .txt {text!r}, class {label} is {classes[label]!r}")
            elif text in classes:
                label = classes.index(text)
            else:
                fail(f"{where}: .txt {text!r} is not a manifest class")
    if label is not None and not 0 <= label < len(classes):
        fail(f"{where}: label {label} outside the manifest's {len(classes)} classes")
        label = None
    if len(images) == 1:
        ext = images[0]
        fmt = {"jpg": "jpeg", "png": "png", "raw": "raw"}[ext]
        w, h = crop if crop else (None, None)
        size = decode_image(data.get(exts[ext], b""), fmt, w, h, f"{where}: .{ext}", fail)
        if size and crop and size != crop:
            fail(f"{where}: .{ext} is {size[0]}x{size[1]}, want crop size "
                 f"{crop[0]}x{crop[1]}")
    return label, meta["source"] if meta is not None else None


def check_wids(outdir, manifest, ctx, fail):
    """One PREFIX.wids.json per tar sink."""
    listed = manifest.get("indexes")
    if listed is not None and not isinstance(listed, list):
        fail(f"manifest: 'indexes' is {listed!r}, want a list")
        listed = []
    seen = set()
    for sink, shards in sorted(ctx["wids"].items()):
        m = TAR_NAME_RE.fullmatch(os.path.basename(shards[0][0]))
        if not m:
            continue
        prefix = m.group(1)
        folder = os.path.dirname(shards[0][0])
        rel = os.path.join(folder, prefix + ".wids.json") if folder else prefix + ".wids.json"
        seen.add(rel)
        if listed is not None and rel not in listed:
            fail(f"manifest: 'indexes' does not list {rel}")
        try:
            with open(os.path.join(outdir, rel), encoding="utf-8") as f:
                wids = json.load(f)
        except OSError as e:
            fail(f"{rel}: cannot read the wids index: {e.strerror}")
            continue
        except ValueError as e:
            fail(f"{rel}: not valid JSON: {e}")
            continue
        if not isinstance(wids, dict):
            fail(f"{rel}: not a JSON object")
            continue
        if wids.get("__kind__") != "wids-shard-index-v1":
            fail(f"{rel}: __kind__ {wids.get('__kind__')!r}, want 'wids-shard-index-v1'")
        if wids.get("wids_version") != 1:
            fail(f"{rel}: wids_version {wids.get('wids_version')!r}, want 1")
        if wids.get("name") != prefix:
            fail(f"{rel}: name {wids.get('name')!r}, want {prefix!r}")
        shardlist = wids.get("shardlist")
        if not isinstance(shardlist, list) or not all(isinstance(s, dict) for s in shardlist):
            fail(f"{rel}: shardlist is not a list of objects")
            continue
        urls = [s.get("url") for s in shardlist]
        if not all(isinstance(u, str) for u in urls):
            fail(f"{rel}: urls {urls} are not all strings")
            continue
        if urls != sorted(urls):
            fail(f"{rel}: shardlist is not sorted by url")
        want = {os.path.relpath(p, folder or "."): n for p, n in shards}
        if sorted(urls) != sorted(want):
            fail(f"{rel}: urls {sorted(urls)}, sink {sink!r} wrote {sorted(want)}")
        for s in shardlist:
            url = s["url"]
            if url not in want:
                continue
            if s.get("nsamples") != want[url]:
                fail(f"{rel}: {url} nsamples {s.get('nsamples')!r}, the shard holds "
                     f"{want[url]}")
            actual = os.path.getsize(os.path.join(outdir, folder, url))
            if s.get("filesize") != actual:
                fail(f"{rel}: {url} filesize {s.get('filesize')!r}, the file has {actual} "
                     "bytes")
    for rel in (listed or []):
        if rel not in seen:
            if not os.path.isfile(os.path.join(outdir, rel)):
                fail(f"manifest: index {rel!r} is missing")


# ---------------------------------------------------------------------------------------
# npy
# ---------------------------------------------------------------------------------------

def parse_npy_header(head):
    """Raw header bytes -> dict with descr, fortran_order, shape, data_offset, version."""
    if head[:6] != b"\x93NUMPY":
        raise ValueError(f"magic {head[:6]!r}, want b'\\x93NUMPY'")
    if len(head) < 10:
        raise ValueError("truncated header")
    major, minor = head[6], head[7]
    if (major, minor) != (1, 0):
        raise ValueError(f"format version {major}.{minor}, want 1.0")
    hlen = struct.unpack_from("<H", head, 8)[0]
    start = 10 + hlen
    if len(head) < start:
        raise ValueError(f"header of {hlen} bytes runs past the file")
    text = head[10:start]
    if not text.endswith(b"\n"):
        raise ValueError("header does not end in '\\n'")
    try:
        d = ast.literal_eval(text.decode("latin-1").rstrip("\n").rstrip(" "))
    except (ValueError, SyntaxError) as e:
        raise ValueError(f"header dict does not parse: {e}") from None
    if not isinstance(d, dict) or set(d) != {"descr", "fortran_order", "shape"}:
        raise ValueError(f"header {d!r} is not a dict of descr, fortran_order, shape")
    if text.rstrip(b"\n").rstrip(b" ").count(b"\n"):
        raise ValueError("header has a newline before its end")
    d["data_offset"] = start
    d["version"] = (major, minor)
    return d


def read_npy(path, rel, fail):
    """Parses the header and maps the file; returns (header, array) or (None, None)."""
    try:
        with open(path, "rb") as f:
            head = f.read(65536 + 10)
        hdr = parse_npy_header(head)
    except (OSError, ValueError) as e:
        fail(f"{rel}: {e}")
        return None, None
    if hdr["data_offset"] % 64:
        fail(f"{rel}: data starts at byte {hdr['data_offset']}, not a multiple of 64")
    if hdr["fortran_order"] is not False:
        fail(f"{rel}: fortran_order is {hdr['fortran_order']!r}, want False")
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except Exception as e:
        fail(f"{rel}: numpy.load(mmap_mode='r') fails: {type(e).__name__}: {e}")
        return hdr, None
    if not isinstance(arr, np.memmap):
        fail(f"{rel}: numpy.load did not memory-map it")
    elif arr.offset != hdr["data_offset"]:
        fail(f"{rel}: numpy maps data at {arr.offset}, header ends at {hdr['data_offset']}")
    if tuple(arr.shape) != tuple(hdr["shape"]):
        fail(f"{rel}: numpy sees shape {arr.shape}, header says {hdr['shape']}")
    want_size = hdr["data_offset"] + arr.nbytes
    size = os.path.getsize(path)
    if size != want_size:
        fail(f"{rel}: {size} bytes, header + data make {want_size}")
    return hdr, arr


def check_npy_shard(outdir, shard, path, ctx, fail):
    rel = shard["path"]
    sink = shard.get("sink")
    want = shard.get("records")
    if not NPY_NAME_RE.fullmatch(os.path.basename(rel)):
        fail(f"{rel}: npy shard not named PREFIX-NNNNNN.images.npy")
        return 0
    labels_rel = rel[:-len(".images.npy")] + ".labels.npy"
    labels_path = os.path.join(outdir, labels_rel)
    if not os.path.isfile(labels_path):
        fail(f"{labels_rel}: labels file missing")
        return 0
    crop = crop_size(ctx["config"], sink)

    ihdr, images = read_npy(path, rel, fail)
    lhdr, labels = read_npy(labels_path, labels_rel, fail)
    if ihdr is None or lhdr is None:
        return 0
    if ihdr["descr"] != "|u1":
        fail(f"{rel}: descr {ihdr['descr']!r}, want '|u1'")
    if lhdr["descr"] != "<i8":
        fail(f"{labels_rel}: descr {lhdr['descr']!r}, want '<i8'")
    shape = tuple(ihdr["shape"])
    if len(shape) != 4 or shape[3] != 3:
        fail(f"{rel}: shape {shape}, want (N, H, W, 3)")
        n = shape[0] if shape else None
    else:
        n, h, w = shape[0], shape[1], shape[2]
        if crop and (w, h) != crop:
            fail(f"{rel}: images are {w}x{h}, crop size is {crop[0]}x{crop[1]}")
        prev = ctx["npy_hw"].setdefault(sink, (h, w))
        if prev != (h, w):
            fail(f"{rel}: images are {w}x{h}, earlier shards of {sink!r} are "
                 f"{prev[1]}x{prev[0]}")
    if n != want:
        fail(f"{rel}: {n} images, manifest says {want!r}")
    if tuple(lhdr["shape"]) != (want,):
        fail(f"{labels_rel}: shape {tuple(lhdr['shape'])}, want ({want},)")
    if images is not None and images.dtype != np.uint8:
        fail(f"{rel}: numpy dtype {images.dtype}, want uint8")
    if labels is None or labels.dtype != np.dtype("<i8") or labels.ndim != 1:
        return n or 0
    values = [int(x) for x in labels]
    classes = ctx["classes"]
    bad = [x for x in values if not 0 <= x < len(classes)]
    if bad:
        fail(f"{labels_rel}: labels {sorted(set(bad))[:5]} outside the manifest's "
             f"{len(classes)} classes")
    for x in values:
        count(ctx, sink, x)
    check_plan(rel, [str(x) for x in values], ctx, fail)
    if images is not None and images.ndim == 4 and len(images):
        # A record never written stays all zero; a real image almost never is.
        flat = images.reshape(len(images), -1)
        empty = [i for i in range(len(images)) if not flat[i].any()]
        if empty:
            fail(f"{rel}: images {empty[:5]} are all zero (records not written?)")
    return n or 0


# ---------------------------------------------------------------------------------------
# TFRecord
# ---------------------------------------------------------------------------------------

def walk_tfrecord(data):
    """-> ([(offset, size, payload)], [problems]); stops at the first framing error."""
    records, problems, pos = [], [], 0
    while pos < len(data):
        if pos + 12 > len(data):
            problems.append(f"offset {pos}: {len(data) - pos} trailing bytes, too few for a "
                            "record header")
            break
        length_bytes = data[pos:pos + 8]
        length = struct.unpack("<Q", length_bytes)[0]
        crc = struct.unpack_from("<I", data, pos + 8)[0]
        if crc != masked_crc32c(length_bytes):
            problems.append(f"offset {pos}: length CRC {crc:#010x}, want "
                            f"{masked_crc32c(length_bytes):#010x}")
            break
        end = pos + 12 + length + 4
        if end > len(data):
            problems.append(f"offset {pos}: record of {length} bytes runs past the end")
            break
        payload = data[pos + 12:pos + 12 + length]
        crc = struct.unpack_from("<I", data, pos + 12 + length)[0]
        if crc != masked_crc32c(payload):
            problems.append(f"offset {pos}: data CRC {crc:#010x}, want "
                            f"{masked_crc32c(payload):#010x}")
        records.append((pos, end - pos, payload))
        pos = end
    return records, problems


TF_REQUIRED = {
    "image/encoded": "bytes", "image/format": "bytes", "image/height": "int64",
    "image/width": "int64", "image/channels": "int64", "image/class/label": "int64",
    "image/class/text": "bytes", "image/filename": "bytes",
}


def check_tfrecord_shard(outdir, shard, path, ctx, fail):
    rel = shard["path"]
    sink = shard.get("sink")
    conf = ctx["config"].get(sink, {})
    want = shard.get("records")
    try:
        offset = int(conf.get("label_offset", "0"))
    except ValueError:
        fail(f"manifest: sink {sink!r} label_offset {conf.get('label_offset')!r}")
        offset = 0
    crop = crop_size(ctx["config"], sink)
    fmt = encode_format(ctx["config"], sink)

    m = TFRECORD_NAME_RE.fullmatch(os.path.basename(rel))
    if not m:
        fail(f"{rel}: TFRecord shard not named PREFIX-SSSSS-of-TTTTT")
    else:
        if conf.get("prefix") and m.group(1) != conf["prefix"]:
            fail(f"{rel}: prefix {m.group(1)!r}, sink {sink!r} says {conf['prefix']!r}")
        ctx["tf_names"].setdefault(sink, []).append((rel, int(m.group(2)), int(m.group(3))))

    with open(path, "rb") as f:
        data = f.read()
    records, problems = walk_tfrecord(data)
    for p in problems:
        fail(f"{rel}: {p}")
    if len(records) != want:
        fail(f"{rel}: {len(records)} records, manifest says {want!r}")

    idx_rel = rel + ".idx"
    try:
        with open(os.path.join(outdir, idx_rel), encoding="ascii") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        fail(f"{idx_rel}: cannot read the DALI index: {e}")
    else:
        if text and not text.endswith("\n"):
            fail(f"{idx_rel}: does not end in a newline")
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        got = []
        for n, line in enumerate(lines, start=1):
            parts = line.split(" ")
            if len(parts) != 2 or not all(CLS_RE.fullmatch(p) for p in parts):
                fail(f"{idx_rel}:{n}: {line[:60]!r} is not '<offset> <size>'")
                got.append(None)
            else:
                got.append((int(parts[0]), int(parts[1])))
        walked = [(o, s) for o, s, _ in records]
        if len(got) != len(walked):
            fail(f"{idx_rel}: {len(got)} lines, the shard holds {len(walked)} records")
        for n, (g, w) in enumerate(zip(got, walked), start=1):
            if g is not None and g != w:
                fail(f"{idx_rel}:{n}: says offset {g[0]} size {g[1]}, the record is at "
                     f"{w[0]} size {w[1]}")
                break

    classes = ctx["classes"]
    labels, paths, keys = [], [], []
    for i, (off, _, payload) in enumerate(records):
        where = f"{rel}: record {i} (offset {off})"
        try:
            feats, notes = parse_example(payload)
        except ProtoError as e:
            fail(f"{where}: not a tf.train.Example: {e}")
            labels.append(None)
            continue
        for note in notes:
            fail(f"{where}: {note}")
        ok = True
        for key, kind in TF_REQUIRED.items():
            if key not in feats:
                fail(f"{where}: feature {key!r} missing")
                ok = False
            elif feats[key][0] != kind or len(feats[key][1]) != 1:
                fail(f"{where}: feature {key!r} is {feats[key][0]} x{len(feats[key][1])}, "
                     f"want one {kind}")
                ok = False
        if not ok:
            labels.append(None)
            continue
        v = {k: feats[k][1][0] for k in TF_REQUIRED}
        width, height, channels = v["image/width"], v["image/height"], v["image/channels"]
        try:
            image_format = v["image/format"].decode("ascii")
        except UnicodeDecodeError:
            image_format = repr(v["image/format"])
        if image_format not in ("jpeg", "png", "raw"):
            fail(f"{where}: image/format {image_format!r}, want jpeg, png or raw")
        elif fmt and image_format != fmt:
            fail(f"{where}: image/format {image_format!r}, encode format is {fmt!r}")
        if channels != 3:
            fail(f"{where}: image/channels {channels}, want 3")
        if crop and (width, height) != crop:
            fail(f"{where}: image/width x height {width}x{height}, crop size "
                 f"{crop[0]}x{crop[1]}")
        size = decode_image(v["image/encoded"], image_format, width, height,
                            f"{where}: image/encoded", fail)
        if size and size != (width, height):
            fail(f"{where}: image decodes to {size[0]}x{size[1]}, features say "
                 f"{width}x{height}")
        label = v["image/class/label"] - offset
        try:
            text = v["image/class/text"].decode("utf-8")
        except UnicodeDecodeError:
            text = None
            fail(f"{where}: image/class/text is not UTF-8")
        if not 0 <= label < len(classes):
            fail(f"{where}: image/class/label {v['image/class/label']} - label_offset "
                 f"{offset} = {label}, outside the manifest's {len(classes)} classes")
            label = None
        elif text is not None and text != classes[label]:
            fail(f"{where}: image/class/text {text!r}, class {label} is {classes[label]!r}")
        try:
            filename = v["image/filename"].decode("utf-8")
        except UnicodeDecodeError:
            fail(f"{where}: image/filename is not UTF-8")
            filename = None
        if filename is not None:
            check_source_path(where, filename, classes[label] if label is not None else None,
                              ctx, fail)
        if "image/key" in feats:
            kind, vals = feats["image/key"]
            keys.append(vals[0].decode("utf-8", "replace") if kind == "bytes" and len(vals) == 1
                        else None)
        labels.append(label)
        paths.append(filename)
        count(ctx, sink, label)
    check_plan(rel, [str(x) if x is not None else None for x in labels], ctx, fail)
    if all(p is not None for p in paths) and len(paths) == len(records):
        check_plan(rel, paths, ctx, fail, "paths")
    if keys and len(keys) == len(records):
        check_plan(rel, keys, ctx, fail, "keys")
    return len(records)


def check_tfrecord_names(ctx, fail):
    for sink, names in ctx["tf_names"].items():
        totals = {t for _, _, t in names}
        if len(totals) != 1:
            fail(f"sink {sink!r}: TFRecord shards disagree on the total: {sorted(totals)}")
            continue
        total = totals.pop()
        indexes = sorted(i for _, i, _ in names)
        if indexes != list(range(total)):
            fail(f"sink {sink!r}: TFRecord shard indexes {indexes}, want 0..{total - 1}")


# ---------------------------------------------------------------------------------------

def load_manifest(outdir):
    path = os.path.join(outdir, "manifest.json")
    try:
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
    except OSError as e:
        die(f"cannot read {path}: {e.strerror}")
    except ValueError as e:
        die(f"{path} is not valid JSON: {e}")
    if not isinstance(manifest, dict):
        die(f"{path}: not a JSON object")
    shape = {"config": dict, "classes": list, "records": int, "counts_out": dict,
             "shards": list, "skipped": list}
    for name, kind in shape.items():
        if not isinstance(manifest.get(name), kind):
            die(f"{path}: {name!r} missing or not a JSON {kind.__name__}")
    return manifest


def load_plan(outdir, skipped, substituted=()):
    """plan.tsv -> {shard path: [row dict, ...]} in plan order, or None if absent.

    Records skipped at build time (manifest 'skipped', phase 'build') were planned but
    not written: their rows are left out (the written records keep their plan keys).
    """
    dropped = {(s.get("source"), s.get("path")) for s in skipped
               if isinstance(s, dict) and s.get("phase") == "build"}
    # ... unless the build wrote a stand-in of the same class (manifest 'substituted'):
    # then the row stays, with the stand-in's path.
    stand_in = {(x.get("sink"), x.get("path"), str(x.get("copy"))): x.get("by")
                for x in substituted}
    path = os.path.join(outdir, "plan.tsv")
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
    except OSError:
        return None
    head = lines[0].split("\t")
    need = ("sink", "shard", "key", "path", "label")
    if not all(n in head for n in need):
        die(f"{path}: header {head} lacks one of {need}")
    plan = {}
    for line in lines[1:]:
        if not line:
            continue
        row = dict(zip(head, line.split("\t")))
        by = stand_in.get((row.get("sink"), row["path"], row.get("copy")))
        if by is not None:
            row["path"] = by
        elif (row.get("source"), row["path"]) in dropped:
            continue
        plan.setdefault(row["shard"], []).append(row)
    return plan


CHECKS = {"tar": check_tar_shard, "npy": check_npy_shard, "tfrecord": check_tfrecord_shard}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir", nargs="?", help="a shardpack output folder (holds manifest.json)")
    ap.add_argument("--self-test", action="store_true",
                    help="check the CRC-32C and protobuf code here, then exit")
    args = ap.parse_args()
    if args.self_test:
        return self_test()
    if not args.outdir:
        ap.error("OUTDIR is required (or --self-test)")

    manifest = load_manifest(args.outdir)
    fail = Failures()
    xxh3_128, xxh3_64 = load_xxhash()
    if xxh3_128 is None:
        print(f"{PROG}: note: libxxhash not found; xxh3 and block sums not verified",
              file=sys.stderr)
    ctx = {
        "config": manifest["config"],
        "classes": manifest["classes"],
        "skipped_paths": {s.get("path") for s in manifest["skipped"] if isinstance(s, dict)},
        "xxh3_128": xxh3_128, "xxh3_64": xxh3_64,
        "plan": load_plan(args.outdir, manifest["skipped"], manifest.get("substituted", [])),
        "counts": {},      # sink -> class -> records
        "wids": {},        # tar sink -> [(shard path, samples)]
        "tf_names": {},    # tfrecord sink -> [(path, index, total)]
        "npy_hw": {},      # npy sink -> (H, W)
    }
    if ctx["plan"] is None:
        print(f"{PROG}: note: no plan.tsv; record order not checked", file=sys.stderr)

    total, by_type, sinks = 0, {}, set()
    for shard in manifest["shards"]:
        if not isinstance(shard, dict):
            fail(f"manifest: shard entry {shard!r} is not an object")
            continue
        kind = sink_type(manifest, shard)
        sink = shard.get("sink")
        sinks.add(sink)
        if sink not in manifest["config"]:
            fail(f"manifest: shard {shard.get('path')!r} names sink {sink!r}, not in config")
        elif manifest["config"][sink].get("type") not in (None, kind):
            fail(f"manifest: shard {shard.get('path')!r} has type {kind!r}, sink {sink!r} "
                 f"is {manifest['config'][sink].get('type')!r}")
        if kind not in CHECKS:
            fail(f"{shard.get('path')}: unknown shard type {kind!r}")
            continue
        path = check_common(args.outdir, shard, ctx, fail)
        if path is None:
            continue
        by_type[kind] = by_type.get(kind, 0) + 1
        total += CHECKS[kind](args.outdir, shard, path, ctx, fail)

    check_wids(args.outdir, manifest, ctx, fail)
    check_tfrecord_names(ctx, fail)

    listed = sum(s.get("records", 0) for s in manifest["shards"]
                 if isinstance(s, dict) and isinstance(s.get("records"), int))
    if listed != manifest["records"]:
        fail(f"manifest: shard records add up to {listed}, 'records' says {manifest['records']}")
    if total != manifest["records"]:
        fail(f"{total} records in the shards, manifest 'records' says {manifest['records']}")

    counts_out = manifest["counts_out"]
    # counts_out counts records written by every sink (so do 'records' and the shards).
    got = {}
    for per in ctx["counts"].values():
        for cls, n in per.items():
            got[cls] = got.get(cls, 0) + n
    for cls in sorted(set(counts_out) | set(got)):
        want, have = counts_out.get(cls, 0), got.get(cls, 0)
        if want != have:
            fail(f"class {cls!r}: {have} records in the shards, counts_out says {want!r}")
    if len(sinks) > 1 and ctx["plan"] is not None:
        classes = ctx["classes"]
        for sink in sorted(s for s in sinks if s is not None):
            want = {}
            for rows in ctx["plan"].values():
                for r in rows:
                    if r["sink"] == sink and r["label"].isdigit() and \
                            int(r["label"]) < len(classes):
                        c = classes[int(r["label"])]
                        want[c] = want.get(c, 0) + 1
            got = ctx["counts"].get(sink, {})
            if got != want:
                fail(f"sink {sink!r}: per-class counts {got}, plan.tsv plans {want}")

    summary = ", ".join(f"{kind} {n}" for kind, n in sorted(by_type.items()))
    if fail.messages:
        fail.report()
        print(f"{PROG}: {len(fail.messages)} problems in {args.outdir}", file=sys.stderr)
        return 1
    print(f"{PROG}: {total} records in {len(manifest['shards'])} shards ({summary}) OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
