#!/usr/bin/python3
"""The benchmark models M1..M5 (bench/models.h) in PyTorch Python; one JSON line out.

Run by bench/compare (one process per measurement), with the same flags as
bench/libtorch_runner:

  /usr/bin/python3 bench/pytorch_models.py --model=M2 --mode=train --batch=32 --threads=1 \
      --data_dir=DIR [--repetitions=5 --min_seconds=2 --warmup_seconds=1 --seed=1]

Same models, data, initialisation (glorot uniform, zero bias), Adam (Keras defaults) and timing
protocol (bench/timing.h) as graft and libtorch: warm up, then `repetitions` windows of whole
steps lasting at least `min_seconds`; median, min and max samples/s. --channels_last=1 (which
bench/compare passes for M2, M4 and M5) runs an image model in channels-last memory format. A
train step is zero_grad(set_to_none) + forward + loss on logits + backward + Adam step;
inference is a forward under torch.inference_mode() plus softmax/sigmoid. M5 (ResNet-8) matches
bench/libtorch_runner.cc: BatchNorm2d(eps=1e-3, momentum=0.01) as Keras's defaults, and stride-2
3x3 convolutions with padding=1 (the same shapes and work as Keras's "same";
tools/resnet_reference.py pads exactly as Keras for the accuracy comparison).
Exit status 3: torch cannot be imported.
"""

import argparse
import json
import os
import statistics
import sys
import time

try:
    import numpy as np
    import torch
    from torch import nn
except ImportError as e:  # the driver skips PyTorch on status 3
    print(f"pytorch_models.py: {e} (install python3-torch: tools/setup.sh --bench)",
          file=sys.stderr)
    sys.exit(3)


class FlattenHwc(nn.Module):
    """Keras's Flatten on an image: (H, W, C) order; a view on a channels-last tensor."""

    def forward(self, x):
        return x.permute(0, 2, 3, 1).flatten(1)


def keras_bn(c):
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)


class ResidualBlock(nn.Module):
    """conv3x3(stride) BN ReLU conv3x3 BN + shortcut (identity or strided 1x1 conv), ReLU."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1)
        self.bn1 = keras_bn(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.bn2 = keras_bn(cout)
        self.shortcut = (nn.Conv2d(cin, cout, 1, stride=stride)
                         if stride != 1 or cin != cout else None)

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + (x if self.shortcut is None else self.shortcut(x)))


class ResNet8(nn.Module):
    """M5: stem conv3x3(16) BN ReLU, blocks of 16/32/64 filters (strides 1/2/2), GAP, Linear."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 16, 3, padding=1)
        self.bn = keras_bn(16)
        self.blocks = nn.Sequential(ResidualBlock(16, 16, 1), ResidualBlock(16, 32, 2),
                                    ResidualBlock(32, 64, 2))
        self.dense = nn.Linear(64, 10)

    def forward(self, x):
        h = self.blocks(torch.relu(self.bn(self.stem(x))))
        return self.dense(h.mean(dim=(2, 3)))


def make_net(model, channels_last):
    flatten = FlattenHwc() if channels_last else nn.Flatten()
    if model == "M1":
        layers = [nn.Conv1d(3, 32, 5), nn.ReLU(), nn.MaxPool1d(2), nn.Flatten(),
                  nn.Linear(48 * 32, 1)]
    elif model == "M2":
        layers = [nn.Conv2d(3, 32, 3), nn.ReLU(), nn.MaxPool2d(2), flatten,
                  nn.Linear(15 * 15 * 32, 10)]
    elif model == "M3":
        layers = [nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
                  nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), flatten,
                  nn.Dropout(0.5), nn.Linear(5 * 5 * 64, 10)]
    elif model == "M4":
        layers = [nn.Conv2d(3, 64, 3, padding=1), nn.ReLU(),
                  nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                  nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(),
                  nn.Conv2d(128, 128, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), flatten,
                  nn.Linear(8 * 8 * 128, 10)]
    net = ResNet8() if model == "M5" else nn.Sequential(*layers)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if "bn" in name:
                continue  # BatchNorm: gamma 1, beta 0 (PyTorch's defaults, Keras's too)
            if "weight" in name:
                nn.init.xavier_uniform_(p)  # Keras glorot_uniform: same fans
            else:
                nn.init.zeros_(p)
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    return net


