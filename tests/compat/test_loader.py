#!/usr/bin/python3
"""Run examples/python/shardpack_loader.py over shardpack output folders and check it.

    /usr/bin/python3 tests/compat/test_loader.py OUTDIR [OUTDIR ...] [--same-plan]

For each folder and each of its sinks, the loader must yield exactly the manifest's
record count, with labels whose per-class counts equal counts_out (summed over the
sinks) and, with decode=True, H x W x 3 uint8 images of the configured crop size.  It
also checks decode=False (bytes, same labels), that shard_subset(rank, world_size)
partitions the records for a few world sizes, and ShardpackIterableDataset's split across
DataLoader workers: with real PyTorch when it is installed, else with a stand-in
torch.utils.data module that reports worker ids the way get_worker_info() does.

--same-plan: the folders were built from one plan in different formats (e.g. --set
train.type=... and val.type=...): their label sequences must then be identical.

Exit status: 0 when everything holds, 1 with one line per problem otherwise, 2 on usage
or unreadable input.
"""

import argparse
import importlib.util
import json
import os
import sys
import types

import numpy as np

PROG = "test_loader"
HERE = os.path.dirname(os.path.abspath(__file__))
LOADER = os.path.join(HERE, "..", "..", "examples", "python", "shardpack_loader.py")


def import_loader(name, torch_stub=None):
    """Imports the loader as module `name`, optionally with a stand-in torch."""
    saved = {k: sys.modules.get(k) for k in ("torch", "torch.utils", "torch.utils.data")}
    if torch_stub is not None:
        sys.modules.update(torch_stub)
    try:
        spec = importlib.util.spec_from_file_location(name, LOADER)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        if torch_stub is not None:
            for k, v in saved.items():
                if v is None:
                    sys.modules.pop(k, None)
                else:
                    sys.modules[k] = v
    return module


def make_torch_stub():
    """A minimal torch.utils.data: IterableDataset and a settable get_worker_info."""
    data = types.ModuleType("torch.utils.data")

    class IterableDataset:
        pass

    data.IterableDataset = IterableDataset
    data.current = None
    data.get_worker_info = lambda: data.current
    utils = types.ModuleType("torch.utils")
    utils.data = data
    torch = types.ModuleType("torch")
    torch.utils = utils
    return {"torch": torch, "torch.utils": utils, "torch.utils.data": data}, data


def crop_shape(config, sink, loader):
    return loader._crop_shape(config, sink)


def check_folder(outdir, loader, stub, fail):
    """Returns the label sequence of the folder's sinks, in sink order, or None."""
    try:
        with open(os.path.join(outdir, "manifest.json"), encoding="utf-8") as f:
            manifest = json.load(f)
    except (OSError, ValueError) as e:
        print(f"{PROG}: {outdir}: cannot read manifest.json: {e}", file=sys.stderr)
        sys.exit(2)
    classes = manifest["classes"]
    sinks = sorted({s["sink"] for s in manifest["shards"]})
    totals = {}
    n_all = 0
    sequence = []
    for sink in sinks:
        where = f"{outdir} [{sink}]"
        try:
            ds = loader.ShardpackDataset(outdir, sink=sink)
        except Exception as e:
            fail(f"{where}: ShardpackDataset() raised {type(e).__name__}: {e}")
            continue
        want_n = sum(s["records"] for s in manifest["shards"] if s["sink"] == sink)
        if len(ds) != want_n:
            fail(f"{where}: len() is {len(ds)}, manifest shards say {want_n}")
        shape = crop_shape(manifest["config"], sink, loader)
        labels = []
        bad_shape = 0
        try:
            for image, label in ds:
                if not isinstance(label, int) or isinstance(label, bool):
                    fail(f"{where}: label {label!r} is not an int")
                    return None
                labels.append(label)
                if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or \
                        image.ndim != 3 or image.shape[2] != 3 or \
                        (shape is not None and image.shape != shape):
                    if bad_shape < 3:
                        fail(f"{where}: record {len(labels) - 1}: image "
                             f"{getattr(image, 'shape', type(image))} "
                             f"{getattr(image, 'dtype', '')}, want {shape or '(H, W, 3)'} "
                             "uint8")
                    bad_shape += 1
        except Exception as e:
            fail(f"{where}: iteration raised {type(e).__name__}: {e}")
            return None
        if len(labels) != want_n:
            fail(f"{where}: yielded {len(labels)} records, manifest says {want_n}")
        for x in labels:
            if not 0 <= x < len(classes):
                fail(f"{where}: label {x} outside the {len(classes)} classes")
                return None
            totals[classes[x]] = totals.get(classes[x], 0) + 1
        n_all += len(labels)
        sequence.extend(labels)

        raw = [label for _, label in loader.ShardpackDataset(outdir, sink, decode=False)]
        kinds = {type(image) for (image, _), _ in
                 zip(loader.ShardpackDataset(outdir, sink, decode=False), range(5))}
        if raw != labels:
            fail(f"{where}: decode=False gives other labels than decode=True")
        if kinds - {bytes}:
            fail(f"{where}: decode=False yields {kinds}, want bytes")

        for world in (2, 3, 5):
            parts = [ds.shard_subset(r, world) for r in range(world)]
            got = sorted(p for part in parts for p in (s["path"] for s in part.shards))
            if got != sorted(s["path"] for s in ds.shards):
                fail(f"{where}: shard_subset(*, {world}) does not partition the shards")
            if sum(len(p) for p in parts) != len(ds):
                fail(f"{where}: shard_subset(*, {world}) lengths do not add up")
            merged = sorted(label for p in parts for _, label in p)
            if merged != sorted(labels):
                fail(f"{where}: shard_subset(*, {world}) records differ from the whole")

        check_workers(outdir, sink, labels, loader, stub, fail)

    if n_all != manifest["records"]:
        fail(f"{outdir}: {n_all} records over sinks {sinks}, manifest says "
             f"{manifest['records']}")
    counts_out = manifest["counts_out"]
    for cls in sorted(set(counts_out) | set(totals)):
        if counts_out.get(cls, 0) != totals.get(cls, 0):
            fail(f"{outdir}: class {cls!r}: loader yields {totals.get(cls, 0)}, counts_out "
                 f"says {counts_out.get(cls, 0)}")
    return sequence


