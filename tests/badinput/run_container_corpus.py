#!/usr/bin/python3
"""Builds every case of the container corpus (make_container_corpus.py) beside a good
dataset and checks its documented outcome: no crash, no hang (each build runs under
`timeout`), and either the listed samples reported with their reason and a detail naming
the member or manifest line while the good dataset and the case's good members still
build (and, when the case lists them, the run's classes and its records' .cls indexes),
or the run refused (exit 1) with a message naming the input.

    /usr/bin/python3 tests/badinput/run_container_corpus.py SHARDPACK CORPUS_DIR [SECONDS]
"""

import json
import os
import subprocess
import sys
import tarfile

GOOD_RECORDS = 6


def check_labels(out, classes, labels):
    """Each record whose source is in labels (path -> class) has that class in its .json
    and that class's index in the run's class list in its .cls."""
    problems, seen = [], set()
    for name in sorted(os.listdir(out)):
        if not name.endswith(".tar"):
            continue
        with tarfile.open(os.path.join(out, name)) as t:
            files = {m.name: t.extractfile(m).read() for m in t.getmembers() if m.isfile()}
        for key in files:
            if not key.endswith(".json"):
                continue
            rec = json.loads(files[key])
            want = labels.get(rec["source"])
            if want is None:
                continue
            seen.add(rec["source"])
            cls = files.get(key[:-len(".json")] + ".cls", b"").decode()
            if rec["class"] != want or want not in classes or cls != str(classes.index(want)):
                problems.append(f"{rec['source']}: class {rec['class']}, .cls {cls!r}; expected "
                                f"{want}, .cls {classes.index(want) if want in classes else '?'}")
    for path in sorted(set(labels) - seen):
        problems.append(f"no record of {path}")
    return problems


def main():
    sp, corpus = sys.argv[1:3]
    seconds = sys.argv[3] if len(sys.argv) > 3 else "2"
    cases = json.load(open(os.path.join(corpus, "cases.json")))
    failures = []
    for c in cases:
        name = c["name"]
        tag = name.replace("/", "_")
        out = os.path.join(corpus, "out", tag)
        ini = os.path.join(corpus, f"{tag}.ini")
        run = "".join(f"{k} = {v}\n" for k, v in c["run"].items())
        opts = "".join(f"{k} = {v}\n" for k, v in c["options"].items())
        with open(ini, "w") as f:
            f.write(f"[run]\noutput = {out}\n{run}\n[good]\ntype = source\npath = "
                    f"{os.path.join(corpus, 'good')}\n\n[bad]\ntype = source\npath = {c['path']}\n"
                    f"{opts}\n[shards]\ntype = tar\ninput = good, bad\n")
        p = subprocess.run(["timeout", seconds, sp, "build", ini, "-q", "-j", "2", "-o", out],
                           capture_output=True, text=True)
        problems = []
        exp = c["expect"]
        if p.returncode in (124, 137):
            problems.append(f"did not finish within {seconds} s")
        elif p.returncode < 0 or p.returncode > 2:
            problems.append(f"crashed (exit {p.returncode}): {p.stderr[-500:]}")
        elif exp["outcome"] == "refused":
            if p.returncode != 1:
                problems.append(f"exit {p.returncode}, expected 1 (refused)")
            if exp["message"] not in p.stderr:
                problems.append(f"message lacks '{exp['message']}': {p.stderr.strip()}")
            if c["path"].split("/")[-1] not in p.stderr:
                problems.append(f"message does not name the input: {p.stderr.strip()}")
        else:
            if p.returncode != 0:
                problems.append(f"exit {p.returncode}: {p.stderr.strip()}")
            else:
                m = json.load(open(os.path.join(out, "manifest.json")))
                skips = [s for s in m["skipped"] if s["source"] == "bad"]
                if exp["records"] is not None and m["records"] != GOOD_RECORDS + exp["records"]:
                    problems.append(f"{m['records']} records, expected {GOOD_RECORDS} good + "
                                    f"{exp['records']} from the case")
                if m["records"] < GOOD_RECORDS:
                    problems.append(f"the good dataset did not build ({m['records']} records)")
                for want in exp["skips"]:
                    hit = [s for s in skips if s["reason"] == want["reason"] and
                           (want["path"] is None or s["path"] == want["path"]) and
                           want["detail"] in s["detail"]]
                    if not hit:
                        problems.append(f"no skip {want}; got {skips}")
                if "classes" in exp and m["classes"] != exp["classes"]:
                    problems.append(f"classes {m['classes']}, expected {exp['classes']}")
                if "labels" in exp:
                    problems += check_labels(out, exp.get("classes", m["classes"]), exp["labels"])
                if len(skips) != len(exp["skips"]):
                    problems.append(f"{len(skips)} skips reported, expected {len(exp['skips'])}: {skips}")
        status = "ok" if not problems else "FAIL"
        print(f"{status}: {name}: {exp['outcome']}")
        for pr in problems:
            print("   ", pr)
            failures.append(f"{name}: {pr}")
    print(f"{len(cases) - len(set(f.split(':')[0] for f in failures))}/{len(cases)} cases as documented")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
