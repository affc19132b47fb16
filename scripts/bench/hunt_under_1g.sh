#!/usr/bin/env bash
# `lasthop hunt` on a generated 10 GB conn log (import included) held to 1 GiB of memory by the
# kernel, not only by lasthop's own accounting: the hunt runs in a cgroup (v1 or v2) whose
# memory limit is 1 GiB with swap off, so going over means the OOM killer, not a slow finish.
# Prints peak memory (the cgroup's high-water mark and the process's peak RSS), wall time and
# the findings.
#
# Needs root (to make the cgroup) and about 2.2× the input size of free disk (input, store,
# spills); it checks before writing anything.
# Usage: scripts/bench/hunt_under_1g.sh [GIGABYTES (10)] [WORKDIR (/tmp/lasthop-1g)] [LIMIT (1G)]
set -euo pipefail
gigabytes=${1:-10}
work=${2:-/tmp/lasthop-1g}
limit=${3:-1G}
root=$(cd "$(dirname "$0")/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
mkdir -p "$work"
need_kb=$(( gigabytes * 1024 * 1024 * 22 / 10 ))
free_kb=$(df -Pk "$work" | awk 'NR == 2 { print $4 }')
if (( free_kb < need_kb )); then
  echo "need $(( need_kb / 1024 / 1024 )) GiB free in $work, have $(( free_kb / 1024 / 1024 )) GiB" >&2
  exit 1
fi
(cd "$root" && cargo build --release -p lasthop --features bench)
lasthop="$target/release/lasthop"
limit_bytes=$(numfmt --from=iec "$limit")

# A cgroup to hold the hunt (v2 if mounted so, else v1's memory controller).
group=lasthop-hunt-$$
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  cg=/sys/fs/cgroup/$group; mkdir "$cg"
  echo "$limit_bytes" > "$cg/memory.max"; echo 0 > "$cg/memory.swap.max" 2>/dev/null || true
  peak_file=$cg/memory.peak
else
  cg=/sys/fs/cgroup/memory/$group; mkdir "$cg"
  echo "$limit_bytes" > "$cg/memory.limit_in_bytes"
  echo "$limit_bytes" > "$cg/memory.memsw.limit_in_bytes" 2>/dev/null || true
  peak_file=$cg/memory.max_usage_in_bytes
fi
trap 'rmdir "$cg" 2>/dev/null || true' EXIT

# The input: conn records until the file holds the asked-for gigabytes.
log="$work/conn.log"
"$lasthop" bench-data --records 100000 --out "$work/sample.log" >/dev/null
per_record=$(( $(stat -c %s "$work/sample.log") / 100000 ))
records=$(( gigabytes * 1000000000 / per_record ))
rm -f "$work/sample.log"
[ -f "$log" ] && [ "$(stat -c %s "$log")" -ge $(( gigabytes * 990000000 )) ] ||
  "$lasthop" bench-data --records "$records" --out "$log" >/dev/null
echo "input: $(( $(stat -c %s "$log") / 1000000 )) MB, $records conn records; memory held to $limit"

rm -rf "$work/store" "$work/spill"; mkdir -p "$work/spill"
export LASTHOP_TRACE=1  # each detector's time and peak memory, in the log
start=$(date +%s)
set +e
sh -c 'echo $$ > "$1/cgroup.procs"; shift; exec /usr/bin/time -f "%M" -o "$0" "$@"' \
  "$work/rss" "$cg" "$lasthop" hunt "$log" --store "$work/store" --memory-limit "$limit" \
  --spill-dir "$work/spill" --format json --output "$work/findings.json" 2> "$work/err"
status=$?
set -e
secs=$(( $(date +%s) - start ))
grep -E "^(trace|imported|history)" "$work/err" || true; tail -2 "$work/err"
peak=$(cat "$peak_file")
# /usr/bin/time writes "Command terminated by signal 9" before the figure when the OOM killer
# ended the hunt.
rss_kib=$(tail -1 "$work/rss" 2>/dev/null || echo 0)
grep -q "signal" "$work/rss" 2>/dev/null && echo "the hunt was killed: $(head -1 "$work/rss")"
echo "exit $status after ${secs} s; cgroup peak $(( peak / 1048576 )) MiB (page cache included), process peak RSS $(( rss_kib / 1024 )) MiB"
[ "$status" -eq 0 ] || { echo "the hunt did not complete under $limit" >&2; exit 1; }
python3 -c 'import json,sys,collections; f=json.load(open(sys.argv[1])); print(len(f), "findings:", dict(collections.Counter(x["detector"] for x in f)))' "$work/findings.json"
rm -rf "$work/store" "$work/spill"