def measure(step, batch, warmup_seconds, min_seconds, repetitions):
    start = time.perf_counter()
    i = 0
    while i < 2 or time.perf_counter() - start < warmup_seconds:
        step()
        i += 1
    windows, total_steps, total_seconds, latencies = [], 0, 0.0, []
    for _ in range(repetitions):
        steps = 0
        start = before = time.perf_counter()
        while True:
            step()
            after = time.perf_counter()
            latencies.append(after - before)
            before = after
            steps += 1
            seconds = after - start
            if seconds >= min_seconds:
                break
        windows.append(float(f"{steps * batch / seconds:.6g}"))
        total_steps += steps
        total_seconds += seconds
    latencies.sort()
    def pct(p):
        return 1e6 * latencies[min(len(latencies) - 1, int(p * len(latencies)))]
    return windows, total_steps, total_seconds, (pct(0.50), pct(0.99))


def loaded_blas():
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line[line.find("/"):].strip() if "/" in line else ""
            if "blas" in os.path.basename(path):
                libs.add(path)
    return ",".join(sorted(libs))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="M1", choices=["M1", "M2", "M3", "M4", "M5"])
    ap.add_argument("--mode", default="train", choices=["train", "infer"])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repetitions", type=int, default=5)
    ap.add_argument("--min_seconds", type=float, default=2.0)
    ap.add_argument("--warmup_seconds", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data_dir", required=True)
    ap.add_argument("--config", default="default", help="recorded in the report")
    ap.add_argument("--channels_last", type=int, default=1,
                    help="1: channels-last memory format for M2..M5 (bench/compare passes 1 "
                         "for M2, M4 and M5, 0 otherwise)")
    a = ap.parse_args()

    torch.set_num_interop_threads(1)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    channels_last = bool(a.channels_last) and a.model != "M1"
    binary = a.model == "M1"

    # The data, in torch's layout; channels-last keeps the file's NHWC bytes as they are.
    x = torch.from_numpy(np.load(os.path.join(a.data_dir, f"{a.model}_x.npy")))
    y = torch.from_numpy(np.load(os.path.join(a.data_dir, f"{a.model}_y.npy")))
    if x.dim() == 3:
        x = x.permute(0, 2, 1).contiguous()
    else:
        x = x.permute(0, 3, 1, 2).contiguous(
            memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    num_batches = x.shape[0] // a.batch
    if num_batches == 0:
        sys.exit(f"batch {a.batch} is larger than the data ({x.shape[0]} samples)")

    net = make_net(a.model, channels_last)
    adam = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    loss_fn = (nn.functional.binary_cross_entropy_with_logits if binary
               else nn.functional.cross_entropy)
    b = a.batch
    state = {"i": 0}

    def next_batch():
        i = state["i"]
        state["i"] = (i + 1) % num_batches
        return i * b

    if a.mode == "train":
        net.train()

        def step():
            s = next_batch()
            adam.zero_grad(set_to_none=True)
            loss = loss_fn(net(x[s:s + b]), y[s:s + b])
            loss.backward()
            adam.step()
    else:
        net.eval()

        def step():
            s = next_batch()
            with torch.inference_mode():
                out = net(x[s:s + b])
                out = torch.sigmoid(out) if binary else torch.softmax(out, 1)

    windows, steps, seconds, (p50, p99) = measure(step, b, a.warmup_seconds, a.min_seconds,
                                                  a.repetitions)
    report = {
        "framework": "pytorch", "config": a.config, "model": a.model, "mode": a.mode,
        "batch": b, "threads": a.threads,
        "samples_per_s": statistics.median(windows),
        "samples_per_s_min": min(windows), "samples_per_s_max": max(windows),
        "windows": windows, "steps": steps, "seconds": round(seconds, 6),
        "p50_us": float(f"{p50:.6g}"), "p99_us": float(f"{p99:.6g}"),
        "num_batches": num_batches, "channels_last": channels_last,
        "torch_version": torch.__version__, "torch_threads": torch.get_num_threads(),
        "blas": loaded_blas(),
    }
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
