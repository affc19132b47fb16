#!/usr/bin/env python3
"""Draw the stratified random ASN sample behind the hand-labelled fixture
crates/intel/tests/fixtures/asn_labels.csv.

What it does
------------
* Reads (read-only) the IP-to-ASN tables from @ip-location-db/asn 2.3.2026061719
  (RouteViews > NRO/RIR delegations > DB-IP "IP to ASN Lite", CC BY 4.0):
    <data-dir>/asn-ipv4.csv.gz and <data-dir>/asn-ipv6.csv.gz
  No header; rows are `range_start,range_end,asn,organisation` (inclusive).
* For every ASN in the IPv4 file it sums the number of IPv4 addresses in its
  ranges (the file's single known overlap, AS749/AS721 around 215.0.0.0/16,
  is counted for both ASNs as listed) and takes as its organisation the name
  on most of its rows (ties: the name covering more addresses, then the
  lexicographically smallest).
* Stratifies the IPv4 ASNs by total address count and draws, uniformly at
  random without replacement within each stratum:
      stratum   addresses                draw
      A         >= 1,000,000               70
      B         100,000 - 999,999          60
      C         10,000 - 99,999            50
      D         1,000 - 9,999              35
      E         < 1,000                    25
  plus 10 IPv6-only ASNs (present in asn-ipv6 but absent from asn-ipv4),
  stratum "v6only", ipv4_addresses 0, organisation taken from the IPv6 file
  in the same way.  Total: 250 distinct ASNs.
* Seed: 20261127.  One random.Random(SEED) drives all draws, strata are
  drawn in the fixed order A, B, C, D, E, v6only, and each stratum's
  population is sorted by ASN before sampling, so the same seed and the same
  data files always give the same sample (Python 3.2+ random.sample is stable
  for a given seed).
* Writes CSV (header `asn,organisation,ipv4_addresses,stratum`), rows ordered
  by stratum then ASN, to --out or stdout.  It writes nothing else.

Usage:  python3 scripts/asn_sample.py [--data-dir DIR] [--seed N] [--out FILE]
"""

import argparse
import collections
import csv
import gzip
import ipaddress
import random
import sys

SEED = 20261127
DEFAULT_DATA_DIR = "/work/shared/data/asn"

# (name, lower bound inclusive, upper bound exclusive or None, draw size)
STRATA = [
    ("A", 1_000_000, None, 70),
    ("B", 100_000, 1_000_000, 60),
    ("C", 10_000, 100_000, 50),
    ("D", 1_000, 10_000, 35),
    ("E", 0, 1_000, 25),
]
V6ONLY_DRAW = 10


def v4_int(s):
    a, b, c, d = s.split(".")
    return (int(a) << 24) | (int(b) << 16) | (int(c) << 8) | int(d)


def read_table(path, count_v4):
    """Return (addresses per ASN, {asn: Counter(org -> [rows, addresses])})."""
    addrs = collections.Counter()
    orgs = collections.defaultdict(dict)
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        for row in csv.reader(fh):
            start, end, asn, org = row[0], row[1], int(row[2]), row[3]
            if count_v4:
                n = v4_int(end) - v4_int(start) + 1
            else:
                n = int(ipaddress.ip_address(end)) - int(ipaddress.ip_address(start)) + 1
            addrs[asn] += n
            stat = orgs[asn].setdefault(org, [0, 0])
            stat[0] += 1
            stat[1] += n
    return addrs, orgs


def main_org(org_stats):
    return min(org_stats.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--out", default="-")
    args = ap.parse_args()

    v4_addrs, v4_orgs = read_table(f"{args.data_dir}/asn-ipv4.csv.gz", True)
    _, v6_orgs = read_table(f"{args.data_dir}/asn-ipv6.csv.gz", False)

    rng = random.Random(args.seed)
    rows = []
    for name, lo, hi, k in STRATA:
        pop = sorted(a for a, n in v4_addrs.items() if n >= lo and (hi is None or n < hi))
        if len(pop) < k:
            sys.exit(f"stratum {name} has only {len(pop)} ASNs, need {k}")
        for asn in sorted(rng.sample(pop, k)):
            rows.append((asn, main_org(v4_orgs[asn]), v4_addrs[asn], name))
        print(f"stratum {name}: population {len(pop)}, drawn {k}", file=sys.stderr)

    pop = sorted(set(v6_orgs) - set(v4_addrs))
    for asn in sorted(rng.sample(pop, V6ONLY_DRAW)):
        rows.append((asn, main_org(v6_orgs[asn]), 0, "v6only"))
    print(f"stratum v6only: population {len(pop)}, drawn {V6ONLY_DRAW}", file=sys.stderr)

    assert len({r[0] for r in rows}) == len(rows)
    out = sys.stdout if args.out == "-" else open(args.out, "w", encoding="utf-8", newline="")
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["asn", "organisation", "ipv4_addresses", "stratum"])
    w.writerows(rows)
    if out is not sys.stdout:
        out.close()


if __name__ == "__main__":
    main()
