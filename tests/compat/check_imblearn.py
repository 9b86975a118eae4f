#!/usr/bin/python3
"""Balance targets against imbalanced-learn.

    /usr/bin/python3 tests/compat/check_imblearn.py SAMPLING_TARGETS

For every imbalanced-learn `sampling_strategy` (auto, minority, majority, not minority,
not majority, all, dicts, and the binary float), over- and undersampling, on label
distributions with ties, the final class counts of RandomOverSampler /
RandomUnderSampler.fit_resample must equal what shardpack's balance stage computes
(tests/tools/sampling_targets.c drives src/sampling.c), and a strategy imbalanced-learn
refuses must be refused too. Exits 77 (skipped) when imbalanced-learn is missing.
"""
import subprocess
import sys
import warnings
from collections import Counter

warnings.simplefilter("ignore")  # "more samples than the majority" notes on valid dicts

try:
    import numpy as np
    from imblearn.over_sampling import RandomOverSampler
    from imblearn.under_sampling import RandomUnderSampler
    from imblearn.utils import check_sampling_strategy
except ImportError as e:  # scripts/deps.sh test installs python3-imblearn
    print(f"skipped: {e}")
    sys.exit(77)

TOOL = sys.argv[1]

# Label distributions: ties for the majority and for the minority, a dominant class, a
# singleton, two classes, many classes.
DISTRIBUTIONS = [
    [48, 24, 12, 6],
    [5, 5, 3, 3],
    [10, 2, 2, 10],
    [7, 3],
    [100, 50, 20, 20, 1],
    [3, 9, 9, 1, 1],
    [4, 4, 4],
    [1, 30, 2, 30, 7, 1, 12, 5],
]

STRATEGIES = ["auto", "minority", "majority", "not minority", "not majority", "all"]

failures = 0
checks = 0


def imblearn_counts(kind, strategy, counts):
    y = np.repeat(np.arange(len(counts)), counts)
    x = np.arange(len(y)).reshape(-1, 1)
    cls = RandomOverSampler if kind == "over" else RandomUnderSampler
    try:
        _, yr = cls(sampling_strategy=strategy, random_state=0).fit_resample(x, y)
    except ValueError as e:
        if kind == "over" and strategy == "minority" and "parameter of" in str(e):
            # imbalanced-learn 0.10's parameter check for the over-samplers lists
            # 'majority' and not 'minority', against its own docs; its strategy code,
            # which fit_resample runs after that check, implements 'minority'.
            try:
                add = check_sampling_strategy(strategy, y, "over-sampling")
            except ValueError as e2:
                return None, str(e2)
            return [n + add.get(i, 0) for i, n in enumerate(counts)], None
        return None, str(e)
    c = Counter(yr.tolist())
    return [c.get(i, 0) for i in range(len(counts))], None


def ours(kind, strategy, counts, extra=()):
    args = [TOOL, kind, strategy, *extra, "--", *map(str, counts)]
    p = subprocess.run(args, capture_output=True, text=True)
    if p.returncode == 1:
        return None, p.stdout.strip()
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(args)}: exit {p.returncode}: {p.stderr}")
    return [int(t.split("=")[1]) for t in p.stdout.split()], None


def compare(what, theirs, mine):
    global failures, checks
    checks += 1
    (tc, terr), (mc, merr) = theirs, mine
    if tc is None and mc is None:
        return
    if (tc is None) != (mc is None):  # one refuses what the other accepts
        failures += 1
        print(f"FAIL {what}: imbalanced-learn {tc or terr!r}, shardpack {mc or merr!r}")
        return
    if tc != mc:
        failures += 1
        print(f"FAIL {what}: imbalanced-learn {tc or terr!r}, shardpack {mc or merr!r}")


for counts in DISTRIBUTIONS:
    names = [f"c{i:02d}" for i in range(len(counts))]
    for kind in ("over", "under"):
        for strategy in STRATEGIES:
            compare(f"{kind} {strategy!r} {counts}", imblearn_counts(kind, strategy, counts),
                    ours(kind, strategy.replace(" ", "_"), counts))
        # Dicts: a valid one, one on the wrong side of a class's size, an unknown class.
        lo, hi = min(counts), max(counts)
        valid = {0: hi + 3} if kind == "over" else {0: max(counts[0] - 1, 0), 1: min(counts[1], lo)}
        wrong = {1: counts[1] - 1} if kind == "over" else {1: counts[1] + 1}
        unknown = {len(counts): 5}
        for d in (valid, wrong, unknown):
            spec = ",".join(f"{names[k] if k < len(names) else 'c99'}:{v}" for k, v in d.items())
            compare(f"{kind} dict {d} {counts}", imblearn_counts(kind, d, counts),
                    ours(kind, "classes", counts, [f"classes={spec}"]))
    # The float is binary-only in imbalanced-learn; shardpack's `ratio` is its
    # generalisation, and equals it on two classes where imbalanced-learn accepts it.
    # Ratios too small for the pair are refused by both (over: ratio x majority under the
    # minority; under: minority / ratio over the majority).
    if len(counts) == 2:
        for ratio in (0.2, 0.25, 0.4, 0.5, 0.75, 0.9, 1.0):
            for kind in ("over", "under"):
                compare(f"{kind} float {ratio} {counts}", imblearn_counts(kind, ratio, counts),
                        ours(kind, "ratio", counts, [f"ratio={ratio}"]))

# One class: imbalanced-learn refuses every strategy; so does shardpack.
for kind in ("over", "under"):
    for strategy in STRATEGIES:
        compare(f"{kind} {strategy!r} [5]", imblearn_counts(kind, strategy, [5]),
                ours(kind, strategy.replace(" ", "_"), [5]))
    compare(f"{kind} float 0.5 [5]", imblearn_counts(kind, 0.5, [5]),
            ours(kind, "ratio", [5], ["ratio=0.5"]))

# The float on a multi-class problem is refused by imbalanced-learn; shardpack's ratio
# there is its documented extension (each class >= floor(ratio x majority)).
mine, _ = ours("over", "ratio", [48, 24, 12, 6], ["ratio=0.5"])
checks += 1
if mine != [48, 24, 24, 24]:
    failures += 1
    print(f"FAIL multi-class ratio 0.5 over [48, 24, 12, 6]: {mine}")
mine, _ = ours("under", "ratio", [48, 24, 12, 6], ["ratio=0.25"])
checks += 1
if mine != [24, 24, 12, 6]:
    failures += 1
    print(f"FAIL multi-class ratio 0.25 under [48, 24, 12, 6]: {mine}")

if failures:
    print(f"{failures} of {checks} comparisons differ")
    sys.exit(1)
print(f"check_imblearn: {checks} comparisons agree with imbalanced-learn")
