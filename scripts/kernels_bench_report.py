#!/usr/bin/env python3
"""Turns a kernels_bench JSON run into the ratio tables of docs/BENCHMARKS.md.

Usage: python3 scripts/kernels_bench_report.py kernels.json [--doc]

For every benchmark it takes the median real time over the repetitions (or the single run)
and divides it by the median of BM_StreamRead at the same size on one thread (the column
"x read(1t)") and at the same thread count ("x read(same t)"). nth_element and partial_sort
run on one thread only.

With --doc it prints instead the tables of the kernels section of docs/BENCHMARKS.md (time and,
in parentheses, time / stream read on one thread at the same d), and a check of each goal of
the issue: exact top-k within 3x of the one-thread read on one thread and faster on two, the
fused error-feedback step within 4x (also given against BM_AddFloor, e += u, the traffic any EF
step has), and at least 10x faster than std::nth_element on a copy.
"""
import json
import statistics
import sys
from collections import defaultdict

ORDER = ["BM_StreamRead", "BM_AddFloor", "BM_TopK", "BM_EfTopK", "BM_TopKAvx2", "BM_EfTopKAvx2", "BM_GaussianK",
         "BM_EfGaussianK", "BM_NthElement", "BM_PartialSort"]


def parse(name):
    # BM_TopK/24/10000/2/real_time
    parts = name.split("/")
    return parts[0], int(parts[1]), int(parts[2]), int(parts[3])


def load(path):
    with open(path) as f:
        data = json.load(f)
    times = defaultdict(list)
    simd = {}
    unit_scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate" or b.get("error_occurred"):
            continue
        key = parse(b["run_name"] if "run_name" in b else b["name"])
        times[key].append(b["real_time"] * unit_scale[b.get("time_unit", "ns")])
        if "simd" in b:
            simd[key[0]] = int(b["simd"])
    med = {k: statistics.median(v) for k, v in times.items()}
    return data.get("context", {}), times, med, simd


def fmt_time(t):
    return f"{t / 1e3:.2f} ms" if t >= 1000 else f"{t:.0f} us"


def header(ctx, times, simd):
    load = ctx.get("load_avg")
    load_str = ", ".join(f"{x:.2f}" for x in load) if load else "?"
    names = {0: "scalar", 1: "AVX2", 2: "AVX-512"}
    simd_str = ", ".join(f"{k[3:]}: {names.get(v, v)}" for k, v in sorted(simd.items()))
    print(f"host: {ctx.get('host_name', '?')}, {ctx.get('num_cpus', '?')} CPUs @ "
          f"{ctx.get('mhz_per_cpu', '?')} MHz, repetitions per point: "
          f"{max(len(v) for v in times.values())}, load average at start: {load_str}")
    if simd_str:
        print(f"SIMD path: {simd_str}")
    print()


def generic(med):
    print("| benchmark | d | k/d | threads | median time | x read(1t) | x read(same t) |")
    print("|---|---|---|---|---|---|---|")
    for name in ORDER:
        for (n, log2d, ppm, threads), t in sorted(
                ((k, v) for k, v in med.items() if k[0] == name), key=lambda kv: kv[0][1:]):
            base1 = med.get(("BM_StreamRead", log2d, 0, 1))
            baset = med.get(("BM_StreamRead", log2d, 0, threads))
            density = "-" if name in ("BM_StreamRead", "BM_AddFloor") else f"{ppm / 1e4:g}%"
            r1 = f"{t / base1:.2f}" if base1 else "?"
            rt = f"{t / baset:.2f}" if baset else "?"
            print(f"| {name[3:]} | 2^{log2d} | {density} | {threads} | {fmt_time(t)} | {r1} | {rt} |")


