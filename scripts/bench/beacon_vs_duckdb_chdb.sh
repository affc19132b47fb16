#!/usr/bin/env bash
# Beacon statistics benchmark: lasthop vs DuckDB vs chdb (in-process ClickHouse, RITA's engine).
#
# Same work, end to end from the raw Zeek conn.log: per (source, destination) pair, the gaps
# between consecutive connections, their quartiles and median absolute deviation (type-7
# quantiles: DuckDB quantile_cont, ClickHouse quantileExactInclusive, lasthop's stats module).
# lasthop = `bench-gap-stats --logs` (the raw log read with only the columns the query needs,
# then its streaming per-pair sort and scan, the engine of the beacon detector); DuckDB = window
# lag + quantiles; chdb = groupArray + array functions, as RITA does. Every engine on 2 threads.
# Outputs are compared pair by pair (to 1e-5 s: timestamps are parsed as doubles). Each engine
# has one warm-up run, then the median of three: on this VM the first process to touch fresh
# memory after another workload pays seconds of system time (measured: lasthop 6.5 s and DuckDB
# 6.1 s of system time in a first run, 0.7-0.9 s in the next).
# Also timed, for information: the same statistics by way of a store (`import` then
# `bench-gap-stats --store`), and `lasthop hunt` (every detector) on that store.
#
# Usage: scripts/bench/beacon_vs_duckdb_chdb.sh [RECORDS] [WORKDIR]
set -euo pipefail
records=${1:-10000000}
work=${2:-/tmp/lasthop-beacon-bench}
root=$(cd "$(dirname "$0")/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
mkdir -p "$work"
command -v hyperfine >/dev/null || { echo "needs hyperfine (apt-get install hyperfine)"; exit 1; }
python3 -c "import duckdb" 2>/dev/null || pip install duckdb
python3 -c "import chdb" 2>/dev/null || pip install chdb
# LASTHOP_BIN=path measures that binary instead of building this tree (before/after comparisons).
if [ -n "${LASTHOP_BIN:-}" ]; then
  lasthop=$LASTHOP_BIN
else
  (cd "$root" && cargo build --release -p lasthop --features bench)
  lasthop="$target/release/lasthop"
fi
[ -f "$work/conn.log" ] || "$lasthop" bench-data --records "$records" --out "$work/conn.log"

cat > "$work/duck.py" <<'PY'
import sys, duckdb
src, out = sys.argv[1], sys.argv[2]
con = duckdb.connect()
con.execute("SET threads TO 2")
con.execute(f"""COPY (
  WITH c AS (SELECT column02 AS src, column04 AS dst, CAST(column00 AS DOUBLE) AS ts
             FROM read_csv('{src}', auto_detect=false, delim='\t', comment='#', header=false,
                           quote='', escape='', columns={{{", ".join(f"'column{i:02d}': 'VARCHAR'" for i in range(22))}}})),
       g AS (SELECT src, dst, ts - lag(ts) OVER (PARTITION BY src, dst ORDER BY ts) AS gap FROM c),
       s AS (SELECT src, dst, count(gap) AS gaps, quantile_cont(gap, 0.25) AS q1,
                    quantile_cont(gap, 0.5) AS median, quantile_cont(gap, 0.75) AS q3
             FROM g WHERE gap IS NOT NULL GROUP BY src, dst)
  SELECT s.src, s.dst, s.gaps, s.q1, s.median, s.q3, quantile_cont(abs(g.gap - s.median), 0.5) AS mad
  FROM g JOIN s USING (src, dst) WHERE g.gap IS NOT NULL
  GROUP BY s.src, s.dst, s.gaps, s.q1, s.median, s.q3
) TO '{out}' (HEADER, DELIMITER ',')""")
PY

cat > "$work/ch.py" <<'PY'
import sys, chdb
src, out = sys.argv[1], sys.argv[2]
cols = ", ".join(f"c{i:02d} String" for i in range(22))
query = f"""
SELECT src, dst, length(d) AS gaps, q[1] AS q1, q[2] AS median, q[3] AS q3,
       arrayReduce('quantileExactInclusive(0.5)', arrayMap(x -> abs(x - q[2]), d)) AS mad
FROM (
  SELECT src, dst, arrayPopFront(arrayDifference(arraySort(groupArray(ts)))) AS d,
         arrayReduce('quantilesExactInclusive(0.25, 0.5, 0.75)', d) AS q
  FROM (SELECT c02 AS src, c04 AS dst, toFloat64(c00) AS ts
        FROM file('{src}', 'TSV', '{cols}') WHERE NOT startsWith(c00, '#'))
  GROUP BY src, dst HAVING count() >= 2
)
INTO OUTFILE '{out}' TRUNCATE FORMAT CSVWithNames
SETTINGS max_threads = 2, input_format_tsv_allow_variable_number_of_columns = 1,
         input_format_allow_errors_ratio = 0.001
"""
chdb.query(query)
PY

hyperfine --warmup 1 --runs 3 --export-json "$work/results.json" \
  -n "lasthop" "$lasthop bench-gap-stats --logs $work/conn.log --out $work/lasthop.csv" \
  -n "duckdb" "python3 $work/duck.py $work/conn.log $work/duck.csv" \
  -n "chdb" "python3 $work/ch.py $work/conn.log $work/ch.csv"

# Peak memory of each, one more run.
for engine in lasthop duckdb chdb; do
  case $engine in
    lasthop) cmd="$lasthop bench-gap-stats --logs $work/conn.log --out $work/lasthop-mem.csv";;
    duckdb) cmd="python3 $work/duck.py $work/conn.log $work/duck-mem.csv";;
    chdb) cmd="python3 $work/ch.py $work/conn.log $work/ch-mem.csv";;
  esac
  rm -rf "$work/store-mem"
  eval /usr/bin/time -f "%M" -o "$work/rss-$engine" $cmd >/dev/null 2>&1 || true