def check_workers(outdir, sink, labels, loader, stub, fail):
    """ShardpackIterableDataset: the DataLoader workers' records make up the whole."""
    where = f"{outdir} [{sink}]"
    if importlib.util.find_spec("torch") is not None:  # real PyTorch, when present
        from torch.utils.data import DataLoader

        ds = loader.ShardpackIterableDataset(outdir, sink, decode=False)
        got = [int(l) for _, l in DataLoader(ds, batch_size=None, num_workers=2)]
        if sorted(got) != sorted(labels):
            fail(f"{where}: DataLoader(num_workers=2) yields other records than the dataset")
        return
    mod, data = stub
    for workers in (1, 2, 4):
        got = []
        for wid in range(workers):
            data.current = types.SimpleNamespace(id=wid, num_workers=workers)
            ds = mod.ShardpackIterableDataset(outdir, sink, decode=False)
            got.extend(label for _, label in ds)
        data.current = None
        if sorted(got) != sorted(labels):
            fail(f"{where}: {workers} workers together yield {len(got)} records, "
                 f"want the dataset's {len(labels)}")
    # Two ranks, two workers each.
    got = []
    for rank in range(2):
        for wid in range(2):
            data.current = types.SimpleNamespace(id=wid, num_workers=2)
            ds = mod.ShardpackIterableDataset(outdir, sink, decode=False, rank=rank,
                                              world_size=2)
            got.extend(label for _, label in ds)
    data.current = None
    if sorted(got) != sorted(labels):
        fail(f"{where}: 2 ranks x 2 workers yield {len(got)} records, want {len(labels)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdirs", nargs="+", metavar="OUTDIR")
    ap.add_argument("--same-plan", action="store_true",
                    help="the folders hold one plan in several formats: labels must match")
    args = ap.parse_args()

    loader = import_loader("shardpack_loader")
    stub_modules, stub_data = make_torch_stub()
    stub_loader = import_loader("shardpack_loader_torchstub", stub_modules)

    messages = []
    sequences = {}
    summary = []
    for outdir in args.outdirs:
        before = len(messages)
        seq = check_folder(outdir, loader, (stub_loader, stub_data), messages.append)
        if seq is not None:
            sequences[outdir] = seq
        if len(messages) == before:
            summary.append(f"{os.path.basename(os.path.normpath(outdir))} "
                           f"{len(seq) if seq is not None else '?'}")
    if args.same_plan and len(sequences) > 1:
        first, ref = next(iter(sequences.items()))
        for outdir, seq in sequences.items():
            if seq != ref:
                messages.append(f"{outdir}: label sequence differs from {first}")

    if messages:
        for m in messages[:50]:
            print(f"{PROG}: FAIL: {m}", file=sys.stderr)
        print(f"{PROG}: {len(messages)} problems", file=sys.stderr)
        return 1
    print(f"{PROG}: loader OK on {len(args.outdirs)} folders ({', '.join(summary)} records)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
