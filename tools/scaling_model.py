#!/usr/bin/env python3
"""Summarises a bench/data_parallel.sh run and predicts data-parallel scaling from it.

Usage: tools/scaling_model.py bench/results/data_parallel-<utc>     (prints Markdown)

The model (docs/distributed.md): a step on N machines takes
    T(N) = T_compute(b) + max(0, T_allreduce(N) - H)
    T_allreduce(N) = 2 (N-1) * k * alpha + 2 (N-1)/N * G / beta
with b the per-machine batch (weak scaling: the global batch is N * b), G the gradient bytes,
k the buckets per step, alpha the latency of one message step, beta the link's bandwidth, and
H the communication the backward pass hides (measured over the rate-limited veth: the sum time of one bucket
after the backward pass minus the time a step waits with overlapped buckets). T_compute is the
1-rank x 2-thread step time measured on this machine: a "machine" below is one like it.
"""
import json
import os
import statistics
import sys


DEFAULT_BUCKET = 256 << 10  # graft's default gradient bucket (GRAFT_DIST_BUCKET_BYTES)


def load_jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.startswith("{")]


def load_json(path):
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def fit_latency_bandwidth(allreduce):
    """Least squares t = a + bytes / bw over the sweep's single allreduces of 4 KiB to 1 MiB
    (the gradients' range; a rate-limited link's queue distorts larger ones)."""
    pts = [(r["bytes"], r["median_us"] * 1e-6) for r in allreduce["results"]
           if r["way"] == "single" and r["name"].startswith("sweep")
           and 4096 <= r["bytes"] <= 1 << 20]
    if len(pts) < 2:
        pts = [(r["bytes"], r["median_us"] * 1e-6) for r in allreduce["results"]
               if r["way"] == "single"]
    n = len(pts)
    mx = sum(p[0] for p in pts) / n
    my = sum(p[1] for p in pts) / n
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    sxy = sum((p[0] - mx) * (p[1] - my) for p in pts)
    slope = sxy / sxx if sxx else 0
    a = max(my - slope * mx, min(p[1] for p in pts) / 2)
    return a, (1 / slope if slope > 0 else float("inf"))