done
rm -rf "$work/store"
/usr/bin/time -f "%e %M" -o "$work/via-store" sh -c "$lasthop import $work/conn.log --store $work/store --threads 2 2>/dev/null && $lasthop bench-gap-stats --store $work/store --out $work/lasthop-store.csv 2>/dev/null"
/usr/bin/time -f "%e %M" -o "$work/hunt" "$lasthop" hunt --store "$work/store" --format ndjson -o "$work/findings.ndjson" 2>/dev/null || true
rm -rf "$work/store-mem"

python3 - "$work" "$records" <<'PY'
import csv, json, sys
work, records = sys.argv[1], int(sys.argv[2])
def load(name):
    with open(f"{work}/{name}") as f:
        return {(r["src"], r["dst"]): tuple(float(r[k]) for k in ("gaps", "q1", "median", "q3", "mad")) for r in csv.DictReader(f)}
ours, duck, ch, stored = load("lasthop.csv"), load("duck.csv"), load("ch.csv"), load("lasthop-store.csv")
def compare(a, b, name):
    keys = set(a) | set(b)
    bad = [k for k in keys if k not in a or k not in b or any(abs(x - y) > 1e-5 for x, y in zip(a[k], b[k]))]
    print(f"lasthop vs {name}: {len(keys)} pairs, {len(bad)} differ" + (f", e.g. {bad[0]}: {a.get(bad[0])} vs {b.get(bad[0])}" if bad else ""))
    return not bad
ok = compare(ours, duck, "duckdb") & compare(ours, ch, "chdb") & compare(ours, stored, "lasthop by way of a store")
med = {r["command"]: r["median"] for r in json.load(open(f"{work}/results.json"))["results"]}
rss = {e: int(open(f"{work}/rss-{e}").read().split()[-1]) // 1024 for e in ("lasthop", "duckdb", "chdb")}
for name, t in med.items():
    print(f"{name:8s} {t:7.2f} s  {records / t / 1e6:5.2f} M records/s  peak RSS {rss[name]} MiB")
best = min(med["duckdb"], med["chdb"])
print(f"lasthop is {best / med['lasthop']:.2f}x the faster of DuckDB and chdb")
for name, t in med.items():
    print(f"RESULT|per-pair gap statistics|{name}|{t:.3f}|{records}|{rss[name]}")
via = open(f"{work}/via-store").read().split("\n")[-2].split()
print(f"(lasthop by way of a store, import then bench-gap-stats --store: {float(via[0]):.1f} s, peak RSS {int(via[1]) // 1024} MiB)")
hunt = open(f"{work}/hunt").read().split("\n")[-2].split()
print(f"(lasthop hunt, every detector, on the imported store: {float(hunt[0]):.1f} s, peak RSS {int(hunt[1]) // 1024} MiB)")
sys.exit(0 if ok else 1)
PY
