#!/usr/bin/python3
"""Check shardpack's WebDataset tar output the way its readers will see it.

    /usr/bin/python3 tests/compat/check_shards.py OUTDIR [--expect-example-skips]

Reads OUTDIR/manifest.json and every shard it lists, using only Python's tarfile and
Pillow (independent of shardpack's own code), and checks that:

* each shard's size and xxh3 (XXH3-128, via the system libxxhash when present) match the
  manifest, and the tar is plain USTAR: one 512-byte header per member (no PAX or GNU
  long-name extension headers), ending in two zero blocks;
* every member is a regular file, mode 0444, uid = gid = 0, with one fixed mtime shared by
  all members of all shards (reproducible shards);
* members group into WebDataset samples (see group_samples), each with exactly .cls, .jpg
  and .json; keys are unique across shards; per-shard and total sample counts match the
  manifest;
* the .jpg decodes with Pillow to the configured crop size (the width/height of the config
  section of type "crop" upstream of the shard's sink; skipped when there is none);
* .cls, the .json label/class/source and the manifest's class list agree, and per-class
  counts equal counts_out;
* in sinks with layout = stratified, every shard holds the same number of records (+-1)
  and floor or ceil of each class's share; keys are unique within a sink;
* records written in place of a bad sample name it in their .json and match the
  manifest's 'substituted' list, with a stand-in of the same class;
* with --expect-example-skips (the bundled examples/data), the manifest's skipped list
  names stars/star_broken.jpg and squares/notes.txt.

Exit status: 0 when everything holds, 1 with one line per problem otherwise, 2 when the
output cannot be read at all (usage, missing or malformed manifest).
"""

import argparse
import io
import json
import os
import re
import sys
import tarfile

from PIL import Image

from wds_rules import group_samples, load_xxhash

SAMPLE_EXTS = {"cls", "jpg", "json"}
MEMBER_MODE = 0o444
CLS_RE = re.compile(r"0|[1-9][0-9]*")  # ASCII decimal, no sign, padding or newline
XXH3_RE = re.compile(r"[0-9a-f]{32}")
MAX_REPORTED = 50  # a systematic bug repeats on every record; the first few say enough


class Failures:
    """Collects problems so that one run reports all of them, not just the first."""

    def __init__(self):
        self.messages = []

    def __call__(self, message):
        self.messages.append(message)

    def report(self):
        for message in self.messages[:MAX_REPORTED]:
            print(f"check_shards: FAIL: {message}", file=sys.stderr)
        if len(self.messages) > MAX_REPORTED:
            print(f"check_shards: ... and {len(self.messages) - MAX_REPORTED} more",
                  file=sys.stderr)


def die(message):
    print(f"check_shards: {message}", file=sys.stderr)
    sys.exit(2)


def section_inputs(config, names, name):
    """Upstream section names of `name`: its `input`, else the previous section."""
    value = config[name].get("input")
    if value:
        return [s for s in re.split(r"[,\s]+", value) if s]
    i = names.index(name)
    return [names[i - 1]] if i > 0 else []


def crop_size(config, sink):
    """(width, height) that the pixel chain ending at `sink` crops to, or None.

    Walks up from the sink through `input` links (defaulting to the previous section, as
    the config does); on every path the crop nearest the sink wins.  If the sink is not in
    the config, every crop section counts.  Several different sizes make the check
    ambiguous: that also returns None, with a note.
    """
    stages = [n for n, v in config.items() if n != "run" and isinstance(v, dict)]

    def is_crop(n):
        return config[n].get("type", n) == "crop"

    found, todo, seen = set(), ([sink] if sink in stages else [n for n in stages if is_crop(n)]), set()
    while todo:
        n = todo.pop()
        if n in seen or n not in config:
            continue
        seen.add(n)
        if is_crop(n):
            opts = config[n]
            try:
                w = int(opts.get("width", opts.get("size")))
                h = int(opts.get("height", opts.get("size")))
            except (TypeError, ValueError):
                die(f"manifest: crop section [{n}] has no integer width/height: {opts}")
            found.add((w, h))
            continue
        todo.extend(section_inputs(config, stages, n))
    if len(found) > 1:
        print(f"check_shards: note: sink {sink!r} has several crop sizes {sorted(found)}; "
              "not checking image size", file=sys.stderr)
        return None
    return found.pop() if found else None


