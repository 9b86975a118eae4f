#!/bin/sh
# CLI behaviour: exit codes, error messages with file:line, phases run alone, the catalog
# cache, on_error, sharding limits, quiet mode. Runs the real binary on examples/data.
# usage: cli_test.sh SHARDPACK WORKDIR   (run from the repository root)
set -u
SP=$1
W=$2
PY=/usr/bin/python3
rm -rf "$W" && mkdir -p "$W"
pass=0 fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# expect CODE DESCRIPTION -- COMMAND...: runs COMMAND, captures stdout/stderr in $W/out, $W/err
expect() {
  want=$1; shift; what=$1; shift
  "$@" >"$W/out" 2>"$W/err"
  got=$?
  if [ "$got" -eq "$want" ]; then ok; else bad "$what: exit $got, wanted $want"; sed 's/^/    /' "$W/err"; fi
}
# has FILE TEXT DESCRIPTION
has() { if grep -qF -- "$2" "$1"; then ok; else bad "$3: '$2' not in $1"; sed 's/^/    /' "$1"; fi; }
hasnt() { if grep -qF -- "$2" "$1"; then bad "$3: '$2' found in $1"; else ok; fi; }

# --- usage ---------------------------------------------------------------------------
expect 2 "no arguments" "$SP"
expect 0 "--version" "$SP" --version
has "$W/out" "shardpack 0." "--version prints the version"
expect 0 "--help" "$SP" --help
has "$W/out" "usage: shardpack" "--help prints usage"
expect 2 "unknown command" "$SP" frobnicate
has "$W/err" "unknown command 'frobnicate'" "unknown command is named"
expect 2 "unknown option" "$SP" build --bogus
expect 2 "bad -j" "$SP" build -j 0
expect 0 "stages" "$SP" stages
for s in "[run]" "source (source)" "shuffle (record)" "resize (pixel)" "crop (pixel)" "encode (pixel)" "tar (sink)"; do
  has "$W/out" "$s" "stages lists $s"
done

# --- configuration errors: every one listed, each with file:line, exit 2 --------------
cat >"$W/bad.ini" <<'INI'
[source]
path = examples/data

[resize]
sise = 256
filter = bilinearr

[crop]
width = 0

[shards]
type = tarr
INI
expect 2 "bad config" "$SP" build "$W/bad.ini" -o "$W/never"
has "$W/err" "bad.ini:5: [resize] unknown option 'sise' (did you mean 'size'?)" "unknown key with line"
has "$W/err" "bad.ini:6: [resize] filter = bilinearr is not valid (expected one of: nearest, bilinear" "bad enum with choices"
has "$W/err" "bad.ini:9: [crop] width = 0 is out of range" "out of range with line"
has "$W/err" "bad.ini:12: [shards] unknown stage type 'tarr' (did you mean 'tar'?)" "unknown type"
has "$W/err" "4 errors in the configuration" "all errors reported at once"
[ ! -e "$W/never" ] && ok || bad "a config error must not create the output folder"

expect 2 "missing config" "$SP" build "$W/nope.ini"
has "$W/err" "nope.ini" "missing config is named"
expect 2 "bad --set value" "$SP" build --set resize.size=abc -o "$W/never"
has "$W/err" "--set: [resize] size = abc is not an integer" "--set error"
expect 2 "malformed --set" "$SP" build --set resize -o "$W/never"

