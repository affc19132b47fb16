#!/usr/bin/env python3
"""Behaviour check: two lasthop binaries must find the same things.

Hunts the seeded demo and every capture folder under the shared data (Zeek logs and web-server
logs) with each binary, each into its own fresh store, and compares the findings the store keeps
(`findings.jsonl`): the same findings in the same order, with the same ids, scores, titles,
entities, times, evidence and explanations. Only `status` is left out: it records when the run
happened.

    scripts/compare_findings.py BEFORE_BINARY AFTER_BINARY [--data ../shared/data] [--keep DIR]

`--float-tolerance 1e-12` lets floats differ in their last digits (a float sum's order), for
comparing with a binary that summed in the threads' order.

Exit status 0 when every input agrees, 1 when one differs (its first difference is printed),
2 on a usage error. A folder that one binary cannot hunt counts as a difference only if the other
can.
"""

import argparse
import json
import pathlib
import shutil
import subprocess
import sys
import tempfile

def is_log(f: pathlib.Path) -> bool:
    name = f.name.lower()
    return f.is_file() and (".log" in name or name.endswith((".json", ".json.gz", "access_log.txt")))


def inputs(data: pathlib.Path):
    """The demo, then every folder of logs (a folder of dated folders is one rotated tree), in a
    stable order."""
    yield "demo (seed 7, 40 hosts, 3 days)", None
    roots = [data / "zeek", data / "web"]
    pending = list(roots)
    found = []
    while pending:
        folder = pending.pop()
        if not folder.is_dir():
            continue
        children = sorted(folder.iterdir())
        dated = [c for c in children if c.is_dir() and c.name[:4].isdigit() and "-" in c.name]
        if folder not in roots and (dated or any(is_log(c) for c in children)):
            found.append(folder)
        else:
            pending.extend(c for c in children if c.is_dir())
    for folder in sorted(found):
        yield str(folder.relative_to(data)), folder


def hunt(binary: str, folder, work: pathlib.Path):
    """Runs one hunt; returns (findings without status, stderr tail) or (None, error)."""
    store = work / "store"
    if folder is None:
        command = [binary, "demo", "--out", str(work / "demo"), "--hosts", "40", "--days", "3",
                   "--format", "ndjson"]
        store = work / "demo" / "store"
    else:
        command = [binary, "hunt", str(folder), "--store", str(store), "--format", "ndjson",
                   "-o", str(work / "out.ndjson")]
    run = subprocess.run(command, capture_output=True, text=True)
    findings_file = store / "findings.jsonl"
    if run.returncode not in (0, 1) or not findings_file.exists():
        return None, run.stderr.strip().splitlines()[-3:]
    findings = []
    for line in findings_file.read_text().splitlines():
        finding = json.loads(line)
        finding.pop("status", None)
        findings.append(finding)
    return findings, None


def first_difference(a, b, path="$", tolerance=0.0):
    if isinstance(a, float) and isinstance(b, float) and tolerance > 0:
        close = abs(a - b) <= tolerance * max(abs(a), abs(b))
        return None if close else f"{path}: {a!r} != {b!r}"
    if type(a) is not type(b):
        return f"{path}: {json.dumps(a)[:200]} != {json.dumps(b)[:200]}"
    if isinstance(a, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return f"{path}.{key}: present in only one"
            d = first_difference(a[key], b[key], f"{path}.{key}", tolerance)
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, f"{path}[{i}]", tolerance)
            if d:
                return d
        return None
    return None if a == b else f"{path}: {json.dumps(a)[:200]} != {json.dumps(b)[:200]}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--data", default=str(pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--keep", help="keep the stores here instead of a temporary folder")
    parser.add_argument("--float-tolerance", type=float, default=0.0,
                        help="floats this close (relative) count as equal; default exact")
    parser.add_argument("--only", nargs="+", default=[],
                        help="only the inputs whose name contains one of these")
    args = parser.parse_args()
    data = pathlib.Path(args.data)
    if not data.is_dir():
        print(f"no shared data at {data}", file=sys.stderr)
        return 2
    base = pathlib.Path(args.keep or tempfile.mkdtemp(prefix="lasthop-compare-"))
    differing = 0
    total_findings = 0
    for n, (name, folder) in enumerate(inputs(data)):
        if args.only and not any(o in name for o in args.only):
            continue
        results = []
        for side, binary in (("before", args.before), ("after", args.after)):
            work = base / f"{n:03d}-{side}"
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            results.append(hunt(binary, folder, work))
        (before, before_err), (after, after_err) = results
        if before is None and after is None:
            print(f"skip  {name}: neither binary hunts it ({before_err})")
            continue
        if before is None or after is None:
            differing += 1
            print(f"DIFF  {name}: only one binary hunts it: {before_err or after_err}")
            continue
        difference = None
        if len(before) != len(after):
            difference = f"{len(before)} findings before, {len(after)} after"
        for i, (x, y) in enumerate(zip(before, after)):
            if difference:
                break
            d = first_difference(x, y, f"finding {i} ({x.get('id')})", args.float_tolerance)
            difference = d
        total_findings += len(before)
        if difference:
            differing += 1
            print(f"DIFF  {name}: {difference}")
        else:
            print(f"same  {name}: {len(before)} findings")
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    try:
        print(f"{differing} input(s) differ; {total_findings} findings compared")
    except BrokenPipeError:
        pass
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