def doc(med):
    points = sorted({(k[1], k[2]) for k in med if k[0] == "BM_TopK"})

    def cell(name, log2d, ppm, threads, base):
        t = med.get((name, log2d, ppm, threads))
        if t is None:
            return "-"
        if not base:
            return fmt_time(t)
        r = t / base
        return f"{fmt_time(t)} ({r:.2f})" if r < 10 else f"{fmt_time(t)} ({r:.0f})"

    print("| d | k/d | stream read 1t | TopK 1t | TopK 2t | EF step 1t | EF step 2t | "
          "nth_element | partial_sort | nth_element / TopK 1t |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for log2d, ppm in points:
        base = med.get(("BM_StreamRead", log2d, 0, 1))
        nth = med.get(("BM_NthElement", log2d, ppm, 1))
        topk1 = med.get(("BM_TopK", log2d, ppm, 1))
        speedup = f"{nth / topk1:.0f}x" if nth and topk1 else "-"
        print(f"| 2^{log2d} | {ppm / 1e4:g}% | {cell('BM_StreamRead', log2d, 0, 1, base)} | "
              f"{cell('BM_TopK', log2d, ppm, 1, base)} | {cell('BM_TopK', log2d, ppm, 2, base)} | "
              f"{cell('BM_EfTopK', log2d, ppm, 1, base)} | "
              f"{cell('BM_EfTopK', log2d, ppm, 2, base)} | "
              f"{cell('BM_NthElement', log2d, ppm, 1, base)} | "
              f"{cell('BM_PartialSort', log2d, ppm, 1, base)} | {speedup} |")
    print()
    print("| d | k/d | TopK AVX2 1t | EF step AVX2 1t | Gaussian-k 1t | Gaussian-k 2t | "
          "EF Gaussian-k 1t | EF Gaussian-k 2t |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for log2d, ppm in points:
        base = med.get(("BM_StreamRead", log2d, 0, 1))
        print(f"| 2^{log2d} | {ppm / 1e4:g}% | {cell('BM_TopKAvx2', log2d, ppm, 1, base)} | "
              f"{cell('BM_EfTopKAvx2', log2d, ppm, 1, base)} | "
              f"{cell('BM_GaussianK', log2d, ppm, 1, base)} | "
              f"{cell('BM_GaussianK', log2d, ppm, 2, base)} | "
              f"{cell('BM_EfGaussianK', log2d, ppm, 1, base)} | "
              f"{cell('BM_EfGaussianK', log2d, ppm, 2, base)} |")
    print()
    reads = []
    for log2d in sorted({p[0] for p in points}):
        r1 = med.get(("BM_StreamRead", log2d, 0, 1))
        r2 = med.get(("BM_StreamRead", log2d, 0, 2))
        if r1 and r2:
            line = f"2^{log2d}: {fmt_time(r1)} on 1 thread, {fmt_time(r2)} on 2"
            f1 = med.get(("BM_AddFloor", log2d, 0, 1))
            if f1:
                line += f" (e += u on 1 thread: {fmt_time(f1)}, {f1 / r1:.2f}x the read)"
            reads.append(line)
    if reads:
        print("Streaming read in the same run: " + "; ".join(reads) + ".")
        print()
    print("Goals (ratios against the one-thread streaming read at the same d):")
    for log2d, ppm in points:
        base = med.get(("BM_StreamRead", log2d, 0, 1))
        t1 = med.get(("BM_TopK", log2d, ppm, 1))
        t2 = med.get(("BM_TopK", log2d, ppm, 2))
        e1 = med.get(("BM_EfTopK", log2d, ppm, 1))
        e2 = med.get(("BM_EfTopK", log2d, ppm, 2))
        nth = med.get(("BM_NthElement", log2d, ppm, 1))
        if not (base and t1 and e1):
            continue

        def mark(ok):
            return "met" if ok else "MISSED"

        parts = [f"TopK 1t {t1 / base:.2f}x ({mark(t1 <= 3 * base)})"]
        if t2:
            parts.append(f"2t {t2 / base:.2f}x ({mark(t2 < t1)} faster than 1t)")
        floor = med.get(("BM_AddFloor", log2d, 0, 1))
        ef = f"EF 1t {e1 / base:.2f}x ({mark(e1 <= 4 * base)}"
        ef += f"; {e1 / floor:.2f}x e += u)" if floor else ")"
        parts.append(ef)
        if e2:
            parts.append(f"2t {e2 / base:.2f}x ({mark(e2 < e1)} faster than 1t)")
        if nth:
            parts.append(f"nth_element/TopK {nth / t1:.0f}x ({mark(nth >= 10 * t1)})")
        print(f"- 2^{log2d}, {ppm / 1e4:g}%: " + "; ".join(parts))


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    ctx, times, med, simd = load(argv[1])
    header(ctx, times, simd)
    if "--doc" in argv[2:]:
        doc(med)
    else:
        generic(med)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