# --- phases alone ------------------------------------------------------------------------
expect 0 "scan" "$SP" scan -o "$W/phases"
[ -f "$W/phases/.shardpack/catalog-source.tsv" ] && ok || bad "scan writes the catalog cache"
[ ! -e "$W/phases/manifest.json" ] && ok || bad "scan alone writes no manifest"
has "$W/err" "scan:" "scan prints a summary"
expect 0 "plan" "$SP" plan -o "$W/phases"
[ -f "$W/phases/plan.tsv" ] && ok || bad "plan writes plan.tsv"
ls "$W/phases"/*.tar >/dev/null 2>&1 && bad "plan alone writes no shard" || ok

# plan --dry-run: the balance report on stderr, and nothing written, not even the folder
expect 0 "plan --dry-run" "$SP" plan --dry-run -o "$W/dry"
[ ! -e "$W/dry" ] && ok || bad "plan --dry-run wrote $W/dry"
has "$W/err" "dry run, nothing written" "dry run says so"
has "$W/err" "split train -> [train]" "dry run reports the train split"
has "$W/err" "split val -> [val]" "dry run reports the val split"
has "$W/err" "copies per source" "dry run reports copies per source"
expect 2 "--dry-run is for plan" "$SP" build --dry-run -o "$W/dry"
# an empty split's sink is reported as that split, with nothing before and nothing dropped
expect 0 "empty val split" "$SP" build -q --set split.val=0 -o "$W/v0"
$PY - "$W/v0/manifest.json" <<'PYEOF' && ok || bad "an empty val sink is reported as val, 0 before, 0 dropped"
import json, sys
s = {x["sink"]: x for x in json.load(open(sys.argv[1]))["splits"]}
assert (s["val"]["split"], s["val"]["before"], s["val"]["after"], s["val"]["dropped"]) == ("val", 0, 0, 0), s["val"]
assert s["train"]["split"] == "train" and s["train"]["dropped"] == 0, s["train"]
PYEOF
# two split stages in a row: each sink reports what its own split gave it (the samples
# before add up to the data once, nothing dropped)
cat >"$W/two.ini" <<INI
[source]
path = examples/data
[split]
val = 0.3
[split2]
type = split
input = split.train
val = 0.5
[train]
type = tar
input = split2.train
[val]
type = tar
input = split.val
[val2]
type = tar
input = split2.val
INI
expect 0 "two splits" "$SP" build "$W/two.ini" -q -o "$W/two"
$PY - "$W/two/manifest.json" <<'PYEOF' && ok || bad "two split stages: each sink's report is its own split's"
import json, sys
m = json.load(open(sys.argv[1]))
s = {x["sink"]: x for x in m["splits"]}
assert sum(x["before"] for x in s.values()) == sum(x["after"] for x in s.values()), s
assert all(x["dropped"] == 0 for x in s.values()), s
assert (s["val"]["split"], s["val2"]["split"], s["train"]["split"]) == ("val", "val", "train"), s
PYEOF
# a per-class count past the bound (here one whose records would wrap a 64-bit size) is a
# config error, not a huge allocation
for n in 988218432520154542 99999999999999999999999 1000000001; do
  expect 2 "balance classes count $n" "$SP" plan --dry-run --set balance.strategy=classes \
    --set balance.classes=stars:$n -o "$W/dry"
  has "$W/err" "a count is at most 1000000000" "balance classes count $n is refused"
done

# --- a full build, then a rebuild served by the cache -------------------------------------
expect 0 "build" "$SP" build -o "$W/o1" -j 2
[ -f "$W/o1/manifest.json" ] && ok || bad "build writes manifest.json"
has "$W/err" "records in" "build prints a summary"
has "$W/err" "split train -> [train]: 72 samples -> 152 records" "the summary reports the balanced train split"
has "$W/err" "split val -> [val]: 18 samples -> 18 records" "the summary reports the plain val split"
has "$W/o1/manifest.json" '"phase": "scan", "reason": "corrupt"' "the clean stage's full decode finds the truncated JPEG at scan"
has "$W/o1/manifest.json" '"reason": "unknown_format"' "non-image reported as unknown_format"
left=$(find "$W/o1" -name '*.tmp' | wc -l)
[ "$left" -eq 0 ] && ok || bad "temporary files left behind: $left"
found=$(sed -n 's/.*samples found \([0-9]*\).*/\1/p' "$W/err")
expect 0 "rebuild" "$SP" build -o "$W/o1" -j 2
has "$W/err" "catalog cache hits $found" "a rebuild reads every sample from the cache"
# the plan (records, keys, order) is identical on a rebuild
records=$($PY -c "import json,sys; print(json.load(open(sys.argv[1]))['records'])" "$W/o1/manifest.json")
lines=$(($(wc -l <"$W/o1/plan.tsv") - 1))
[ "$lines" -eq "$records" ] && ok || bad "plan.tsv has $lines records, manifest $records"
# with a header-only clean (and no perceptual hashes, which decode), the corrupt star reaches
# the build: its records are written from stand-ins of its class, so none is lost
expect 0 "build, header-only clean" "$SP" build --set clean.verify=header \
  --set clean.near_duplicates=off -o "$W/o1s" -j 2
