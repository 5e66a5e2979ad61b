#!/usr/bin/env python3
"""Turns a kernels_bench JSON run into the ratio table of docs/BENCHMARKS.md.

Usage: python3 scripts/kernels_bench_report.py kernels.json

For every benchmark it takes the median real time over the repetitions (or the single run)
and divides it by the median of BM_StreamRead at the same size on one thread (the column
"x read(1t)") and at the same thread count ("x read(same t)"). nth_element and partial_sort
run on one thread only.
"""
import json
import statistics
import sys
from collections import defaultdict


def parse(name):
    # BM_TopK/24/10000/2/real_time
    parts = name.split("/")
    return parts[0], int(parts[1]), int(parts[2]), int(parts[3])


def main(path):
    with open(path) as f:
        data = json.load(f)
    times = defaultdict(list)
    unit_scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate" or b.get("error_occurred"):
            continue
        key = parse(b["run_name"] if "run_name" in b else b["name"])
        times[key].append(b["real_time"] * unit_scale[b.get("time_unit", "ns")])
    med = {k: statistics.median(v) for k, v in times.items()}
    ctx = data.get("context", {})
    print(f"host: {ctx.get('host_name', '?')}, {ctx.get('num_cpus', '?')} CPUs @ "
          f"{ctx.get('mhz_per_cpu', '?')} MHz, repetitions per point: "
          f"{max(len(v) for v in times.values())}\n")
    print("| benchmark | d | k/d | threads | median time | x read(1t) | x read(same t) |")
    print("|---|---|---|---|---|---|---|")
    order = ["BM_StreamRead", "BM_TopK", "BM_EfTopK", "BM_GaussianK", "BM_EfGaussianK",
             "BM_NthElement", "BM_PartialSort"]
    for name in order:
        for (n, log2d, ppm, threads), t in sorted(
                ((k, v) for k, v in med.items() if k[0] == name), key=lambda kv: kv[0][1:]):
            base1 = med.get(("BM_StreamRead", log2d, 0, 1))
            baset = med.get(("BM_StreamRead", log2d, 0, threads))
            density = "-" if name == "BM_StreamRead" else f"{ppm / 1e4:g}%"
            t_str = f"{t / 1e3:.2f} ms" if t >= 1000 else f"{t:.0f} us"
            r1 = f"{t / base1:.2f}" if base1 else "?"
            rt = f"{t / baset:.2f}" if baset else "?"
            print(f"| {name[3:]} | 2^{log2d} | {density} | {threads} | {t_str} | {r1} | {rt} |")


if __name__ == "__main__":
    main(sys.argv[1])
