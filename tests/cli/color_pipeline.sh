#!/bin/sh
# End to end: the photometric stages in a real build. Builds tests/cli/color_pipeline.ini
# on the example data at -j1 and -j2; the outputs must be byte-identical (every draw keyed
# by seed, stage, sample and copy, never by thread), and each record's .json must carry
# the parameters its random stages drew.
# Usage: color_pipeline.sh SHARDPACK WORKDIR   (run from the source tree)
set -eu
bin=$1 work=$2
rm -rf "$work"
"$bin" build tests/cli/color_pipeline.ini -q -j 1 -o "$work/j1"
"$bin" build tests/cli/color_pipeline.ini -q -j 2 -o "$work/j2"
sh tests/cli/same_output.sh "$work/j1" "$work/j2"
exec /usr/bin/python3 - "$work/j1" <<'PY'
import glob, io, json, sys, tarfile
from PIL import Image
recs = 0
seen = {}
for shard in sorted(glob.glob(sys.argv[1] + "/*.tar")):
    with tarfile.open(shard) as t:
        for m in t.getmembers():
            data = t.extractfile(m).read()
            if m.name.endswith(".png"):
                im = Image.open(io.BytesIO(data))
                assert im.size == (64, 64) and im.mode == "RGB", (m.name, im.size, im.mode)
                r, g, b = im.split()
                assert r.tobytes() == g.tobytes() == b.tobytes(), m.name + ": not gray"
            if not m.name.endswith(".json"):
                continue
            recs += 1
            ops = json.loads(data)["ops"]
            for op in ops:
                seen[op["type"]] = seen.get(op["type"], 0) + 1
            by = {op["type"]: op.get("params", {}) for op in ops}
            cj = by["color_jitter"]
            assert set(cj) == {"order", "brightness", "contrast", "saturation", "hue"}, cj
            assert sorted(cj["order"].split(",")) == sorted(["brightness", "contrast", "saturation", "hue"])
            assert 0.6 <= cj["brightness"] <= 1.4 and -0.1 <= cj["hue"] <= 0.1, cj
            assert 30 <= by["jpeg"]["quality"] <= 95, by["jpeg"]
            assert "sigma" in by["noise"] and "sigma" in by["blur"], by
            assert "erased" in by["erase"], by["erase"]
            for t_ in ("brightness", "contrast", "saturation", "sharpen"):
                assert 0 < by[t_]["factor"] < 2.1, (t_, by[t_])
assert recs > 50, recs
# Stages with p < 1 act on some records, not all (p = 0.5, 0.3, 0.2, 0.1).
for t_ in ("autocontrast", "equalize", "solarize", "invert"):
    assert 0 < seen.get(t_, 0) < recs, (t_, seen.get(t_), recs)
print(f"color_pipeline: {recs} records, ops applied: {json.dumps(seen, sort_keys=True)}")
PY
