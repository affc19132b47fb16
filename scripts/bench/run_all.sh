#!/usr/bin/env bash
# Every benchmark, each side by side with its peer from the same run, then one table of ratios:
#   import                    lasthop vs DuckDB             (scripts/bench/import_vs_duckdb.sh)
#   per-pair gap statistics   lasthop vs DuckDB vs chdb     (scripts/bench/beacon_vs_duckdb_chdb.sh)
#   Sigma webserver rules     lasthop vs rsigma             (scripts/bench/sigma_vs_rsigma.sh)
# Each script checks that the engines' outputs agree (row counts, per-pair statistics, rule
# matches) and fails when they do not. Times are wall seconds (hyperfine medians for import);
# memory is peak resident set.
#
# Usage: scripts/bench/run_all.sh [CONN_RECORDS (10000000)] [WEB_LINES (1000000)] [WORKDIR]
set -euo pipefail
records=${1:-10000000}
lines=${2:-1000000}
work=${3:-/tmp/lasthop-bench-all}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"
"$here/import_vs_duckdb.sh" "$records" "$work/import" | tee "$work/import.txt"
"$here/beacon_vs_duckdb_chdb.sh" "$records" "$work/beacon" | tee "$work/beacon.txt"
"$here/sigma_vs_rsigma.sh" "$lines" "$work/sigma" | tee "$work/sigma.txt"
echo
grep -h '^RESULT|' "$work/import.txt" "$work/beacon.txt" "$work/sigma.txt" | python3 -c '
import sys
rows = [l.rstrip("\n").split("|")[1:] for l in sys.stdin]
ours = {r[0]: float(r[2]) for r in rows if r[1] == "lasthop"}
header = ("benchmark", "engine", "seconds", "M items/s", "peak MiB", "lasthop speed-up")
print("%-34s %-8s %8s %10s %9s %17s" % header)
for bench, engine, secs, items, mib in rows:
    t = float(secs)
    ratio = "" if engine == "lasthop" else "%.2fx" % (t / ours[bench])
    print("%-34s %-8s %8.2f %10.2f %9s %17s" % (bench, engine, t, int(items) / t / 1e6, mib or "-", ratio))
'
