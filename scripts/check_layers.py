#!/usr/bin/env python3
"""The workspace's dependency walls, checked from `cargo metadata` (CI runs this).

- The readers, the store, intelligence, Sigma, the sinks, the audit, findings and the shared
  plumbing build without DataFusion: none of them has it among its normal dependencies, direct
  or indirect.
- `lasthop-query` (the engine) knows no detector: `lasthop-detect` is not among its
  dependencies, and no source file of it names the crate.
- Only the binary (`lasthop`) uses clap.
- The shipped binary carries no test fixtures or benchmark generators: with default features,
  `lasthop-demo`'s `fixtures` and `bench` features are off.

Exit status 0 when every wall holds; 1 with one line per breach.
"""

import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
WITHOUT_DATAFUSION = [
    "lasthop-common", "lasthop-normalise", "lasthop-sources", "lasthop-store", "lasthop-intel",
    "lasthop-sigma", "lasthop-sinks", "lasthop-audit", "lasthop-findings",
]


def metadata(*features: str):
    host = next(line.split(": ", 1)[1] for line in subprocess.run(
        ["rustc", "-vV"], check=True, capture_output=True, text=True).stdout.splitlines()
        if line.startswith("host: "))
    command = ["cargo", "metadata", "--format-version", "1", "--filter-platform", host, *features]
    return json.loads(subprocess.run(command, cwd=ROOT, check=True, capture_output=True).stdout)


def normal_closure(meta, start_id):
    """Every package reachable from `start_id` through normal (not dev or build) edges."""
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    seen, stack = set(), [start_id]
    while stack:
        node = nodes[stack.pop()]
        for dep in node["deps"]:
            if any(k["kind"] is None for k in dep["dep_kinds"]) and dep["pkg"] not in seen:
                seen.add(dep["pkg"])
                stack.append(dep["pkg"])
    return seen


def main():
    breaches = []
    meta = metadata("--all-features")
    packages = {p["id"]: p for p in meta["packages"]}
    by_name = {p["name"]: p["id"] for p in meta["packages"] if p["id"] in meta["workspace_members"]}
    names = lambda ids: {packages[i]["name"] for i in ids}

    for crate in WITHOUT_DATAFUSION:
        reached = names(normal_closure(meta, by_name[crate]))
        for df in sorted(n for n in reached if n == "datafusion" or n.startswith("datafusion-")):
            breaches.append(f"{crate} depends on {df}")
            break

    if "lasthop-detect" in names(normal_closure(meta, by_name["lasthop-query"])):
        breaches.append("lasthop-query depends on lasthop-detect")
    for path in sorted((ROOT / "crates" / "query").rglob("*.rs")):
        if "lasthop_detect" in path.read_text():
            breaches.append(f"{path.relative_to(ROOT)} names lasthop_detect")

    for member in meta["workspace_members"]:
        package = packages[member]
        if package["name"] == "lasthop":
            continue
        if any(d["name"] == "clap" and d["kind"] is None for d in package["dependencies"]):
            breaches.append(f"{package['name']} depends on clap (only the binary may)")

    # `cargo metadata` unifies features over dev-dependencies too; `cargo tree` shows what the
    # binary's own build enables.
    tree = subprocess.run(
        ["cargo", "tree", "-p", "lasthop", "-e", "normal", "--prefix", "none", "-f", "{p} {f}"],
        cwd=ROOT, check=True, capture_output=True, text=True).stdout
    demo = [line for line in tree.splitlines() if line.startswith("lasthop-demo ")]
    for feature in ("fixtures", "bench"):
        if any(feature in line.split(")", 1)[-1].split(",") or f" {feature}" in line.split(")", 1)[-1] for line in demo):
            breaches.append(f"the default build enables lasthop-demo's `{feature}` feature")

    for b in breaches:
        print(f"wall breached: {b}")
    if not breaches:
        print(f"dependency walls hold ({len(WITHOUT_DATAFUSION)} crates without DataFusion; "
              "query without detectors; clap in the binary only; no fixtures shipped)")
    return 1 if breaches else 0


if __name__ == "__main__":
    sys.exit(main())