def check_raw_layout(path, rel, members, fail):
    """Plain USTAR, one header block per member, two zero blocks at the end."""
    with open(path, "rb") as f:
        for m in members:
            if m.offset_data - m.offset != 512:
                fail(f"{rel}: {m.name}: extension headers before the member "
                     f"({m.offset_data - m.offset} header bytes; PAX/GNU long names break DALI)")
            f.seek(m.offset)
            header = f.read(512)
            if header[257:265] != b"ustar\x0000":
                fail(f"{rel}: {m.name}: header magic {header[257:265]!r}, want POSIX "
                     "ustar (b'ustar\\x0000')")
        end = 0
        if members:
            last = members[-1]
            end = last.offset_data + (last.size + 511) // 512 * 512
        f.seek(end)
        trailer = f.read(1024)
        if len(trailer) != 1024 or trailer.count(0) != 1024:
            fail(f"{rel}: no end-of-archive marker (two zero blocks) after the last member")
        size = os.path.getsize(path)
        if size % 512:
            fail(f"{rel}: size {size} is not a multiple of 512")


def check_sample(shard, key, files, ctx, fail):
    """One sample's members and their agreement with the manifest; returns its class."""
    where = f"{shard}: sample {key!r}"
    exts = set(files)
    if exts != SAMPLE_EXTS:
        fail(f"{where}: members {sorted(exts)}, want exactly {sorted(SAMPLE_EXTS)}")
    data = {ext: files[ext][1] for ext in exts}

    label = None
    if "cls" in data:
        text = data["cls"].decode("ascii", "replace")
        if CLS_RE.fullmatch(text):
            label = int(text)
        else:
            fail(f"{where}: .cls is {data['cls'][:20]!r}, want ASCII decimal with no newline")

    if "jpg" in data:
        try:
            with Image.open(io.BytesIO(data["jpg"])) as im:
                if im.format != "JPEG":
                    fail(f"{where}: .jpg holds {im.format}, not JPEG")
                im.load()
                if ctx["crop"] and im.size != ctx["crop"]:
                    fail(f"{where}: .jpg is {im.size[0]}x{im.size[1]}, want crop size "
                         f"{ctx['crop'][0]}x{ctx['crop'][1]}")
        except Exception as e:  # any decoder error means a reader would fail too
            fail(f"{where}: .jpg does not decode: {type(e).__name__}: {e}")

    meta = None
    if "json" in data:
        try:
            meta = json.loads(data["json"].decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            fail(f"{where}: .json is not valid UTF-8 JSON: {e}")
        if meta is not None and not isinstance(meta, dict):
            fail(f"{where}: .json is not an object")
            meta = None
    if meta is None:
        return None

    def field(name, kind):
        value = meta.get(name)
        # bool is an int subclass in Python, but true/false is not a label or a size.
        if not isinstance(value, kind) or isinstance(value, bool):
            fail(f"{where}: .json {name!r} is {value!r}, want {kind.__name__}")
            return None
        return value

    if field("key", str) is not None and meta["key"] != key:
        fail(f"{where}: .json key is {meta['key']!r}, not the member key")
    source, cls = field("source", str), field("class", str)
    json_label = field("label", int)
    for dim in ("width", "height"):
        if field(dim, int) is not None and meta[dim] <= 0:
            fail(f"{where}: .json {dim} is {meta[dim]}")

    classes = ctx["classes"]
    if label is not None and json_label is not None and label != json_label:
        fail(f"{where}: .cls says {label}, .json label says {json_label}")
    if json_label is not None:
        if not 0 <= json_label < len(classes):
            fail(f"{where}: label {json_label} outside the manifest's {len(classes)} classes")
        elif cls is not None and classes[json_label] != cls:
            fail(f"{where}: label {json_label} is {classes[json_label]!r} in the manifest, "
                 f".json class says {cls!r}")
    if source is not None:
        parts = source.split("/")
        if source.startswith("/") or ".." in parts:
            fail(f"{where}: .json source {source!r} is not relative to the source root")
        elif cls is not None and parts[0] != cls:
            fail(f"{where}: .json source {source!r} is not under class folder {cls!r}")
        if source in ctx["skipped_paths"]:
            fail(f"{where}: source {source!r} is listed as skipped in the manifest")
    return cls


def check_shard(outdir, shard, ctx, fail):
    """Returns the number of samples found in the shard."""
    rel = shard.get("path")
    if not isinstance(rel, str) or not rel or os.path.isabs(rel) or ".." in rel.split("/"):
        fail(f"manifest: shard path {rel!r} is not a relative path inside OUTDIR")
        return 0
    path = os.path.join(outdir, rel)
    if not rel.endswith(".tar"):
        fail(f"{rel}: not a .tar shard; this test reads tar shards only")
        return 0
    if not os.path.isfile(path):
        fail(f"{rel}: listed in the manifest but missing")
        return 0

    size = os.path.getsize(path)
    if shard.get("bytes") != size:
        fail(f"{rel}: {size} bytes on disk, manifest says {shard.get('bytes')!r}")
    digest = shard.get("xxh3")
    if not isinstance(digest, str) or not XXH3_RE.fullmatch(digest):
        fail(f"{rel}: manifest xxh3 {digest!r} is not 32 lowercase hex digits")
    elif ctx["xxh3"] and ctx["xxh3"](path) != digest:
        fail(f"{rel}: xxh3 on disk {ctx['xxh3'](path)}, manifest says {digest}")

    try:
        tf = tarfile.open(path, "r:")
    except tarfile.TarError as e:
        fail(f"{rel}: Python tarfile cannot open it: {e}")
        return 0
    with tf:
        try:
            members = tf.getmembers()
        except tarfile.TarError as e:
            fail(f"{rel}: Python tarfile cannot read it: {e}")
            return 0
        check_raw_layout(path, rel, members, fail)

        for m in members:
            if not m.isreg():
                fail(f"{rel}: {m.name}: not a regular file (type {m.type!r})")
            if m.mode != MEMBER_MODE:
                fail(f"{rel}: {m.name}: mode {m.mode:04o}, want {MEMBER_MODE:04o}")
            if m.uid != 0 or m.gid != 0:
                fail(f"{rel}: {m.name}: uid/gid {m.uid}/{m.gid}, want 0/0")
            if m.pax_headers:
                fail(f"{rel}: {m.name}: has PAX headers {sorted(m.pax_headers)}")
            ctx["mtimes"].setdefault(m.mtime, f"{rel}: {m.name}")

        samples, problems = group_samples([m.name for m in members])
        for p in problems:
            fail(f"{rel}: {p}")
        by_name = {m.name: m for m in members if m.isreg()}

        want = shard.get("records")
        if want != len(samples):
            fail(f"{rel}: {len(samples)} samples, manifest says {want!r}")

        sink = shard.get("sink")
        mix = {}
        for key, exts in samples:
            # Keys are positions within a sink: unique in the sink's shards.
            if (sink, key) in ctx["keys"]:
                fail(f"{rel}: key {key!r} already used in {ctx['keys'][(sink, key)]}")
            ctx["keys"][(sink, key)] = rel
            files = {}
            for ext, name in exts.items():
                m = by_name.get(name)
                if m is not None:
                    files[ext] = (name, tf.extractfile(m).read())
            cls = check_sample(rel, key, files, ctx, fail)
            if cls is not None:
                ctx["counts"][cls] = ctx["counts"].get(cls, 0) + 1
                mix[cls] = mix.get(cls, 0) + 1
            if "json" in files:
                try:
                    meta = json.loads(files["json"][1])
                except ValueError:
                    meta = {}
                if "substitute_for" in meta:
                    ctx["substitutes"].append((sink, meta["substitute_for"], meta.get("source")))
        ctx["mix"].setdefault(sink, []).append((rel, mix))
    return len(samples)


def load_manifest(outdir):
    path = os.path.join(outdir, "manifest.json")
    try:
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
    except OSError as e:
        die(f"cannot read {path}: {e.strerror}")
    except ValueError as e:
        die(f"{path} is not valid JSON: {e}")
    shape = {"config": dict, "classes": list, "records": int, "counts_out": dict,
             "shards": list, "skipped": list}
    for name, kind in shape.items():
        if not isinstance(manifest.get(name), kind):
            die(f"{path}: {name!r} missing or not a JSON {kind.__name__}")
    return manifest


def check_layouts(manifest, ctx, fail):
    """layout = stratified: every shard of the sink holds the same number of records (+-1)
    and, of each class, its share: floor or ceil of the class's records / shards."""
    for sink, shards in ctx["mix"].items():
        section = manifest["config"].get(sink, {})
        if section.get("layout") != "stratified":
            continue
        n = len(shards)
        sizes = [sum(m.values()) for _, m in shards]
        if max(sizes) - min(sizes) > 1:
            fail(f"sink {sink!r} (stratified): shard sizes {sizes} differ by more than 1")
        totals = {}
        for _, m in shards:
            for c, k in m.items():
                totals[c] = totals.get(c, 0) + k
        for rel, m in shards:
            for c, k in totals.items():
                got = m.get(c, 0)
                if got not in (k // n, -(-k // n)):
                    fail(f"{rel} (stratified): {got} records of {c!r}, want {k // n} or "
                         f"{-(-k // n)} ({k} over {n} shards)")


def check_substitutes(manifest, ctx, fail):
    """Records written in place of a bad sample: listed in the manifest, named in their own
    .json, never made from a skipped sample, and of the bad sample's class."""
    listed = sorted((x.get("sink"), x.get("path"), x.get("by"))
                    for x in manifest.get("substituted", []))
    seen = sorted(ctx["substitutes"])
    if listed != seen:
        fail(f"manifest 'substituted' {listed[:4]}... differs from the records' .json {seen[:4]}...")
    for _, bad, by in seen:
        if by in ctx["skipped_paths"]:
            fail(f"{bad} was replaced by {by}, which is skipped itself")
        if bad.split("/")[0] != (by or "").split("/")[0]:
            fail(f"{bad} was replaced by {by}, of another class folder")


def check_example_balance(manifest, ctx, fail):
    """The default pipeline on examples/data: the corrupt star found by the clean stage's
    full decode at scan (so it never enters the split, and nothing needs a stand-in), a
    train split with equal class counts, a val split in the original proportions, and
    the report's numbers equal to what the shards hold."""
    splits = {x.get("split"): x for x in manifest.get("splits", [])}
    if set(splits) != {"train", "val"}:
        fail(f"manifest: 'splits' has {sorted(splits)}, want train and val")
        return
    for name, entry in splits.items():
        got = {}
        for _, m in ctx["mix"].get(entry.get("sink"), []):
            for c, k in m.items():
                got[c] = got.get(c, 0) + k
        after = {c: v["after"] for c, v in entry["classes"].items()}
        if got != after:
            fail(f"split {name}: the shards hold {got}, the report says {after}")
    train = {c: v["after"] for c, v in splits["train"]["classes"].items()}
    if len(set(train.values())) != 1 or len(train) != 4:
        fail(f"train split is not balanced: {train}")
    val = splits["val"]["classes"]
    scanned = {"circles": 48, "squares": 24, "triangles": 12, "stars": 6}  # + 1 corrupt star
    for c, n in scanned.items():
        v = val.get(c, {"before": 0, "after": 0})
        t = splits["train"]["classes"].get(c, {"before": 0})
        if v["after"] != v["before"]:
            fail(f"val {c}: {v['before']} samples became {v['after']} records: val is resampled")
        if v["before"] + t["before"] != n:
            fail(f"{c}: val {v['before']} + train {t['before']} samples, the data has {n}")
        if v["before"] != max(1, round(n * 0.2)):
            fail(f"val {c}: {v['before']} samples, not 20% of {n}")
    broken = [x for x in manifest.get("skipped", []) if x.get("path", "").endswith("star_broken.jpg")]
    if not broken or broken[0].get("phase") != "scan" or broken[0].get("reason") != "corrupt":
        fail(f"manifest: the corrupt star is not skipped at scan as corrupt: {broken}")
    if manifest.get("substituted"):
        fail(f"manifest: stand-ins for samples clean should have removed: {manifest['substituted']}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir", help="a shardpack output folder (holds manifest.json)")
    ap.add_argument("--expect-example-skips", action="store_true",
                    help="require the bundled example's two bad files in 'skipped'")
    args = ap.parse_args()

    manifest = load_manifest(args.outdir)
    fail = Failures()
    skipped = [s for s in manifest["skipped"] if isinstance(s, dict)]
    ctx = {
        "classes": manifest["classes"],
        "skipped_paths": {s.get("path") for s in skipped},
        "xxh3": load_xxhash()[0],
        "keys": {},      # (sink, key) -> shard that holds it
        "mix": {},       # sink -> [(shard, {class: records})]
        "substitutes": [],  # (sink, bad path, the stand-in's path) from the records' .json
        "counts": {},    # class -> samples seen
        "mtimes": {},    # mtime -> first member that has it
    }
    if ctx["xxh3"] is None:
        print("check_shards: note: libxxhash not found; shard xxh3 not verified",
              file=sys.stderr)

    total = 0
    for shard in manifest["shards"]:
        if not isinstance(shard, dict):
            fail(f"manifest: shard entry {shard!r} is not an object")
            continue
        ctx["crop"] = crop_size(manifest["config"], shard.get("sink"))
        total += check_shard(args.outdir, shard, ctx, fail)

    if len(ctx["mtimes"]) > 1:
        fail("members have different mtimes: " + ", ".join(
            f"{t} ({where})" for t, where in list(ctx["mtimes"].items())[:4]))
    listed = sum(s.get("records", 0) for s in manifest["shards"]
                 if isinstance(s, dict) and isinstance(s.get("records"), int))
    if listed != manifest["records"]:
        fail(f"manifest: shard records add up to {listed}, 'records' says {manifest['records']}")
    if total != manifest["records"]:
        fail(f"{total} samples in the shards, manifest 'records' says {manifest['records']}")

    counts_out = manifest["counts_out"]
    for cls in sorted(set(counts_out) | set(ctx["counts"])):
        want, got = counts_out.get(cls, 0), ctx["counts"].get(cls, 0)
        if not isinstance(want, int):
            fail(f"manifest: counts_out[{cls!r}] is {want!r}, want an integer")
        elif got != want:
            fail(f"class {cls!r}: {got} samples in the shards, counts_out says {want}")

    check_layouts(manifest, ctx, fail)
    check_substitutes(manifest, ctx, fail)

    if args.expect_example_skips:
        paths = [s.get("path") or "" for s in skipped]
        for bad in ("star_broken.jpg", "notes.txt"):
            if not any(p.endswith(bad) for p in paths):
                fail(f"manifest: 'skipped' does not list {bad} (skipped: {paths})")
        check_example_balance(manifest, ctx, fail)

    if fail.messages:
        fail.report()
        print(f"check_shards: {len(fail.messages)} problems in {args.outdir}", file=sys.stderr)
        return 1
    print(f"check_shards: {total} records in {len(manifest['shards'])} shards OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
