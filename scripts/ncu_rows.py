#!/usr/bin/env python3
"""One markdown row per profiled launch from `ncu --csv --metrics a,b,...`:
the kernel (short name) and each metric's value, in launch order. Used by
gpu_lla_check.sh to show where a log-linear forward + backward spends its
time and how close each kernel runs to the tensor, DRAM and SM limits."""
import csv
import re
import sys
from collections import OrderedDict


def short(name: str) -> str:
    name = re.sub(r"^void ", "", name)
    name = re.sub(r"\(.*$", "", name)
    name = re.sub(r"loglin::lla::(v2::|gpu::)?(_GLOBAL__N__\w+::|\(anonymous namespace\)::)?", "", name)
    return name if len(name) <= 60 else name[:57] + "..."


def main(path: str) -> None:
    lines = [l for l in open(path, errors="replace") if l.startswith('"')]
    launches = OrderedDict()
    metrics = []
    for row in csv.DictReader(lines):
        key = (row["ID"], short(row["Kernel Name"]))
        m = row["Metric Name"]
        if m not in metrics:
            metrics.append(m)
        value = row["Metric Value"].replace(",", "")
        if m == "gpu__time_duration.sum":
            scale = {"nsecond": 1e-3, "usecond": 1.0, "msecond": 1e3}.get(row.get("Metric Unit", "nsecond"), 1e-3)
            value = f"{float(value) * scale:.1f}"
        launches.setdefault(key, {})[m] = value
    if not launches:
        print("(no kernels in the profile)")
        return
    names = ["us" if m == "gpu__time_duration.sum" else m.split("__")[1].split(".")[0] for m in metrics]
    print("| kernel | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    total = 0.0
    for (_, k), vals in launches.items():
        total += float(vals.get("gpu__time_duration.sum", 0))
        print(f"| `{k}` | " + " | ".join(vals.get(m, "-") for m in metrics) + " |")
    print(f"total: {total:.1f} us in {len(launches)} launches")


if __name__ == "__main__":
    main(sys.argv[1])
