#!/usr/bin/env python3
"""Sums Nsight Compute's per-kernel gpu__time_duration (CSV from
`ncu --csv --metrics gpu__time_duration.sum`) by kernel name and prints the
top kernels (default 15; a second argument sets how many) as a markdown
table."""
import csv
import re
import sys
from collections import defaultdict


def short(name: str) -> str:
    # "void loglin::...::kernel<float, ...>(args)" -> "loglin::...::kernel<float, ...>"
    name = re.sub(r"^void ", "", name)
    depth, out = 0, []
    for ch in name:
        if ch == "(" and depth == 0:
            break
        depth += ch == "<"
        depth -= ch == ">"
        out.append(ch)
    s = "".join(out)
    return s if len(s) <= 100 else s[:97] + "..."


def main(path: str, top: int = 15) -> None:
    lines = [l for l in open(path, errors="replace") if l.startswith('"')]
    total, calls = defaultdict(float), defaultdict(int)
    for row in csv.DictReader(lines):
        if row.get("Metric Name") != "gpu__time_duration.sum":
            continue
        value = float(row["Metric Value"].replace(",", ""))
        unit = row.get("Metric Unit", "nsecond")
        scale = {"nsecond": 1e-6, "usecond": 1e-3, "msecond": 1.0, "second": 1e3}.get(unit, 1e-6)
        k = short(row["Kernel Name"])
        total[k] += value * scale
        calls[k] += 1
    if not total:
        print("(no kernels in the profile)")
        return
    grand = sum(total.values())
    print(f"all kernels: {grand:.1f} ms in {sum(calls.values())} launches")
    print("| share | ms | launches | kernel |")
    print("|---:|---:|---:|---|")
    for k, ms in sorted(total.items(), key=lambda kv: -kv[1])[:top]:
        print(f"| {100 * ms / grand:.1f}% | {ms:.2f} | {calls[k]} | `{k}` |")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 15)
