#!/usr/bin/python3
"""Resident memory over a long training run (bench/soak's CSV) as a PNG.

  /usr/bin/python3 bench/plot_soak.py --csv bench/results/soak_rss.csv --png bench/results/soak_rss.png
"""

import argparse
import csv


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--csv", required=True)
    ap.add_argument("--png", required=True)
    a = ap.parse_args()
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(a.csv) as f:
        rows = list(csv.DictReader(f))
    steps = [int(r["step"]) for r in rows]
    rss = [float(r["rss_mb"]) for r in rows]
    peak = [float(r["peak_mb"]) for r in rows]
    base = next((p for s, p in zip(steps, peak) if s >= 1000), peak[0])
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(steps, rss, label="resident (VmRSS)")
    ax.plot(steps, peak, label="peak (VmHWM)")
    ax.axhspan(base, base * 1.01, color="green", alpha=0.15, label="peak at step 1,000 + 1%")
    ax.set_xlabel("training step (seed Conv2D, batch 32; every 50th epoch batch 48; Predict after each epoch)")
    ax.set_ylabel("MiB")
    ax.set_ylim(0, max(peak) * 1.2)
    ax.set_title("graft: memory over {:,} training steps".format(steps[-1]))
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(a.png, dpi=110)
    print("wrote", a.png)


if __name__ == "__main__":
    main()
