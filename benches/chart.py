#!/usr/bin/env python3
"""Draws SVG charts from criterion's saved results, with no dependencies.

    python3 benches/chart.py --criterion benches/peers/target/criterion --out docs/charts

Writes one horizontal bar chart per workload (throughput of each system, with its ratio
to the baseline), and one line chart per scale group. Medians only.
"""
import argparse
import html
import json
import pathlib
import re

from report import load, rate

COLORS = {"raw": "#888888", "seglog-0.3.6": "#d98c2b", "okaywal": "#9b59b6", "seglog-file": "#1f77b4",
          "seglog-file-zeroed": "#17becf", "seglog-mmap": "#2ca02c", "seglog-direct": "#d62728"}


def esc(s):
    return html.escape(str(s))


def bars(group, by_system, baseline, out):
    systems = sorted(by_system, key=lambda s: -rate(*by_system[s])[0])
    base = rate(*by_system[baseline])[0] if baseline in by_system else None
    width, row, left = 760, 26, 170
    height = 40 + row * len(systems)
    top = max(rate(*by_system[s])[0] for s in systems)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="13">',
             f'<text x="8" y="20" font-weight="bold">{esc(group)}</text>']
    for i, s in enumerate(systems):
        r, text = rate(*by_system[s])
        y = 32 + i * row
        w = (width - left - 250) * r / top
        ratio = f"  {r / base:.2f}x {baseline}" if base and s != baseline else ""
        parts.append(f'<text x="{left - 6}" y="{y + 15}" text-anchor="end">{esc(s)}</text>')
        parts.append(f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" fill="{COLORS.get(s, "#555")}"/>')
        parts.append(f'<text x="{left + w + 6:.1f}" y="{y + 15}">{esc(text + ratio)}</text>')
    parts.append("</svg>")
    (out / f"{group}.svg").write_text("\n".join(parts))


def lines(group, by_param, out):
    def key(p):
        m = re.match(r"(\d+)", p)
        return int(m.group(1)) if m else 0
    params = sorted(by_param, key=key)
    values = [rate(*by_param[p])[0] for p in params]
    labels = [rate(*by_param[p])[1] for p in params]
    width, height, left, bottom = 760, 300, 70, 50
    top = max(values) * 1.15
    step = (width - left - 30) / max(1, len(params) - 1)
    pts = [(left + i * step, height - bottom - (height - bottom - 40) * v / top) for i, v in enumerate(values)]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
             f'<text x="8" y="20" font-weight="bold" font-size="13">{esc(group)}</text>',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - 20}" y2="{height - bottom}" stroke="#333"/>',
             f'<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in pts)}"/>']
    for (x, y), p, label in zip(pts, params, labels):
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#1f77b4"/>')
        parts.append(f'<text x="{x:.1f}" y="{y - 8:.1f}" text-anchor="middle">{esc(label)}</text>')
        parts.append(f'<text x="{x:.1f}" y="{height - bottom + 18}" text-anchor="middle">{esc(p)}</text>')
    parts.append("</svg>")
    (out / f"{group}.svg").write_text("\n".join(parts))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--criterion", default="benches/peers/target/criterion")
    ap.add_argument("--baseline", default="seglog-0.3.6")
    ap.add_argument("--out", default="docs/charts")
    args = ap.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for group, by in load(pathlib.Path(args.criterion)).items():
        if group.startswith("scale_"):
            lines(group, by, out)
        else:
            bars(group, by, args.baseline, out)
        print(out / f"{group}.svg")


if __name__ == "__main__":
    main()
