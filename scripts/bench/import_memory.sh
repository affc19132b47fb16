#!/usr/bin/env bash
# Peak resident memory of `lasthop import` at 1, 5 and 10 GB of conn.log (plain TSV): it should
# stay flat (issue 8: under 10 MiB more per GB), since the reader keeps a fixed number of chunks
# in flight and the writer one open row group per day still receiving records (quiet days are
# flushed). Identity keys of stored records are loaded only for committed parts that overlap the
# file in time (a live log and its rotated copy), never for a fresh store.
#
# Needs about 17 GB of free disk for the default sizes (inputs are generated once and kept).
# Usage: scripts/bench/import_memory.sh [SIZES_GB ("1 5 10")] [WORKDIR]
set -euo pipefail
sizes=${1:-"1 5 10"}
work=${2:-/tmp/lasthop-mem}
root=$(cd "$(dirname "$0")/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
mkdir -p "$work"
(cd "$root" && cargo build --release -p lasthop --features bench)
lasthop="$target/release/lasthop"
# Bytes per record of the generator, from a sample.
"$lasthop" bench-data --records 200000 --out "$work/sample.log"
per_record=$(( $(stat -c %s "$work/sample.log") / 200000 ))
rm -f "$work/sample.log"
results=()
for gb in $sizes; do
  records=$(( gb * 1000000000 / per_record ))
  log="$work/conn-${gb}GB.log"
  [ -f "$log" ] || "$lasthop" bench-data --records "$records" --out "$log"
  rm -rf "$work/store"
  /usr/bin/time -f "%M %e" -o "$work/rss" "$lasthop" import "$log" --store "$work/store" --threads 2 2>"$work/err"
  read -r kib secs < "$work/rss"
  printf '%3d GB (%d records, %s bytes): peak RSS %5d MiB, %6.1f s, %s\n' "$gb" "$records" \
    "$(stat -c %s "$log")" $(( kib / 1024 )) "$secs" "$(grep -o '[0-9.]* records/s' "$work/err" | tail -1)"
  results+=("$gb $(( kib / 1024 ))")
  rm -rf "$work/store"
done
printf '%s\n' "${results[@]}" | python3 -c '
import sys
points = [tuple(map(int, l.split())) for l in sys.stdin if l.strip()]
(g0, m0), (g1, m1) = points[0], points[-1]
if g1 > g0:
    print(f"growth: {(m1 - m0) / (g1 - g0):.1f} MiB per GB of input between {g0} and {g1} GB (flat: under 10)")
'
