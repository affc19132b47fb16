#!/usr/bin/env bash
# Peak resident memory of `lasthop import` at two input sizes: it should stay roughly flat,
# since the reader keeps a fixed number of chunks in flight and the writer one open row group per
# day still receiving records (quiet days are flushed). Identity keys of stored records are
# loaded only for committed parts that overlap the file in time (a live log and its rotated
# copy), never for a fresh store.
#
# Usage: scripts/bench/import_memory.sh [SMALL_RECORDS] [LARGE_RECORDS] [WORKDIR]
set -euo pipefail
small=${1:-1000000}
large=${2:-10000000}
work=${3:-/tmp/lasthop-mem}
root=$(cd "$(dirname "$0")/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
mkdir -p "$work"
(cd "$root" && cargo build --release -p lasthop)
lasthop="$target/release/lasthop"
for n in "$small" "$large"; do
  [ -f "$work/conn-$n.log.gz" ] || "$lasthop" bench-data --records "$n" --out "$work/conn-$n.log.gz" --gzip
  rm -rf "$work/store"
  /usr/bin/time -f "%M" -o "$work/rss" "$lasthop" import "$work/conn-$n.log.gz" --store "$work/store" --threads 2 2>"$work/err"
  printf '%10d records: peak RSS %6d MiB  (%s)\n' "$n" $(( $(cat "$work/rss") / 1024 )) "$(grep -o '[0-9.]* records/s' "$work/err")"
done
rm -rf "$work/store"
