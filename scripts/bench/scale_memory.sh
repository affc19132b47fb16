#!/usr/bin/env bash
# Peak resident memory and wall time of `lasthop import` and of `lasthop hunt` (every detector)
# at given sizes of generated conn logs (default 10 and 50 million records), with the default
# memory limit (half the machine) and with --memory-limit 1G; and the per-core throughput the
# executor estimate in docs/scale.md is computed from.
#
# Needs about 9 GB of free disk per 50 M records (input and store are removed after each size).
# Usage: scripts/bench/scale_memory.sh [MILLIONS ("10 50")] [WORKDIR]
set -euo pipefail
sizes=${1:-"10 50"}
work=${2:-/tmp/lasthop-scale}
root=$(cd "$(dirname "$0")/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
mkdir -p "$work"
(cd "$root" && cargo build --release -p lasthop --features bench)
lasthop="$target/release/lasthop"
cores=$(nproc)
run() { # label, command...: prints "label: peak RSS, seconds"; leaves "kib secs" in $work/rss
  local label=$1; shift
  /usr/bin/time -f "%M %e" -o "$work/rss" "$@" >"$work/out" 2>"$work/err" || { cat "$work/err"; exit 1; }
  read -r kib secs < "$work/rss"
  printf '  %-34s peak RSS %6d MiB  %7.1f s\n' "$label" $(( kib / 1024 )) "$secs"
}
for m in $sizes; do
  records=$(( m * 1000000 ))
  log="$work/conn-${m}M.log"
  "$lasthop" bench-data --records "$records" --out "$log" >/dev/null
  bytes=$(stat -c %s "$log")
  echo "$m M records ($(( bytes / 1000000 )) MB of conn.log), $cores cores:"
  rm -rf "$work/store"
  run "import" "$lasthop" import "$log" --store "$work/store"
  read -r _ import_secs < "$work/rss"
  rm -f "$log"
  run "hunt (default memory limit)" "$lasthop" hunt --store "$work/store" --format json --output "$work/findings.json"
  read -r _ hunt_secs < "$work/rss"
  run "hunt --memory-limit 1G" "$lasthop" hunt --store "$work/store" --memory-limit 1G --spill-dir "$work/spill" --format json --output "$work/findings-1g.json"
  python3 - "$records" "$bytes" "$import_secs" "$hunt_secs" "$cores" <<'PY'
import sys
records, size, imp, hunt, cores = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
print(f"  per core: import {size / imp / cores / 1e6:.1f} MB/s ({records / imp / cores / 1e3:.0f} k records/s), "
      f"hunt {records / hunt / cores / 1e3:.0f} k records/s")
PY
  rm -rf "$work/store" "$work/spill"
done
