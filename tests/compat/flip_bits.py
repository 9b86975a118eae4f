"""verify must catch a single flipped bit anywhere in a shard.

usage: flip_bits.py SHARDPACK OUTDIR [--count 50] [--seed N]

For COUNT rounds: pick a shard of the manifest and a byte and bit in it at random, flip
that bit, run `shardpack verify`, and require exit code 1 with a message naming the shard
and a byte offset; then restore the byte and require verify to pass again at the end. It
works on a copy of OUTDIR, so tests reading OUTDIR at the same time are not disturbed. The
seed is printed so a failure can be replayed.
"""
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile


def verify(sp, out):
    p = subprocess.run([sp, "verify", "-q", out], capture_output=True, text=True)
    return p.returncode, p.stderr


def main():
    args = sys.argv[1:]
    count = 50
    seed = random.SystemRandom().randrange(1 << 32)
    if "--count" in args:
        i = args.index("--count")
        count = int(args[i + 1])
        del args[i:i + 2]
    if "--seed" in args:
        i = args.index("--seed")
        seed = int(args[i + 1])
        del args[i:i + 2]
    sp, original = args
    print(f"flip_bits: seed {seed}")
    work = tempfile.mkdtemp(prefix="flip_bits.")
    try:
        out = os.path.join(work, "out")
        shutil.copytree(original, out)
        run(sp, out, count, seed)
    finally:
        shutil.rmtree(work)


def run(sp, out, count, seed):
    rng = random.Random(seed)
    shards = json.load(open(os.path.join(out, "manifest.json")))["shards"]
    rc, err = verify(sp, out)
    if rc != 0:
        sys.exit(f"flip_bits: the untouched output does not verify: {err}")
    caught = 0
    for round_ in range(count):
        shard = rng.choice(shards)["path"]
        path = os.path.join(out, shard)
        size = os.path.getsize(path)
        pos, bit = rng.randrange(size), rng.randrange(8)
        with open(path, "r+b") as f:
            f.seek(pos)
            old = f.read(1)[0]
            f.seek(pos)
            f.write(bytes([old ^ (1 << bit)]))
        try:
            rc, err = verify(sp, out)
        finally:
            with open(path, "r+b") as f:
                f.seek(pos)
                f.write(bytes([old]))
        where = re.search(r"byte (\d+)", err)
        if rc != 1 or shard not in err or not where:
            sys.exit(f"flip_bits: round {round_}: bit {bit} of byte {pos} in {shard}: "
                     f"verify exited {rc} with: {err.strip()!r}")
        caught += 1
    rc, err = verify(sp, out)
    if rc != 0:
        sys.exit(f"flip_bits: restored output does not verify: {err}")
    print(f"flip_bits: {caught} of {count} flipped bits caught, each naming its shard and byte")


if __name__ == "__main__":
    main()