has "$W/err" "split train -> [train]: 73 samples -> 152 records" "the corrupt star's records are planned"
has "$W/err" "substituted 7" "the summary counts the corrupt star's stand-ins"
has "$W/o1s/manifest.json" '"phase": "build", "reason": "corrupt"' "truncated JPEG reported as corrupt at build"
has "$W/o1s/manifest.json" '"path": "stars/star_broken.jpg", "copy": 0, "by": "stars/' "the corrupt star is replaced by another star"

# --- commands on a finished output: verify, ls, cat -------------------------------------
expect 0 "verify" "$SP" verify "$W/o1"
has "$W/err" "all checks passed" "verify reports success"
expect 1 "verify a folder without manifest" "$SP" verify "$W"
has "$W/err" "manifest.json: missing" "verify names the missing manifest"
expect 2 "verify without argument" "$SP" verify
expect 0 "ls" "$SP" ls "$W/o1"
n=$(($(wc -l <"$W/out") - 1))
[ "$n" -eq "$records" ] && ok || bad "ls lists $n records, manifest has $records"
has "$W/out" "train-000000.tar	000000000	" "ls names shard and key"
expect 0 "cat" "$SP" cat "$W/o1/train-000000.tar" 000000003 -o "$W/cat.jpg"
$PY - "$W/o1/train-000000.tar" "$W/cat.jpg" <<'PYEOF' && ok || bad "cat writes the record's image bytes"
import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    want = t.extractfile("000000003.jpg").read()
assert open(sys.argv[2], "rb").read() == want
PYEOF
expect 2 "cat a missing key" "$SP" cat "$W/o1/train-000000.tar" 999999999
has "$W/err" "no record with key 999999999" "cat names the missing key"
expect 1 "ls a non-shard" "$SP" ls "$W/o1/plan.tsv"
has "$W/err" "not a tar, npy or TFRecord shard" "ls says what is wrong"

# --- a changed file is rescanned, not served stale -----------------------------------------
mkdir -p "$W/data/a" "$W/data/b"
cp examples/data/circles/$(ls examples/data/circles | head -1) "$W/data/a/x.jpg"
cp examples/data/squares/$(ls examples/data/squares | grep -v txt | head -1) "$W/data/b/y.img"
expect 0 "small build" "$SP" build --set source.path="$W/data" -o "$W/o2"
has "$W/err" "catalog cache hits 0" "first scan reads everything"
printf 'not an image' >"$W/data/a/x.jpg"
expect 0 "small rebuild" "$SP" build --set source.path="$W/data" -o "$W/o2"
has "$W/err" "catalog cache hits 1" "only the unchanged file comes from the cache"
has "$W/o2/manifest.json" '"path": "a/x.jpg", "phase": "scan", "reason": "unknown_format"' "changed file rescanned"

# --- file names that are not UTF-8 still give valid JSON (U+FFFD for the bad bytes) ------
mkdir -p "$W/odd/c"
printf 'junk' >"$W/odd/c/$(printf 'bad\377name').jpg"
cp examples/data/circles/circle_005.jpg "$W/odd/c/$(printf 'ok\376').jpg"
expect 0 "non-UTF-8 names" "$SP" build --set source.path="$W/odd" -o "$W/o6"
$PY - "$W/o6" <<'PYEOF' && ok || bad "manifest and record JSON stay valid with non-UTF-8 names"
import json, os, sys, tarfile
m = json.load(open(os.path.join(sys.argv[1], "manifest.json"), encoding="utf-8"))
assert m["skipped"][0]["path"] == "c/bad\ufffdname.jpg", m["skipped"]
with tarfile.open(os.path.join(sys.argv[1], m["shards"][0]["path"])) as t:
    meta = [json.loads(t.extractfile(x).read().decode("utf-8")) for x in t if x.name.endswith(".json")]
assert [x["source"] for x in meta] == ["c/ok\ufffd.jpg"], meta
PYEOF

# --- encoder settings reach the bytes -------------------------------------------------------
expect 0 "jpeg settings" "$SP" build -q --set encode.progressive=true --set encode.subsampling=444 -o "$W/o8"
expect 0 "png level 0" "$SP" build -q --set encode.format=png --set encode.png_level=0 -o "$W/o9"
expect 0 "png level 9" "$SP" build -q --set encode.format=png --set encode.png_level=9 -o "$W/o10"
$PY - "$W" <<'PYEOF' && ok || bad "encoder settings: baseline 4:2:0 by default, progressive 4:4:4 and PNG levels when asked"
import io, os, sys, tarfile
from PIL import Image, JpegImagePlugin
def first(out, ext):
    with tarfile.open(os.path.join(sys.argv[1], out, "train-000000.tar")) as t:
        m = next(x for x in t if x.name.endswith(ext))
        return t.extractfile(m).read()
