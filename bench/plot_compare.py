#!/usr/bin/python3
"""Bar chart of bench/compare's results: graft / libtorch, PyTorch and ONNX Runtime.

  /usr/bin/python3 bench/plot_compare.py --json bench_results.json --png bench_results.png

One group of bars per (model, mode, batch, threads); a bar above the line at 1.0 means graft is
faster. bench/compare calls it after writing the JSON. Needs matplotlib (Debian
python3-matplotlib); without it, says so and exits with status 0.
"""

import argparse
import json
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", required=True)
    ap.add_argument("--png", required=True)
    a = ap.parse_args()
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("plot: skipped, matplotlib is missing (apt-get install python3-matplotlib)")
        return 0

    with open(a.json) as f:
        records = json.load(f)
    rate = {}
    keys = []
    for r in records:
        key = (r["model"], r["mode"], r["batch"], r["threads"])
        if key not in keys:
            keys.append(key)
        rate[key + (r["framework"], r.get("config", "default"))] = r["samples_per_s"]

    series = [("libtorch", "tuned", "graft / libtorch (tuned)", "tab:blue"),
              ("libtorch", "default", "graft / libtorch (default)", "tab:cyan"),
              ("pytorch", "default", "graft / PyTorch", "tab:orange"),
              ("onnxruntime", "default", "graft / ONNX Runtime", "tab:green")]
    ratios = {}
    for fw, config, label, _ in series:
        ratios[label] = [
            rate[k + ("graft", "default")] / rate[k + (fw, config)]
            if k + ("graft", "default") in rate and k + (fw, config) in rate else None
            for k in keys]
    series = [s for s in series if any(v is not None for v in ratios[s[2]])]
    if not keys or not series:
        print("plot: skipped, no graft record with another framework's record beside it")
        return 0

    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.6 * len(keys) * len(series) + 2), 4.8))
    for j, (_, _, label, color) in enumerate(series):
        xs = [i + (j - (len(series) - 1) / 2) * width for i in range(len(keys))]
        vals = ratios[label]
        ax.bar([x for x, v in zip(xs, vals) if v is not None],
               [v for v in vals if v is not None], width, label=label, color=color)
    ax.axhline(1.0, color="black", linewidth=1)
    ax.set_xticks(range(len(keys)))
    ax.set_xticklabels([f"{m} {mode}\nb{b} t{t}" for m, mode, b, t in keys], fontsize=8)
    ax.set_ylabel("throughput ratio (> 1: graft faster)")
    ax.set_title("graft vs libtorch, PyTorch and ONNX Runtime (samples/s, median)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(a.png, dpi=120)
    print(f"wrote {a.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
