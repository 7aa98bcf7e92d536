#!/usr/bin/env python3
"""Table of one sync benchmark run (harness JSON lines), Kabinet against the anchors as ratios,
with the targets of issue #3. Usage: bench_sync_table.py RESULTS.jsonl VISITS.jsonl N"""
import gzip
import json
import sys

results, visits, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = {}
for line in open(results, encoding="utf-8"):
    if line.strip():
        r = json.loads(line)
        rows[(r["system"], r["scenario"])] = r
lines = open(visits, "rb").read().splitlines(keepends=True)
gz_w1 = len(gzip.compress(b"".join(lines[:n])))
gz_w2 = len(gzip.compress(b"".join(lines[n:])))

def fmt_ms(v):
    return "—" if v is None else (f"{v / 1000:.1f} s" if v >= 10000 else f"{v:.0f} ms")

def kib(v):
    return "" if v is None else f"{v / 1024:.0f}"

systems = sorted({s for s, _ in rows})
print(f"N = {n}; raw JSON lines gzip: W1 {gz_w1 / 1024:.0f} KiB, W2 {gz_w2 / 1024:.0f} KiB\n")
print("| scenario | system | wall | up KiB | down KiB | server RSS MB | client RSS MB | ok | kabinet vs this (wall) |")
print("|---|---|---:|---:|---:|---:|---:|---|---:|")
for scenario in ["local_write", "initial_upload", "incremental", "noop", "fresh_pull"]:
    k = rows.get(("kabinet", scenario))
    for s in systems:
        r = rows.get((s, scenario))
        if not r:
            continue
        ratio = ""
        if k and s != "kabinet" and r.get("wall_ms") and k.get("wall_ms"):
            ratio = f"{r['wall_ms'] / k['wall_ms']:.1f}× faster" if r["wall_ms"] >= k["wall_ms"] else f"{k['wall_ms'] / r['wall_ms']:.1f}× slower"
        ok = "" if r.get("verified") is None else ("✓" if r["verified"] else "✗")
        print(f"| {scenario} | {s} | {fmt_ms(r.get('wall_ms'))} | {kib(r.get('up_bytes'))} | {kib(r.get('down_bytes'))} "
              f"| {r.get('server_rss_mb') or ''} | {r.get('client_rss_mb') or ''} | {ok} | {ratio} |")

def get(s, sc, key):
    r = rows.get((s, sc))
    return None if r is None else r.get(key)

print("\nTargets (issue #3):")
checks = []
p1, k1 = get("pouchdb", "initial_upload", "wall_ms"), get("kabinet", "initial_upload", "wall_ms")
if p1 and k1:
    checks.append(("W1 wall ≥ 10× faster than PouchDB", f"{p1 / k1:.1f}×", p1 / k1 >= 10))
kb1 = (get("kabinet", "initial_upload", "up_bytes") or 0) + (get("kabinet", "initial_upload", "down_bytes") or 0)
if kb1:
    checks.append(("W1 bytes ≤ 1.5 × gzip(raw JSON)", f"{kb1 / gz_w1:.2f}×", kb1 <= 1.5 * gz_w1))
kb2 = (get("kabinet", "incremental", "up_bytes") or 0) + (get("kabinet", "incremental", "down_bytes") or 0)
if kb2:
    checks.append(("W2 bytes ≤ 2 × gzip(300 visits)", f"{kb2 / gz_w2:.2f}×", kb2 <= 2 * gz_w2))
kb3 = (get("kabinet", "noop", "up_bytes") or 0) + (get("kabinet", "noop", "down_bytes") or 0)
k3 = get("kabinet", "noop", "wall_ms")
if k3 is not None:
    checks.append(("W3 ≤ 2 KB and ≤ 50 ms", f"{kb3} B, {k3:.1f} ms", kb3 <= 2048 and k3 <= 50))
p4, k4 = get("pouchdb", "fresh_pull", "wall_ms"), get("kabinet", "fresh_pull", "wall_ms")
if p4 and k4:
    checks.append(("W4 wall ≥ 10× faster than PouchDB", f"{p4 / k4:.1f}×", p4 / k4 >= 10))
for name, value, ok in checks:
    print(f"- {name}: {value} {'✓' if ok else '✗'}")
