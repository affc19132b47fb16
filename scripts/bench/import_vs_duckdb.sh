#!/usr/bin/env bash
# Import benchmark: lasthop vs DuckDB turning a Zeek conn.log (plain and gzip) into Parquet.
#
# Same work on both sides: read the TSV (skipping Zeek's # header lines), type the columns
# (timestamps, integers, floats, booleans), write zstd-compressed Parquet; 2 threads each.
# Differences to bear in mind: lasthop also parses addresses into 16-byte form, keeps the line
# number and source of every record and hashes its identity for deduplication; DuckDB keeps
# addresses as text.
#
# Usage: [ROUNDS=3] scripts/bench/import_vs_duckdb.sh [RECORDS] [WORKDIR]
# Each round runs every command once, in turn; the report gives medians over the rounds.
set -euo pipefail
records=${1:-5000000}
work=${2:-/tmp/lasthop-bench}
root=$(cd "$(dirname "$0")/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
mkdir -p "$work"
command -v hyperfine >/dev/null || { echo "needs hyperfine (apt-get install hyperfine)"; exit 1; }
python3 -c "import duckdb" 2>/dev/null || pip install duckdb
# LASTHOP_BIN=path measures that binary instead of building this tree (before/after comparisons).
if [ -n "${LASTHOP_BIN:-}" ]; then
  lasthop=$LASTHOP_BIN
else
  (cd "$root" && cargo build --release -p lasthop --features bench)
  lasthop="$target/release/lasthop"
fi

[ -f "$work/conn.log" ] || "$lasthop" bench-data --records "$records" --out "$work/conn.log"
[ -f "$work/conn.log.gz" ] || "$lasthop" bench-data --records "$records" --out "$work/conn.log.gz" --gzip

cat > "$work/duck.py" <<'PY'
import sys, duckdb
src, out = sys.argv[1], sys.argv[2]
con = duckdb.connect()
con.execute("SET threads TO 2")
cols = ("ts DOUBLE, uid VARCHAR, orig_h VARCHAR, orig_p USMALLINT, resp_h VARCHAR, resp_p USMALLINT, proto VARCHAR, "
        "service VARCHAR, duration DOUBLE, orig_bytes UBIGINT, resp_bytes UBIGINT, conn_state VARCHAR, local_orig VARCHAR, "
        "local_resp VARCHAR, missed_bytes UBIGINT, history VARCHAR, orig_pkts UBIGINT, orig_ip_bytes UBIGINT, resp_pkts UBIGINT, "
        "resp_ip_bytes UBIGINT, tunnel_parents VARCHAR, community_id VARCHAR")
names = [c.split()[0] for c in cols.split(", ")]
columns = "{" + ", ".join(f"'{c.split()[0]}': '{' '.join(c.split()[1:])}'" for c in cols.split(", ")) + "}"
select = ", ".join(
    "make_timestamp(CAST(ts * 1000000 AS BIGINT)) AS ts" if n == "ts" else
    f"{n} = 'T' AS {n}" if n in ("local_orig", "local_resp") else
    f"string_split(NULLIF({n}, '(empty)'), ',') AS {n}" if n == "tunnel_parents" else n
    for n in names)
con.execute(f"""COPY (SELECT {select} FROM read_csv('{src}', auto_detect=false, delim='\t', comment='#', header=false, nullstr='-',
    quote='', escape='', columns={columns}, parallel=true))
    TO '{out}' (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1)""")
PY

# The engines take turns, one run each per round, so that a shared machine's speed drifting
# over minutes moves every engine alike; each round's ratios are then from the same minute.
rounds=${ROUNDS:-3}
for round in $(seq 0 "$rounds"); do
  # Round 0 warms the page cache and is not counted.
  hyperfine --runs 1 --export-json "$work/results-$round.json" \
    --prepare "rm -rf $work/store" -n "lasthop plain" "$lasthop import $work/conn.log --store $work/store --threads 2" \
    --prepare "rm -rf $work/store" -n "lasthop gzip" "$lasthop import $work/conn.log.gz --store $work/store --threads 2" \
    --prepare "rm -f $work/duck.parquet" -n "duckdb plain" "python3 $work/duck.py $work/conn.log $work/duck.parquet" \
    --prepare "rm -f $work/duck.parquet" -n "duckdb gzip" "python3 $work/duck.py $work/conn.log.gz $work/duck.parquet" \
    --prepare true -n "python startup" "python3 -c 'import duckdb; duckdb.connect()'" >/dev/null
done

# Row counts must agree.
"$lasthop" import "$work/conn.log" --store "$work/store-check" --threads 2 2>/dev/null || true
ours=$("$lasthop" sql "SELECT count(*) AS n FROM conn" --store "$work/store-check" --format csv | tail -1)
python3 "$work/duck.py" "$work/conn.log" "$work/duck.parquet"
theirs=$(python3 -c "import duckdb; print(duckdb.sql(\"SELECT count(*) FROM '$work/duck.parquet'\").fetchall()[0][0])")
rm -rf "$work/store-check"
echo "rows: lasthop $ours, duckdb $theirs"
[ "$ours" = "$theirs" ] || { echo "ROW COUNTS DIFFER"; exit 1; }

# Peak resident memory of each, one more run on the plain file.
rm -rf "$work/store"
/usr/bin/time -f "%M" -o "$work/rss-lasthop" "$lasthop" import "$work/conn.log" --store "$work/store" --threads 2 2>/dev/null
/usr/bin/time -f "%M" -o "$work/rss-duckdb" python3 "$work/duck.py" "$work/conn.log" "$work/duck.parquet"
rm -rf "$work/store"

bytes=$(stat -c %s "$work/conn.log")
python3 - "$work" "$records" "$bytes" "$rounds" <<'PY'
import json, statistics, sys
work, records, size, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
per_round = [{r["command"]: r["mean"] for r in json.load(open(f"{work}/results-{i}.json"))["results"]}
             for i in range(1, rounds + 1)]
med = {name: statistics.median(r[name] for r in per_round) for name in per_round[0]}
# DuckDB runs in Python: its start and `import duckdb` are timed apart and also taken off.
startup = med.pop("python startup")
rss = {e: int(open(f"{work}/rss-{e}").read().split()[-1]) // 1024 for e in ("lasthop", "duckdb")}
for name, t in med.items():
    print(f"{name:14s} median {t:7.2f} s  {records / t / 1e6:6.2f} M records/s  {size / t / 1e6:7.1f} MB/s")
for kind in ("plain", "gzip"):
    ours, theirs = med['lasthop ' + kind], med['duckdb ' + kind]
    rounds_ratios = ", ".join(f"{r['duckdb ' + kind] / r['lasthop ' + kind]:.2f}" for r in per_round)
    print(f"{kind}: lasthop is {theirs / ours:.2f}x DuckDB's speed "
          f"({(theirs - startup) / ours:.2f}x without Python's {startup:.2f} s start; "
          f"round by round {rounds_ratios})")
print(f"peak RSS (plain): lasthop {rss['lasthop']} MiB, duckdb {rss['duckdb']} MiB")
# For scripts/bench/run_all.sh: benchmark|engine|seconds|records|peak MiB (plain runs only)
for name, t in med.items():
    engine, kind = name.split()
    print(f"RESULT|import ({kind})|{engine}|{t:.3f}|{records}|{rss[engine] if kind == 'plain' else ''}")
PY
