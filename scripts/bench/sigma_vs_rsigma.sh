#!/usr/bin/env bash
# Sigma benchmark: lasthop's columnar engine vs rsigma (0.22, the release that builds on rustc
# 1.95) running the bundled webserver rules over the same web-server log events.
#
# Same work on both sides, each pinned to one core (taskset -c 0):
#   lasthop  `rules match`: parses the access log (combined format) into Arrow batches and
#            evaluates every rule on them, column by column.
#   rsigma   `engine eval`: parses the same events as NDJSON (written by lasthop from its own
#            parse, so the field values are identical) and evaluates every rule on each event.
# Parsing is counted for both (each parses its own input format). Only rules both compile are
# run (all of lasthop's bundled webserver rules compile in rsigma). lasthop runs once with text
# decoding off, for identical matches (rsigma does not decode), and once as shipped; the
# (rule, line) matches of the first must equal rsigma's, or the script fails. Finally lasthop on
# two cores.
#
# Usage: scripts/bench/sigma_vs_rsigma.sh [LINES] [WORKDIR]
set -euo pipefail
lines=${1:-1000000}
work=${2:-/tmp/lasthop-sigma-bench}
root=$(cd "$(dirname "$0")/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
mkdir -p "$work"
command -v rsigma >/dev/null || cargo install rsigma@0.22.0 --locked
(cd "$root" && cargo build --release -p lasthop --features bench)
lasthop="$target/release/lasthop"

[ -f "$work/access.log" ] || "$lasthop" bench-data --web --records "$lines" --out "$work/access.log"
[ -f "$work/events.ndjson" ] ||
    "$lasthop" bench-sigma-events "$work/access.log" --out "$work/events.ndjson" --rules-out "$work/rules.yml"
events=$(wc -l < "$work/events.ndjson")
rules=$(grep -c '^title:' "$work/rules.yml")
echo "events: $events, webserver rules: $rules ($(du -h "$work/access.log" | cut -f1) of log, $(du -h "$work/events.ndjson" | cut -f1) as NDJSON)"

seconds() { # command... → wall seconds, output to $work/out.txt, peak RSS (KiB) to $work/rss
    local start end
    start=$(date +%s.%N)
    /usr/bin/time -f "%M" -o "$work/rss" "$@" > "$work/out.txt" 2> "$work/err.txt"
    end=$(date +%s.%N)
    echo "$end - $start" | bc
}
rss_mib() { echo $(( $(tail -1 "$work/rss") / 1024 )); }

# lasthop, one core, decoding off: the comparable run, with its matches kept.
t_lasthop=$(seconds taskset -c 0 "$lasthop" rules match "$work/access.log" --threads 1 --no-decode --no-bundled --rules "$work/rules.yml")
m_lasthop=$(rss_mib)
awk -F'\t' '{ split($2, p, ":"); print $1 "\t" p[length(p)] }' "$work/out.txt" | sort > "$work/lasthop.matches"
# rsigma, one core.
t_rsigma=$(seconds taskset -c 0 rsigma engine eval -r "$work/rules.yml" -e "@$work/events.ndjson" --include-event --output-format ndjson --quiet)
m_rsigma=$(rss_mib)
python3 - "$work/out.txt" > "$work/rsigma.matches.unsorted" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    l = l.strip()
    if not l.startswith("{"):
        continue
    m = json.loads(l)
    print(f"{m['rule_id']}\t{m['event']['_line']}")
PY
sort "$work/rsigma.matches.unsorted" > "$work/rsigma.matches"
if ! diff -q "$work/lasthop.matches" "$work/rsigma.matches" >/dev/null; then
    echo "MATCHES DIFFER:"; diff "$work/lasthop.matches" "$work/rsigma.matches" | head -20; exit 1
fi
matches=$(wc -l < "$work/lasthop.matches")
# lasthop as shipped (decoding on), one core and two.
t_decode=$(seconds taskset -c 0 "$lasthop" rules match "$work/access.log" --threads 1 --no-bundled --rules "$work/rules.yml" --format count)
t_two=$(seconds taskset -c 0,1 "$lasthop" rules match "$work/access.log" --threads 2 --no-bundled --rules "$work/rules.yml" --format count)

rate() { echo "scale=0; $events / $1" | bc; }
echo
echo "identical (rule, line) matches: $matches"
printf '%-44s %8s s %12s events/s\n' \
    "rsigma 0.22, 1 core (NDJSON parse + eval)" "$t_rsigma" "$(rate "$t_rsigma")" \
    "lasthop, 1 core, no decoding (log parse + eval)" "$t_lasthop" "$(rate "$t_lasthop")" \
    "lasthop, 1 core, decoding on (as shipped)" "$t_decode" "$(rate "$t_decode")" \
    "lasthop, 2 cores, decoding on" "$t_two" "$(rate "$t_two")"
echo "per-core ratio lasthop/rsigma: $(echo "scale=2; $t_rsigma / $t_lasthop" | bc)x (decoding off), $(echo "scale=2; $t_rsigma / $t_decode" | bc)x (decoding on)"
echo "peak RSS (1 core, decoding off): lasthop $m_lasthop MiB, rsigma $m_rsigma MiB"
# For scripts/bench/run_all.sh: benchmark|engine|seconds|events|peak MiB
echo "RESULT|Sigma webserver rules (1 core)|lasthop|$t_lasthop|$events|$m_lasthop"
echo "RESULT|Sigma webserver rules (1 core)|rsigma|$t_rsigma|$events|$m_rsigma"
