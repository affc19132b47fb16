#!/usr/bin/env python3
"""Detection-quality sweep over the project's own generator (`lasthop bench-quality-data`).

For each cell of a parameter sweep and each seed: generate a network with threats planted by
parameter, hunt it with `lasthop hunt --format json`, and measure
  - recall: the planted pair is reported (by the beacon detector for beacons; by any detector
    for low-and-slow contact, which may be a beacon or `last-hop-contact`);
  - rank: the best position of a finding about the planted pair in the ranked output;
  - unplanted high+: high and critical findings about nothing planted;
  - for benign plants: how many findings they produced (a shared service should be one, low or
    info; a scanner campaign at most one).
Writes a Markdown table (stdout, or --out FILE).

    cargo build --release -p lasthop --features bench
    scripts/bench/detection_quality.py --lasthop target/release/lasthop --seeds 1 2 3
    scripts/bench/detection_quality.py --quick          # a few cells, one seed
    scripts/bench/detection_quality.py --hosts 30 --from-logs a.log b.log   # merge runs
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

BASE = {"hosts": 60, "days": 21, "background": 40}


def cells(quick):
    """(group, label, generator flags) for every cell of the sweep."""
    out = []
    beacon = {"beacon-period": 300, "beacon-jitter": 0.2, "beacon-span-days": 3,
              "beacon-offset-days": 2}
    for period in ([300, 3600] if quick else [30, 300, 1800, 3600, 21600]):
        span = max(3, 25 * period / 86400)  # at least 20 contacts
        out.append(("beacon period", f"{period} s, span {span:g} d",
                    {**beacon, "beacon-period": period, "beacon-span-days": span}))
    for jitter in ([0.5] if quick else [0.0, 0.2, 0.5, 0.9]):
        out.append(("beacon jitter", f"±{jitter:.0%}", {**beacon, "beacon-jitter": jitter}))
    windows = [(3, 3), (3, 90)] if quick else [(1, 1), (1, 7), (3, 3), (3, 21), (3, 90),
                                                (14, 30), (60, 90)]
    for span, window in windows:
        offset = 0 if span >= window else min(2, window - span)
        out.append(("beacon life in window", f"{span} d in {window} d",
                    {**beacon, "days": window, "beacon-span-days": span,
                     "beacon-offset-days": offset}))
    for hosts in ([2] if quick else [1, 2, 3, 5]):
        out.append(("infected hosts", str(hosts), {**beacon, "beacon-hosts": hosts}))
    for share in ([1.0] if quick else [0.1, 0.2, 0.5, 1.0]):
        out.append(("shared service", f"{share:.0%} of hosts", {"shared-share": share}))
    for per_day in ([4] if quick else [2, 4, 6]):
        out.append(("low and slow", f"{per_day}/day for 21 d", {"low-and-slow": per_day}))
    for sources in ([100] if quick else [10, 100, 500]):
        out.append(("scanners", f"{sources} sources", {"scanners": sources}))
    out.append(("benign only", "no plant", {}))
    return out


def about(finding, pair):
    ent = finding.get("entities", {})
    remote = (ent.get("remote") or {}).get("address")
    ends = {ent.get("source"), ent.get("destination"), ent.get("domain"), remote}
    hosts = set(finding.get("evidence", {}).get("figures", {}).get("hosts", []) or [])
    sources = set(pair["sources"])
    return bool(ends & set(pair["targets"])) and bool((ends | hosts) & sources)


def run_cell(lasthop, flags, seed, work):
    args = {**BASE, **flags}
    cmd = [lasthop, "bench-quality-data", "--out", work, "--seed", str(seed)]
    for k, v in args.items():
        cmd += [f"--{k}", str(v)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    planted = json.load(open(os.path.join(work, "planted.json")))
    started = time.time()
    hunt = subprocess.run(
        [lasthop, "hunt", os.path.join(work, "logs"), "--format", "json",
         "--no-bundled-intel"],
        check=False, capture_output=True, text=True)
    if hunt.returncode not in (0, 1):
        raise RuntimeError(hunt.stderr[-2000:])
    findings = json.loads(hunt.stdout or "[]")
    elapsed = time.time() - started
    result = {"findings": len(findings), "seconds": elapsed, "planted": [], "benign": []}
    planted_any = planted["planted"]
    for pair in planted_any:
        ranks = [i + 1 for i, f in enumerate(findings) if about(f, pair)
                 and (pair["kind"] != "beacon" or f["detector"] == "beacon")]
        result["planted"].append({"kind": pair["kind"], "found": bool(ranks),
                                  "rank": min(ranks) if ranks else None,
                                  "contacts": pair["contacts"]})
    for pair in planted["benign"]:
        if pair["kind"] == "scanners":
            sources = set(pair["sources"])
            n = sum(1 for f in findings if f.get("entities", {}).get("source") in sources
                    or f["detector"] == "scanning-campaign")
        else:
            n = sum(1 for f in findings if about(f, pair))
        high = sum(1 for f in findings if about(f, pair)
                   and f["severity"] in ("high", "critical"))
        result["benign"].append({"kind": pair["kind"], "findings": n, "high": high})
    unplanted = [f for f in findings if f["severity"] in ("high", "critical")
                 and not any(about(f, p) for p in planted_any)]
    result["unplanted_high"] = len(unplanted)
    result["unplanted_titles"] = [f["title"] for f in unplanted[:5]]
    return result


def table(runs, hosts, quick=False):
    """The Markdown table of `runs` ({(group, cell): {seed: result}}), in sweep order."""
    rows = []
    for group, label, flags in cells(quick):
        by_seed = runs.get((group, label))
        if not by_seed:
            continue
        seeds = sorted(by_seed)
        results = [by_seed[s] for s in seeds]
        weeks = hosts / 50 * flags.get("days", BASE["days"]) / 7
        planted = [p for r in results for p in r["planted"]]
        found = sum(p["found"] for p in planted)
        recall = f"{found}/{len(planted)}" if planted else "–"
        ranks = [p["rank"] for p in planted if p["rank"]]
        rank = ", ".join(str(x) for x in ranks) if planted else "–"
        benign = [b for r in results for b in r["benign"]]
        benign_text = ", ".join(f"{b['findings']} ({b['high']} high+)" for b in benign) or "–"
        unplanted = [r["unplanted_high"] for r in results]
        per = sum(unplanted) / len(unplanted) / weeks
        rows.append(f"| {group} | {label} | {', '.join(map(str, seeds))} | {recall} | {rank} | "
                    f"{benign_text} | {', '.join(map(str, unplanted))} | {per:.2f} |")
    head = ["| sweep | cell | seeds | recall | rank of planted pair (per seed) | "
            "findings from benign plant (high+) | unplanted high+ (per seed) | "
            "per 50 hosts per week |",
            "|---|---|---|---|---|---|---|---|"]
    return "\n".join(head + rows) + "\n"


def read_logs(paths):
    """Runs from earlier sweeps' progress lines (stderr: `group / cell / seed N: {json}`)."""
    runs = {}
    for path in paths:
        for line in open(path):
            key, sep, payload = line.partition(": ")
            parts = key.split(" / ")
            if not sep or len(parts) != 3 or not parts[2].startswith("seed "):
                continue
            runs.setdefault((parts[0], parts[1]), {})[int(parts[2][5:])] = json.loads(payload)
    return runs


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lasthop", default="target/release/lasthop")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out")
    ap.add_argument("--json", help="also write every run's raw result here")
    ap.add_argument("--hosts", type=int, default=BASE["hosts"])
    ap.add_argument("--days", type=int, default=BASE["days"], help="window unless a cell sets it")
    ap.add_argument("--background", type=int, default=BASE["background"],
                    help="background connections per host per day")
    ap.add_argument("--only", nargs="+",
                    help="run only the cells whose 'sweep / cell' contains one of these")
    ap.add_argument("--skip", nargs="+", default=[],
                    help="skip the cells whose 'sweep / cell' contains one of these")
    ap.add_argument("--from-logs", nargs="+", metavar="LOG",
                    help="run nothing: merge the progress lines (stderr) of earlier runs at "
                         "--hosts into one table")
    a = ap.parse_args()
    BASE.update(hosts=a.hosts, days=a.days, background=a.background)
    if a.from_logs:
        text = table(read_logs(a.from_logs), a.hosts)
    else:
        runs, raw = {}, []
        for group, label, flags in cells(a.quick):
            name = f"{group} / {label}"
            if (a.only and not any(o in name for o in a.only)) or any(k in name for k in a.skip):
                continue
            for seed in a.seeds:
                with tempfile.TemporaryDirectory() as work:
                    r = run_cell(a.lasthop, flags, seed, work)
                runs.setdefault((group, label), {})[seed] = r
                raw.append({"group": group, "cell": label, "seed": seed, **r})
                print(f"{name} / seed {seed}: {json.dumps(r)}", file=sys.stderr)
        text = table(runs, a.hosts, a.quick)
        if a.json:
            json.dump(raw, open(a.json, "w"), indent=1)
    if a.out:
        open(a.out, "w").write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
