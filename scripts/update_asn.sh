#!/usr/bin/env bash
# Rebuilds the bundled ASN database (crates/intel/data/asn.lhdb) from a newer release of the npm
# package @ip-location-db/asn (RouteViews, NRO and DB-IP data, CC BY 4.0). Needs npm and network
# access; nothing else in lasthop fetches anything at run time.
#
# Usage: scripts/update_asn.sh [VERSION]      (default: the latest published version)
# Then rebuild lasthop, run the tests, check NOTICE still describes the source, and commit.
set -euo pipefail
version=${1:-latest}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack "@ip-location-db/asn@$version" >/dev/null && tar xzf ./*.tgz)
resolved=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['version'])" "$work/package/package.json")
(cd "$root" && cargo build --release -p lasthop)
"${CARGO_TARGET_DIR:-$root/target}/release/lasthop" intel build-asn \
  --v4 "$work/package/asn-ipv4.csv" --v6 "$work/package/asn-ipv6.csv" \
  --source "@ip-location-db/asn $resolved" --out "$root/crates/intel/data/asn.lhdb"
echo "now update the version in NOTICE (@ip-location-db/asn $resolved) and commit"
