#!/usr/bin/env python3
"""Builds the committed seed corpora of the fuzz targets (fuzz/corpus/seed/<target>/) from the
real files in ../shared/data and lasthop's own fixtures. Seeds are named by SHA-1 like
libFuzzer's own corpus files; large files are cut to their first lines so that every seed stays
small. Re-running adds what is missing and keeps what is there.

    python3 scripts/fuzz/seed.py [--shared ../shared/data]
"""
import argparse, gzip, hashlib, json, os, re, subprocess, sys, tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "fuzz" / "corpus" / "seed"
MAX_BYTES = 64 * 1024


def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    data = data[:MAX_BYTES]
    d = SEED / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def head(path, lines=200):
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        return b"".join(line for _, line in zip(range(lines), f))


def rust_raw_strings(path):
    """The r#"..."# literals of a Rust test file: hand-written feeds and rules."""
    return re.findall(r'r#"(.*?)"#', Path(path).read_text(), re.S)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"))
    shared = Path(ap.parse_args().shared)
    if not shared.is_dir():
        sys.exit(f"{shared}: shared data absent; seeds need the real files")

    # Web access logs: Apache/Nginx combined and IIS W3C from real attacks.
    for p in sorted((shared / "web").rglob("*")):
        if p.suffix in (".log", ".txt") and p.is_file():
            put("web_log", head(p))
    put("web_log", '{"remote_addr":"203.0.113.9","time_local":"10/Oct/2024:13:55:36 +0000",'
        '"request":"GET /?q=${jndi:ldap://x} HTTP/1.1","status":200,"http_user_agent":"curl"}\n')

    # Zeek logs: the head of the first real file of every log type, TSV and JSON alike.
    seen = set()
    for p in sorted((shared / "zeek").rglob("*.log*")):
        kind = p.name.split(".")[0]
        fmt = "json" if head(p, 1).lstrip().startswith(b"{") else "tsv"
        if p.is_file() and (kind, fmt) not in seen:
            seen.add((kind, fmt))
            put("zeek_reader", head(p, 60))

    # Sigma rules for the tables lasthop runs (web server, proxy) and a sample of the rest,
    # plus regular expressions built to be huge or unsupported.
    rules = sorted((shared / "sigma").rglob("*.yml"))
    web = [p for p in rules if "/web/" in str(p) or "proxy" in str(p)]
    for p in web + rules[:: max(1, len(rules) // 60)]:
        put("sigma_rule", p.read_bytes())
    base = ("title: t\nid: 6f0d3a7e-0000-4000-8000-000000000001\nlogsource:\n  category: webserver\n"
            "detection:\n  sel:\n    cs-uri-query|re: '{}'\n  condition: sel\nlevel: high\n")
    for pattern in ["(a+)+$", "(?<=admin)x", "\\\\p{Greek}{1000}{1000}", "a{1000}{1000}",
                    "(?i)${jndi:", "[", "\\\\"]:
        put("sigma_rule", base.format(pattern))

    # Intelligence: the feeds' own hand-written fixtures, and real lists.
    fixtures = rust_raw_strings(ROOT / "crates/intel/src/feeds/tests.rs")
    for text in fixtures:
        if '"bundle"' in text:
            put("stix_bundle", text)
        if '"Event"' in text:
            put("misp_event", text)
    for p in sorted((ROOT / "fuzz/corpus/seed/intel_feed").iterdir()):
        data = p.read_bytes()
        try:
            j = json.loads(data)
        except ValueError:
            continue
        if isinstance(j, dict) and j.get("type") == "bundle":
            put("stix_bundle", data)
        elif "Event" in data.decode("utf-8", "replace"):
            put("misp_event", data)
    put("stix_bundle", json.dumps({"type": "bundle", "id": "bundle--1", "objects": [
        {"type": "indicator", "spec_version": "2.1", "id": "indicator--a", "created": "2024-01-01T00:00:00Z",
         "modified": "2024-01-01T00:00:00Z", "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z",
         "pattern": "[ipv4-addr:value = '203.0.113.5'] FOLLOWEDBY [domain-name:value = 'x.example']",
         "created_by_ref": "identity--b", "object_refs": ["indicator--a"]},
        {"type": "identity", "id": "identity--b", "name": "loop", "created_by_ref": "identity--b"},
        {"type": "relationship", "id": "relationship--c", "source_ref": "indicator--a", "target_ref": "indicator--a"},
    ]}))
    for p in sorted((shared / "intel").rglob("*")):
        if p.is_file() and p.suffix in (".txt", ".csv", ".md5", ".sha1", ".sha256", ".gz") \
                and "LICENSE" not in p.name:
            put("intel_list", head(p))
    for text in fixtures:
        if not text.lstrip().startswith(("{", "[")):
            put("intel_list", text)

    # ASN data: the first ranges of both families, split at a NUL as the target reads them.
    v4, v6 = shared / "asn/asn-ipv4.csv.gz", shared / "asn/asn-ipv6.csv.gz"
    if v4.exists() and v6.exists():
        for n in (5, 50, 300):
            put("asn_data", head(v4, n) + b"\0" + head(v6, n))
    put("asn_data", (ROOT / "crates/intel/tests/fixtures/asn_labels.csv").read_bytes())
    # The stored database's own layout (before zstd), small: magic, source, organisations, then
    # per family the ranges as (start delta, span), their ASNs and organisation indexes.
    import struct
    def text(t):
        return struct.pack("<I", len(t)) + t
    def ranges(width, rows):
        out = struct.pack("<I", len(rows))
        previous = 0
        for start, end, _, _ in rows:
            out += (start - previous).to_bytes(width, "little") + (end - start).to_bytes(width, "little")
            previous = start
        out += b"".join(struct.pack("<I", asn) for _, _, asn, _ in rows)
        return out + b"".join(struct.pack("<I", org) for _, _, _, org in rows)
    for n in (1, 3):
        orgs = [b"EXAMPLE-NET", b"HOME-BROADBAND", b"\xe2\x80\xaeEVIL"][:n]
        v4 = [(0x0A000000 + i * 256, 0x0A000000 + i * 256 + 255, 64500 + i, i) for i in range(n)]
        v6 = [((0x2001_0db8 << 96) + (i << 64), (0x2001_0db8 << 96) + (i << 64) + 0xFFFF, 64510 + i, i)
              for i in range(n)]
        db = b"LHASN\x00\x00\x01" + text(b"fuzz seed") + struct.pack("<I", len(orgs))
        db += b"".join(text(o) for o in orgs) + ranges(4, v4) + ranges(16, v6)
        put("asn_data", db)

    # Inventories: the audit fixtures, real KEV and SoHo end-of-life entries.
    put("inventory_csv", (ROOT / "crates/audit/tests/fixtures/edge_inventory.csv").read_bytes())
    for text in rust_raw_strings(ROOT / "crates/audit/src/inventory.rs") + \
            rust_raw_strings(ROOT / "crates/audit/tests/edge/inventory_csv.rs"):
        (put("nmap_xml", text) if "<nmaprun" in text or "<host" in text else put("inventory_csv", text))
    for text in rust_raw_strings(ROOT / "crates/audit/tests/edge/nmap_scan.rs"):
        if "<" in text:
            put("nmap_xml", text)
    kev = json.loads((shared / "intel/kev/known_exploited_vulnerabilities.json").read_text())
    for n in (1, 10, 40):
        put("audit_catalogues", json.dumps(dict(kev, vulnerabilities=kev["vulnerabilities"][:n]), indent=1))
    put("audit_catalogues", (ROOT / "crates/audit/data/soho_eol.toml").read_bytes())

    # The ledger: the manifest of a real import, whole and line by line.
    zeek = shared / "zeek"
    sample = next(iter(sorted(zeek.rglob("conn*.log"))), None)
    lasthop = os.environ.get("LASTHOP", str(ROOT / "target/debug/lasthop"))
    if sample and Path(lasthop).exists():
        with tempfile.TemporaryDirectory() as store:
            subprocess.run([lasthop, "import", str(sample.parent), "--store", store],
                           check=True, capture_output=True)
            manifest = (Path(store) / "manifest.jsonl").read_bytes()
            put("store_ledger", manifest)
            for line in manifest.splitlines(keepends=True)[:20]:
                put("store_ledger", line)
                put("store_ledger", line[: len(line) // 2])
    else:
        print("no lasthop binary or Zeek sample: store_ledger seeds skipped", file=sys.stderr)

    # nmap's own XML, from a scan of a web server this script starts on loopback.
    with tempfile.TemporaryDirectory() as www:
        server = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1",
                                   "18765"], cwd=www, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            import time; time.sleep(1)
            for flags in (["-sV"], ["-sT"]):
                scan = subprocess.run(["nmap", *flags, "-Pn", "-p", "18765", "127.0.0.1", "-oX", "-"],
                                      capture_output=True)
                if scan.returncode == 0:
                    put("nmap_xml", scan.stdout)
        except FileNotFoundError:
            print("no nmap: nmap_xml seeds from fixtures only", file=sys.stderr)
        finally:
            server.kill()

    # Asset lists and safelists: lasthop's formats, with the synonyms and edge cases they take.
    for text in [
        "ip,hostname,mac\n10.0.0.5,fin-laptop-07,08:00:27:5e:9a:a6\n10.0.0.6,printer,0800.275e.9aa7\n",
        "address,name,mac_address,from,until\n10.0.0.7,db1,08-00-27-5E-9A-A8,2024-01-01,2024-06-01\n",
        "# site assets\nhost,ip\nweb01,192.168.1.10\n\"quoted, name\",192.168.1.11\nbad row\n",
        "IP;Host\n10.1.1.1;x\n", "mac\n08:00:27:00:00:01\nzz:zz\n", "asset,ipaddress,since\nx,::1,1717372800\n",
        "ip,hostname\n10.0.0.1,\u202eevil\x1b[2J\n2001:db8::1%eth0,zone\n",
    ]:
        put("asset_list", text)
    for text in [
        "10.0.0.0/8\n*.windowsupdate.com\n# comment\n", "192.0.2.1 -> 203.0.113.0/24\nexample.org, 10.0.0.1\n",
        "2001:db8::/32\n::ffff:10.0.0.1\nnot an entry at all\n", "*.\n*.*.example\n..\n",
        "a.example b.example c.example\n", "xn--bcher-kva.example\n\u00e9xample.com\n", "0.0.0.0/0\n::/0\n",
    ]:
        put("safelist", text)

    inventory = (ROOT / "crates/audit/tests/fixtures/edge_inventory.csv").read_text().splitlines()
    for i in range(3, len(inventory), 3):
        put("inventory_csv", "\n".join(inventory[:3] + inventory[i:i + 3]) + "\n")
    patterns = ["[ipv4-addr:value = '198.51.100.0/24']", "[domain-name:value = 'evil.example']",
                "[url:value = 'http://x/\\'q']", "[file:hashes.'SHA-256' = 'aa']",
                "[x509-certificate:hashes.'SHA-1' = 'bb'] OR [ipv6-addr:value = '2001:db8::1']",
                "[network-traffic:dst_ref.value IN ('1.2.3.4', '5.6.7.8')]", "[a:b MATCHES '(']"]
    for n, pattern in enumerate(patterns):
        put("stix_bundle", json.dumps({"type": "bundle", "id": f"bundle--{n}", "objects": [
            {"type": "indicator", "spec_version": "2.1", "id": f"indicator--{n}",
             "created": "2024-01-01T00:00:00Z", "modified": "2024-01-01T00:00:00Z",
             "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z", "pattern": pattern,
             "labels": ["x"] * 50}]}))

    # Torn copies of every seed of the thinly seeded targets: a cut file is the commonest bad input.
    for target in sorted(os.listdir(SEED)):
        seeds = sorted((SEED / target).iterdir())
        if len(seeds) < 12:
            for p in seeds:
                data = p.read_bytes()
                for cut in (len(data) // 4, len(data) // 2, 3 * len(data) // 4):
                    if cut:
                        put(target, data[:cut])

    for target in sorted(os.listdir(SEED)):
        print(f"{target}: {len(os.listdir(SEED / target))} seeds")


if __name__ == "__main__":
    main()