d = Image.open(io.BytesIO(first("o1", ".jpg")))
p = Image.open(io.BytesIO(first("o8", ".jpg")))
assert JpegImagePlugin.get_sampling(d) == 2 and not d.info.get("progressive"), d.info
assert JpegImagePlugin.get_sampling(p) == 0 and p.info.get("progressive"), p.info
def total(out):
    return sum(os.path.getsize(os.path.join(sys.argv[1], out, f)) for f in os.listdir(os.path.join(sys.argv[1], out)) if f.endswith(".tar"))
assert total("o9") > total("o10"), (total("o9"), total("o10"))
assert Image.open(io.BytesIO(first("o9", ".png"))).tobytes() == Image.open(io.BytesIO(first("o10", ".png"))).tobytes()
PYEOF

# --- verify sees damage to sidecars and indexes, and accepts shards with no records ---------
cp -r "$W/o1" "$W/v1"
sed -i '2{h;d};3{G}' "$W/v1/train-000000.idx"            # swap two index lines
expect 1 "verify: swapped idx lines" "$SP" verify -q "$W/v1"
has "$W/err" "train-000000.idx" "verify names the damaged index"
cp -r "$W/o1" "$W/v2"
$PY - "$W/v2/train.wids.json" <<'PYEOF'
import json, sys
j = json.load(open(sys.argv[1])); j["shardlist"] = j["shardlist"][:1]
json.dump(j, open(sys.argv[1], "w"))
PYEOF
expect 1 "verify: wids missing shards" "$SP" verify -q "$W/v2"
expect 0 "npy build" "$SP" build -q --set train.type=npy --set val.type=npy -o "$W/v3"
$PY - "$W/v3/train-000000.labels.npy" <<'PYEOF'
import numpy as np, sys
a = np.load(sys.argv[1], mmap_mode="r+"); i = int(np.argmax(a != a[0])); a[0], a[i] = a[i], a[0]; a.flush()
PYEOF
expect 1 "verify: swapped npy labels" "$SP" verify -q "$W/v3"
has "$W/err" "labels.npy: checksum mismatch" "verify names the labels file"
# cat still finds a record when the index lost a line
cp -r "$W/o1" "$W/v4"
sed -i '2d' "$W/v4/train-000000.idx"
expect 0 "cat with a damaged index" "$SP" cat "$W/v4/train-000000.tar" 000000000 -o "$W/v4.jpg"
# a shard whose records all fail at build time is empty, and still verifies
mkdir -p "$W/allbad/a" "$W/allbad/b"
cp examples/data/squares/square_003.png "$W/allbad/a/1.png"
cp examples/data/squares/square_003.png "$W/allbad/a/2.png"
for i in 1 2; do head -c 200 examples/data/circles/circle_023.png >"$W/allbad/b/$i.png"; done
cat >"$W/allbad.ini" <<INI
[source]
path = $W/allbad
[crop]
width = 32
height = 32
[shards]
type = tar
max_records = 2
INI
for t in tar npy tfrecord; do
  expect 0 "all-skipped shard ($t)" "$SP" build "$W/allbad.ini" -q --set shards.type=$t -o "$W/allbad-$t"
  expect 0 "verify all-skipped shard ($t)" "$SP" verify -q "$W/allbad-$t"
done
# a change of sink type leaves no shard of the old type behind
expect 0 "type change" "$SP" build -q --set train.type=tfrecord --set val.type=tfrecord -o "$W/o1"
ls "$W/o1"/train-*.tar "$W/o1"/val-*.idx >/dev/null 2>&1 && ls "$W/o1" | grep -q '\.tar' && bad "old tar shards survive a type change" || ok
expect 0 "verify after type change" "$SP" verify -q "$W/o1"