def main(out):
    lines = []
    p = lines.append
    thr = load_jsonl(os.path.join(out, "throughput.jsonl"))
    cpu = ""
    for name in ("allreduce-shm.json", "allreduce-tcp-lo.json", "allreduce-veth.json"):
        a = load_json(os.path.join(out, name))
        if a:
            cpu = a.get("cpu", cpu)
    p(f"# Data-parallel measurements ({os.path.basename(out)}, CPU: {cpu or 'unknown'})\n")

    # 1. 1 x 2 against 2 x 1.
    by = {}
    for r in thr:
        by[(r["model"], r["batch"], r["config"])] = r
    p("## 1 rank x 2 threads vs 2 ranks x 1 thread (same global batch, shared memory)\n")
    p("| model | global batch | 1x2 samples/s (min-max) | 2x1 samples/s (min-max) | 2x1 / 1x2 |"
      " 2x1 blocked in allreduce, ms/step |")
    p("|---|---:|---:|---:|---:|---:|")
    for (model, batch, config), r in sorted(by.items()):
        if config != "1x2" or (model, batch, "2x1") not in by:
            continue
        s = by[(model, batch, "2x1")]
        p(f"| {model} | {batch} | {r['samples_per_s']:.0f} ({r['samples_per_s_min']:.0f}-"
          f"{r['samples_per_s_max']:.0f}) | {s['samples_per_s']:.0f} ({s['samples_per_s_min']:.0f}-"
          f"{s['samples_per_s_max']:.0f}) | {s['samples_per_s'] / r['samples_per_s']:.2f} | "
          f"{s['blocked_ms_per_step']:.3f} |")
    p("")

    # 2. Allreduce.
    fits = {}
    p("## MPI allreduce, 2 ranks, at the models' gradient sizes (one call; median, µs)\n")
    transports = []
    for name in ("allreduce-shm.json", "allreduce-tcp-lo.json", "allreduce-veth.json"):
        a = load_json(os.path.join(out, name))
        if a:
            transports.append(a)
            fits[a["transport"]] = fit_latency_bandwidth(a)
    if transports:
        p("| gradient | bytes | " + " | ".join(a["transport"] for a in transports) + " |")
        p("|---|---:|" + "---:|" * len(transports))
        names = [r for r in transports[0]["results"]
                 if r["way"] == "single" and not r["name"].startswith("sweep")]
        for r in names:
            cells = []
            for a in transports:
                m = [x for x in a["results"] if x["name"] == r["name"] and x["way"] == "single"]
                cells.append(f"{m[0]['median_us']:.1f}" if m else "-")
            p(f"| {r['name']} | {r['bytes']} | " + " | ".join(cells) + " |")
        p("")
        p("Fitted t = latency + bytes / bandwidth (sweep, 4 KiB to 1 MiB):\n")
        for t, (a, bw) in fits.items():
            p(f"- {t}: latency {a * 1e6:.1f} µs, bandwidth {bw / 1e9:.2f} GB/s "
              f"({bw * 8 / 1e9:.1f} Gbit/s)")
        p("")

    # 3. Overlap over the rate-limited veth (medians over the rounds).
    ov = load_jsonl(os.path.join(out, "overlap.jsonl"))
    alone_json = load_json(os.path.join(out, "allreduce-overlap.json"))
    hidden = {}  # model -> fraction of the sum the backward pass hid (default buckets)
    if ov and alone_json:
        rate = alone_json["transport"]
        p(f"## Overlap: 2 ranks over a rate-limited link ({rate}), global batch 64\n")
        p("exposed = step time - the step time over the unlimited veth (same ranks, same "
          "compute); sum alone = one MPI_Allreduce of the whole gradient over the limited link; "
          "hidden = 1 - exposed / sum alone. Medians over the rounds (step times of each round "
          "in brackets).\n")
        p("| model | buckets | bucket bytes | ms/step | exposed ms | sum alone ms | hidden | "
          "blocked in Wait, ms/step |")
        p("|---|---|---:|---:|---:|---:|---:|---:|")
        for model in sorted({r["model"] for r in ov}):
            rows = [r for r in ov if r["model"] == model]
            alone = [x for x in alone_json["results"] if x["name"] == model and x["way"] == "single"]
            ref = [r["ms_per_step"] for r in rows if r["config"] == "veth-unlimited"]
            if not ref or not alone:
                continue
            ref_ms = statistics.median(ref)
            sum_ms = alone[0]["median_us"] / 1e3
            p(f"| {model} | reference (unlimited veth) | 1048576 | {ref_ms:.2f} "
              f"({', '.join('%.1f' % x for x in ref)}) | - | - | - | - |")
            for i, bucket in enumerate(sorted({r["bucket_bytes"] for r in rows
                                               if r["config"] != "veth-unlimited"}, reverse=True)):
                rs = [r for r in rows if r["config"] != "veth-unlimited"
                      and r["bucket_bytes"] == bucket]
                ms = statistics.median(r["ms_per_step"] for r in rs)
                blocked = statistics.median(r["blocked_ms_per_step"] for r in rs)
                exposed = ms - ref_ms
                h = 1 - exposed / sum_ms
                # Trusted only where the reference's rounds agree far better than the effect.
                spread = max(ref) - min(ref) + max(r["ms_per_step"] for r in rs) - \
                    min(r["ms_per_step"] for r in rs)
                if bucket == DEFAULT_BUCKET and sum_ms > 4 * spread:
                    hidden[model] = min(1.0, max(0.0, h))
                label = ("1, after the backward pass" if i == 0
                         else f"{rs[0]['buckets_per_step']:.0f}, during it")
                p(f"| {model} | {label} | {bucket} | {ms:.2f} "
                  f"({', '.join('%.1f' % r['ms_per_step'] for r in rs)}) | {exposed:.2f} | "
                  f"{sum_ms:.2f} | {100 * h:.0f}% | {blocked:.2f} |")
        p("")

    # 4. The model's predictions.
    alpha = 25e-6  # one message step on a switched 10/25 GbE TCP network (assumed; see docs)
    if thr:
        p("## Predicted weak scaling (per-machine batch fixed; machines like this one, 1 rank x "
          "2 threads each)\n")
        p(f"T(N) = T_compute + (1 - h) * (2(N-1)/N * G / beta + 2(N-1) * k * alpha); "
          f"alpha = {alpha * 1e6:.0f} µs per message step, beta = 90% of the link rate, k = "
          "buckets per step, h = the fraction of the sum the backward pass hid over the "
          "rate-limited veth with the default buckets (0 where the effect was not clearly above "
          "the noise). Cells: global samples/s (efficiency T(1)/T(N)).\n")
        ns = (2, 4, 8, 16, 64)
        p("| model | batch/machine | T_compute ms | G bytes | k | h | link | "
          + " | ".join(f"N={n}" for n in ns) + " | largest N at >= 80% |")
        p("|---|---:|---:|---:|---:|---:|---|" + "---:|" * len(ns) + "---:|")
        grads = {r["model"]: (r["grad_bytes_per_step"], r["buckets_per_step"])
                 for r in thr if r["config"] == "2x1"}
        for (model, batch, config), r in sorted(by.items()):
            if config != "1x2" or model not in grads:
                continue
            g, k = grads[model]
            tc = r["ms_per_step"] * 1e-3
            h = hidden.get(model, 0.0)
            for gbit in (10, 25):
                beta = 0.9 * gbit * 1e9 / 8

                def step(n):
                    return tc + (1 - h) * (2 * (n - 1) / n * g / beta + 2 * (n - 1) * k * alpha)

                cells = [f"{n * batch / step(n):.0f}/s ({100 * tc / step(n):.0f}%)" for n in ns]
                n80 = 1
                while n80 < 4096 and tc / step(n80 + 1) >= 0.8:
                    n80 += 1
                p(f"| {model} | {batch} | {tc * 1e3:.1f} | {g:.0f} | {k:.0f} | {h:.2f} | "
                  f"{gbit} Gbit/s | " + " | ".join(cells) +
                  f" | {n80 if n80 < 4096 else '>4096'} |")
        p("")
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1])
