#!/usr/bin/env python3
"""Prints a Markdown table from criterion's saved results: per workload, each backend's
median and its ratio to a baseline backend, measured in the same run.

    cargo bench -p seglog-benches --bench backends
    python3 benches/report.py [--baseline file] [--criterion target/criterion]
"""
import argparse
import json
import pathlib


def load(root):
    rows = {}
    for est in sorted(root.glob("*/*/new/estimates.json")):
        bench = est.parent.parent
        group = bench.parent.name
        meta = json.loads((est.parent / "benchmark.json").read_text())
        median_ns = json.loads(est.read_text())["median"]["point_estimate"]
        throughput = meta.get("throughput") or {}
        rows.setdefault(group, {})[bench.name] = (median_ns, throughput)
    return rows


def rate(median_ns, throughput):
    if "Elements" in throughput:
        per_s = throughput["Elements"] / (median_ns / 1e9)
        return per_s, f"{per_s / 1e6:.2f} M/s" if per_s >= 1e6 else f"{per_s / 1e3:.1f} k/s"
    if "Bytes" in throughput:
        per_s = throughput["Bytes"] / (median_ns / 1e9)
        return per_s, f"{per_s / 1e9:.2f} GB/s"
    return 1e9 / median_ns, f"{median_ns / 1e3:.1f} µs"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--baseline", default="file")
    ap.add_argument("--criterion", default="target/criterion")
    args = ap.parse_args()
    rows = load(pathlib.Path(args.criterion))
    backends = sorted({b for g in rows.values() for b in g}, key=lambda b: (b != args.baseline, b))
    print("| workload | " + " | ".join(backends) + " |")
    print("|---|" + "---|" * len(backends))
    for group, by_backend in rows.items():
        base = by_backend.get(args.baseline)
        base_rate = rate(*base)[0] if base else None
        cells = []
        for b in backends:
            if b not in by_backend:
                cells.append("–")
                continue
            r, text = rate(*by_backend[b])
            ratio = f" ({r / base_rate:.2f}x)" if base_rate and b != args.baseline else ""
            cells.append(text + ratio)
        print(f"| {group} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