# --- hostile inputs: each costs its own sample, never the run or the machine ----------------
H="$W/hostile"
mkdir -p "$H/c/sub" "$H/d"
cp examples/data/circles/circle_005.jpg "$H/c/good.jpg"
ln -s .. "$H/c/sub/loop"                  # a folder that contains itself
mkfifo "$H/c/pipe"                         # not a regular file
: >"$H/c/empty.jpg"                        # zero bytes
$PY - "$H" <<'PYEOF'
import struct, sys, zlib
def png(path, w, h):
    raw = b"".join(b"\0" + b"\x80" * w for _ in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                          + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
png(sys.argv[1] + "/d/strip.png", 65500, 1)   # resize would make it 16,768,000 x 256
png(sys.argv[1] + "/d/fine.png", 40, 30)
PYEOF
# (two flat gray PNGs are near-duplicates of each other: near-duplicate dropping stays off)
expect 0 "hostile build" timeout 120 "$SP" build --set source.path="$H" \
  --set clean.near_duplicates=off -o "$W/o7" -j 2
$PY - "$W/o7/manifest.json" <<'PYEOF' && ok || bad "hostile samples are reported with their reasons"
import json, sys
m = json.load(open(sys.argv[1]))
got = {s["path"]: (s["reason"], s["detail"]) for s in m["skipped"]}
assert got["c/sub/loop"][0] == "io_error" and "loop" in got["c/sub/loop"][1], got
assert got["c/pipe"] == ("io_error", "a FIFO"), got
assert got["c/empty.jpg"] == ("unknown_format", "empty file"), got
assert got["d/strip.png"][0] == "max_dimension", got
assert m["records"] == 2, m["records"]
PYEOF

# a damaged catalog cache costs a rescan, never a crash
sed -i 's/\tpng\t/\t-\t/' "$W/o7/.shardpack/catalog-source.tsv"
expect 0 "damaged cache" "$SP" build --set source.path="$H" --set clean.near_duplicates=off -o "$W/o7"
expect 2 "empty -o" "$SP" build -o ""

# --- on_error = fail stops at the first bad sample, exit 1 -------------------------------
expect 1 "on_error=fail" "$SP" build --set run.on_error=fail -o "$W/o3"
has "$W/err" "(on_error = fail)" "on_error=fail names the cause"
[ ! -e "$W/o3/manifest.json" ] && ok || bad "a failed run writes no manifest"

# --- sharding by records, quiet mode --------------------------------------------------------
expect 0 "max_records" "$SP" build -q --set train.max_records=10 --set val.max_records=10 -o "$W/o4"
[ ! -s "$W/err" ] && ok || { bad "-q prints nothing on success"; cat "$W/err"; }
$PY - "$W/o4/manifest.json" <<'PYEOF' && ok || bad "shards hold at most 10 records"
import json, sys
m = json.load(open(sys.argv[1]))
counts = [s["records"] for s in m["shards"]]
assert len(counts) >= 2 and max(counts) <= 10 and sum(counts) == m["records"], counts
PYEOF

# a rebuild into the same folder with fewer shards removes the ones the plan no longer has
touch "$W/o4/.train-000001.tar.tmp"
expect 0 "rebuild with fewer shards" "$SP" build -q -o "$W/o4"
$PY - "$W/o4" <<'PYEOF' && ok || bad "no stale shard or temporary file survives a rebuild"
import json, os, sys
m = json.load(open(os.path.join(sys.argv[1], "manifest.json")))
on_disk = sorted(f for f in os.listdir(sys.argv[1]) if f.endswith(".tar") or f.endswith(".tmp"))
assert on_disk == sorted(s["path"] for s in m["shards"]), on_disk
PYEOF

# --- a source that does not exist fails clearly -------------------------------------------
expect 1 "missing source" "$SP" build --set source.path="$W/no-such-dir" -o "$W/o5"
has "$W/err" "no-such-dir" "missing source is named"

# --- parts, finish, make helpers: usage -----------------------------------------------------
expect 2 "--part out of range" "$SP" build --part 3/3 -o "$W/o6"
has "$W/err" "--part needs I/N with 0 <= I < N" "--part range is explained"
expect 2 "--part malformed" "$SP" build --part 1of3 -o "$W/o6"
expect 2 "--part and --shard" "$SP" build --part 0/2 --shard shard-000000.tar -o "$W/o6"
expect 2 "--part is build's" "$SP" plan --part 0/2 -o "$W/o6"
expect 2 "--depfile is plan's" "$SP" build --depfile "$W/d.mk" -o "$W/o6"
expect 2 "an unknown --shard" "$SP" build -q --shard shard-999999.tar -o "$W/o6"
has "$W/err" "--shard shard-999999.tar: the plan has no such shard" "an unknown shard is named"
expect 2 "finish without a folder" "$SP" finish
expect 1 "finish of nothing" "$SP" finish "$W/no-such-output"
has "$W/err" "no partial manifests" "finish says what is missing"
expect 0 "plan --list-shards" "$SP" plan -q --list-shards -o "$W/o6"
# The names the plan gives its records' shards (plan.tsv's second column, in plan order),
# whatever sinks the default pipeline has: every shard once, in the same order.
planned=$(cut -f2 "$W/o6/plan.tsv" | sed 1d | uniq)
[ -n "$planned" ] && [ "$(cat "$W/out")" = "$planned" ] && ok ||
  bad "--list-shards prints the plan's shard names: '$(cat "$W/out")' vs plan.tsv '$planned'"
grep -qvE '^[a-z_]+-[0-9]{6}\.tar$' "$W/out" && bad "--list-shards prints only names: $(cat "$W/out")" || ok

# --- balance warnings: a target a class cannot reach, a config that changes nothing ----
expect 0 "max_copies below the target" "$SP" plan --dry-run pipeline.ini --set balance.max_copies=3
has "$W/err" "[balance] class 'stars' reaches 15 of its target 38: 5 sources at max_copies = 3" \
  "a target max_copies keeps a class from is warned about"
expect 0 "repeat_factor over max_copies" "$SP" plan --dry-run pipeline.ini \
  --set balance.strategy=repeat_factor --set balance.threshold=0.5 --set balance.max_copies=2
has "$W/err" "[balance] class 'stars': repeat factor" "capped repeat factors are warned about"
has "$W/err" "held at max_copies = 2" "the warning names the cap"
expect 0 "under to the largest class" "$SP" plan --dry-run pipeline.ini --set balance.mode=under
has "$W/err" "[balance] mode = under with target = max changes no class" \
  "a balance that can change nothing is warned about"
expect 2 "a plan-time config error" "$SP" plan --dry-run pipeline.ini \
  --set balance.strategy=classes --set balance.classes=dogs:3
has "$W/err" "pipeline.ini:" "a plan-time config error names the config"
has "$W/err" "[balance]: classes: class 'dogs' is not in the data" "and the stage and the reason"

# --- undersampling: every sample cut is reported, unless another sink writes it --------
expect 0 "undersampled build" "$SP" build pipeline.ini -o "$W/under" --set balance.mode=under \
  --set balance.target=min
$PY - "$W/under" <<'PY' && ok || bad "undersampled samples in the manifest and report.tsv"
import json, sys
out = sys.argv[1]
m = json.load(open(out + "/manifest.json"))
cut = sorted(s["path"] for s in m["skipped"] if s["reason"] == "undersampled")
train = next(s for s in m["splits"] if s["split"] == "train")
rows = [l.split("\t") for l in open(out + "/report.tsv")][1:]
tsv = sorted(r[2] for r in rows if r[0] == "balance" and r[4] == "undersampled")
assert cut and len(cut) == train["dropped"] == len(tsv) and cut == tsv, (len(cut), train, len(tsv))
assert all(s["phase"] == "balance" for s in m["skipped"] if s["reason"] == "undersampled")
PY
has "$W/err" "undersampled" "the summary counts undersampled samples"
# The same source also into a plain sink: what balance cuts is written there, not dropped.
cat >"$W/fanout-under.ini" <<INI
[source]
path = examples/data

[balance]
mode = under
target = min

[cut]
type = tar
input = balance

[all]
type = tar
input = source
INI
expect 0 "undersampled with a second sink" "$SP" build "$W/fanout-under.ini" -o "$W/under2"
$PY -c "
import json, sys
m = json.load(open('$W/under2/manifest.json'))
sys.exit(any(s['reason'] == 'undersampled' for s in m['skipped']))" && ok ||
  bad "a sample another sink writes is not reported as undersampled"

# --- check shows per-class values ---------------------------------------------------
printf '[source]\npath = examples/data\n[er]\ntype = erase\np = 0.3\np@stars = 1\nscale_max@stars = 0.4\n[shards]\ntype = tar\n' >"$W/perclass.ini"
expect 0 "check with per-class values" "$SP" check "$W/perclass.ini"
has "$W/out" "p=0.3 scale_max@stars=0.4 p@stars=1" "check lists per-class values"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
