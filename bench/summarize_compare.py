#!/usr/bin/python3
"""Tables for a bench/compare run, as Markdown, from its records (--json_out).

  /usr/bin/python3 bench/summarize_compare.py bench/results/compare-X/bench_results.json \
      > bench/results/compare-X/summary.md.tables

Three tables, each only where the run has its records: throughput and batch-1 latency per
model, mode, batch and thread count (graft beside libtorch tuned and ONNX Runtime, as ratios);
the thread budget (graft 2 threads / 1 thread, idle and contended; bold below 0.97, the
issue's target); bf16 mixed precision (graft "mixed_bfloat16" beside libtorch autocast).
The run's header (machine, commit, command) is the writer's to add.
"""
import json
import sys

THREAD_BUDGET_TARGET = 0.97


def fmt(v):
    if v is None:
        return "-"
    if v >= 1000:
        return f"{v / 1000:.1f}k"
    return f"{v:.0f}"


def ratio(a, b):
    return f"{a / b:.2f}×" if a and b else "-"


def latency(r):
    if r is None or r.get("batch") != 1 or r.get("p50_us") is None:
        return "-"
    return f"{r['p50_us']:.0f}/{r['p99_us']:.0f}"


def main(path):
    records = json.load(open(path))
    cell = {}
    for r in records:
        cell[(r["model"], r["mode"], r["batch"], r["threads"], r["framework"], r["config"])] = r
    keys = sorted({(r["model"], r["mode"] == "infer", r["batch"], r["threads"]) for r in records})

    def get(m, infer, b, t, fw, cfg):
        return cell.get((m, "infer" if infer else "train", b, t, fw, cfg))

    def runs(key, *framework_configs):
        # The records of one model/mode/batch/threads cell, one per (framework, config).
        return [get(*key, fw, cfg) for fw, cfg in framework_configs]

    def row_start(m, infer, b, t):
        return f"| {m} | {'infer' if infer else 'train'} | {b} | {t} | "

    def sps(r):
        return r["samples_per_s"] if r else None

    out = ["## Throughput and batch-1 latency", "",
           "| model | mode | batch | thr | graft | libtorch tuned | ONNX Runtime | graft ÷ libtorch "
           "| graft ÷ ORT | graft p50/p99 µs | libtorch p50/p99 µs | ORT p50/p99 µs |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for key in keys:
        g, lt, ort = runs(key, ("graft", "default"), ("libtorch", "tuned"),
                          ("onnxruntime", "default"))
        if g is None:
            continue
        out.append(f"{row_start(*key)}{fmt(sps(g))} | {fmt(sps(lt))} | {fmt(sps(ort))} | "
                   f"{ratio(sps(g), sps(lt))} | {ratio(sps(g), sps(ort))} | {latency(g)} | {latency(lt)} | {latency(ort)} |")

    budget = [("| model | mode | batch | idle 1 thr | idle 2 thr | 2/1 | contended 1 | contended 2 "
               "| 2/1 |"), "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    misses = cells = 0
    for m, infer, b in sorted({k[:3] for k in keys}):
        row = [m, "infer" if infer else "train", str(b)]
        seen = False
        for cfg in ("default", "contended"):
            one, two = (sps(get(m, infer, b, t, "graft", cfg)) for t in (1, 2))
            if one and two:
                seen = True
                cells += 1
                q = two / one
                misses += q < THREAD_BUDGET_TARGET
                mark = f"**{q:.2f}**" if q < THREAD_BUDGET_TARGET else f"{q:.2f}"
                row += [fmt(one), fmt(two), mark]
            else:
                row += ["-", "-", "-"]
        if seen:
            budget.append("| " + " | ".join(row) + " |")
    if cells:
        out += ["", f"## Thread budget (graft 2 threads ÷ graft 1 thread; bold: below "
                f"{THREAD_BUDGET_TARGET})", ""] + budget
        out += ["", f"{misses} of {cells} cells below {THREAD_BUDGET_TARGET}."]

    bf16 = []
    for key in keys:
        gb, g, lt, ltb = runs(key, ("graft", "bf16"), ("graft", "default"), ("libtorch", "tuned"),
                              ("libtorch", "autocast_bf16"))
        if gb is None:
            continue
        bf16.append(f"{row_start(*key)}{fmt(sps(g))} | {fmt(sps(gb))} | {fmt(sps(lt))} | {fmt(sps(ltb))} | {ratio(sps(gb), sps(g))} | "
                    f"{ratio(sps(gb), sps(ltb))} | {ratio(sps(ltb), sps(lt))} |")
    if bf16:
        out += ["", "## bf16 mixed precision (graft \"mixed_bfloat16\"; libtorch tuned under CPU "
                "autocast to bfloat16)", "",
                "| model | mode | batch | thr | graft fp32 | graft bf16 | libtorch fp32 | libtorch bf16 "
                "| graft bf16 ÷ fp32 | graft bf16 ÷ libtorch bf16 | libtorch bf16 ÷ fp32 |",
                "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"] + bf16
    print("\n".join(out))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: summarize_compare.py bench_results.json")
    main(sys.argv[1])
