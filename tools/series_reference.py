"""PyTorch reference for graft's time-series task (docs/series.md): from the weekly changes of
the Mauna Loa CO2 concentration over the last 52 weeks, forecast its change over the next 4
weeks, with a small Conv1D network.

    /usr/bin/python3 tools/series_reference.py                 # 50 epochs, seeds 1,2,3
    /usr/bin/python3 tools/series_reference.py --self-test     # the windowing checks only
    /usr/bin/python3 tools/series_reference.py --csv PATH --epochs 50 --seeds 1,2,3

The data is co2.csv from Debian's python3-statsmodels (tools/setup.sh --series). It prints the
preprocessing numbers (mean, std, window counts, the first shuffled start positions) for the
C++ example to check against, then the test MSE/MAE per seed, normalised and in ppm, and the
naive "repeat the last value" baseline (no change).

Everything graft must match is here, in this order (docs/series.md has it with the numbers):
  * read column 'co2' (column 'date' is not used); an empty field is missing (59 of 2,284);
  * fill each run of missing values by linear interpolation in the row index between the known
    neighbours a < i < b: slope = (v[b] - v[a]) / (b - a); v[i] = slope * (i - a) + v[a]
    (float64; the first and last values are known);
  * weekly changes d[i] = v[i + 1] - v[i], i < n - 1 (float64);
  * split d by time: n_train = (n - 1) * 70 // 100, n_val = (n - 1) * 15 // 100, test the rest;
  * normalise with the training part's mean and population std (ddof 0), in float64, then
    cast to float32: z[i] = float32((d[i] - mean) / std);
  * targets: the change over the 4 weeks after a window, normalised the same way,
    y[t] = float32(((v[t + 56] - v[t + 52]) - 4 * mean) / std), t < n - 56;
  * windows exactly as Keras 3's timeseries_dataset_from_array (below) with data = z[:n - 56]
    and targets = y, sequence_length 52, batch_size 128: the window starting at t holds
    z[t .. t + 51] (the changes between the levels v[t] .. v[t + 52]) and its target is y[t];
    train: start_index 0, end_index n_train, shuffle=True, seed=seed; val: start_index
    n_train, end_index n_train + n_val; test: start_index n_train + n_val (no end_index);
  * model (Keras layout, channels-last input (52, 1)): Conv1D(16, 3, relu) -> Conv1D(16, 3,
    relu) -> Flatten -> Dense(1); glorot_uniform kernels (nn.init.xavier_uniform_ computes
    Keras's fans for PyTorch's (out, in, k) layout), zero biases;
  * Adam(1e-3, beta_1 0.9, beta_2 0.999, epsilon 1e-7) with Keras's epsilon-hat (PyTorch's eps
    is set each step to epsilon / sqrt(1 - beta_2^t), which makes the updates equal);
  * MSE loss, 50 epochs, each epoch the same train batches in the same order (see
    timeseries_dataset_from_array's note on shuffling).
A prediction p is a level forecast: v[t + 52] + p * std + 4 * mean; its error in ppm is the
normalised error times std.
"""

import argparse
import csv
import math
import os
import time

import numpy as np
import torch
from torch import nn

SEQUENCE_LENGTH = 52  # weekly changes in a window
HORIZON = 4  # the target is the change over this many weeks after the window
BATCH_SIZE = 128
CSV_CANDIDATES = [
    "data/co2/co2.csv",  # tools/setup.sh --series (unpacked from the .deb)
    "/usr/lib/python3/dist-packages/statsmodels/datasets/co2/co2.csv",  # package installed
]


def find_csv(path):
    candidates = [path] if path else ([os.environ["GRAFT_SERIES_CSV"]]
                                      if os.environ.get("GRAFT_SERIES_CSV") else CSV_CANDIDATES)
    for c in candidates:
        if os.path.isfile(c):
            return c
    raise SystemExit(f"series_reference.py: no co2.csv at {', '.join(candidates)}. "
                     "Fix: run tools/setup.sh --series, or pass --csv PATH")


def read_co2(path):
    """The 'co2' column as float64, NaN where the field is empty (Python's csv module: a reader
    independent of graft's libcsv)."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    column = rows[0].index("co2")
    return np.array([float(r[column]) if r[column].strip() else math.nan for r in rows[1:]],
                    dtype=np.float64)


def interpolate(v):
    """Linear interpolation of each run of NaN between its known neighbours (float64)."""
    v = v.copy()
    known = np.flatnonzero(~np.isnan(v))
    if known.size == 0 or known[0] != 0 or known[-1] != len(v) - 1:
        raise SystemExit("series_reference.py: the first and last values must be known")
    for a, b in zip(known[:-1], known[1:]):
        if b - a > 1:
            slope = (v[b] - v[a]) / (b - a)
            for i in range(a + 1, b):
                v[i] = slope * (i - a) + v[a]
    return v


def timeseries_dataset_from_array(data, targets, sequence_length, sequence_stride=1,
                                  sampling_rate=1, batch_size=128, shuffle=False, seed=None,
                                  start_index=None, end_index=None):
    """Keras 3's keras.utils.timeseries_dataset_from_array (keras/src/utils/
    timeseries_dataset_utils.py, the tf.data path) as a list of (x, y) numpy batches: the same
    argument checks, the same start positions, windows, targets and order.

    Start positions are relative to start_index: p in range(0, num_seqs, sequence_stride) with
    num_seqs = end_index - start_index - (sequence_length - 1) * sampling_rate, lowered to
    len(targets) when targets are given. Window p is data[start_index + p + k * sampling_rate]
    for k < sequence_length; its target is targets[start_index + p] (Keras gathers it from
    targets[start_index:end_index]). shuffle=True permutes the start positions once with
    np.random.RandomState(seed).shuffle (seed None: np.random.randint(1e6)).

    Not reproduced: with shuffle=True and a batch_size, Keras also passes the samples through
    tf.data's Dataset.shuffle(buffer_size=batch_size * 8, seed=seed), which reshuffles locally
    at every epoch with TensorFlow's own generator; no other library can reproduce that order.
    Here every epoch sees the batches of the one permutation, in the same order.
    """
    n = len(data)
    # Keras's checks (note `if start_index:` and `if end_index:`: 0 skips them).
    if start_index:
        if start_index < 0:
            raise ValueError(f"`start_index` must be 0 or greater. Received: {start_index}")
        if start_index >= n:
            raise ValueError(f"`start_index` must be lower than the length of the data "
                             f"({n}). Received: {start_index}")
    if end_index:
        if start_index and end_index <= start_index:
            raise ValueError("`end_index` must be higher than `start_index`")
        if end_index >= n:  # sic: end_index == len(data) is refused; pass None for the end
            raise ValueError(f"`end_index` must be lower than the length of the data ({n}). "
                             f"Received: {end_index}")
        if end_index <= 0:
            raise ValueError(f"`end_index` must be higher than 0. Received: {end_index}")
    if sampling_rate <= 0 or sampling_rate >= n:
        raise ValueError(f"`sampling_rate` must be in [1, {n}). Received: {sampling_rate}")
    if sequence_stride <= 0 or sequence_stride >= n:
        raise ValueError(f"`sequence_stride` must be in [1, {n}). Received: {sequence_stride}")

    start_index = 0 if start_index is None else start_index
    end_index = n if end_index is None else end_index
    num_seqs = end_index - start_index - (sequence_length - 1) * sampling_rate
    if targets is not None:
        num_seqs = min(num_seqs, len(targets))
    index_dtype = np.int32 if num_seqs < 2147483647 else np.int64
    start_positions = np.arange(0, num_seqs, sequence_stride, dtype=index_dtype)
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        np.random.RandomState(seed).shuffle(start_positions)

    steps = np.arange(sequence_length) * sampling_rate
    x = np.stack([data[start_index + p + steps] for p in start_positions]) if len(
        start_positions) else np.zeros((0, sequence_length) + data.shape[1:], data.dtype)
    y = None
    if targets is not None:
        limit = min(end_index, len(targets))
        if len(start_positions) and start_index + start_positions.max() >= limit:
            raise ValueError("a target index is past the end of targets (TensorFlow fails "
                             "there too): make targets as long as data")
        y = targets[start_index + start_positions]
    if batch_size is None:  # single samples, not batches
        return [(x[i], None if y is None else y[i]) for i in range(len(x))], start_positions
    batches = []
    for b in range(0, len(x), batch_size):
        batches.append((x[b:b + batch_size], None if y is None else y[b:b + batch_size]))
    return batches, start_positions


def shuffle_with_raw_draws(n, seed):
    """RandomState(seed).shuffle(np.arange(n)) spelled out for a C++ port: MT19937 seeded with
    init_genrand(seed) (std::mt19937(seed)); for i = n-1 down to 1: mask = i with every bit
    below its highest set; draw v = next32() & mask until v <= i; swap a[i], a[v]."""
    bits = np.random.RandomState(seed)._bit_generator
    a = list(range(n))
    for i in range(n - 1, 0, -1):
        mask = i
        for s in (1, 2, 4, 8, 16, 32):
            mask |= mask >> s
        while True:
            v = int(bits.random_raw()) & mask
            if v <= i:
                break
        a[i], a[v] = a[v], a[i]
    return np.array(a)


def self_test():
    """Keras's docstring examples, and the shuffle spelled out, must hold."""
    data = np.arange(99)
    batches, _ = timeseries_dataset_from_array(data, None, sequence_length=10, sampling_rate=2,
                                               sequence_stride=3, batch_size=None)
    seqs = [x for x, _ in batches]
    assert list(seqs[0]) == list(range(0, 20, 2)), seqs[0]
    assert list(seqs[1]) == list(range(3, 23, 2)), seqs[1]
    assert list(seqs[-1]) == list(range(78, 98, 2)), seqs[-1]  # 96 last: 97, 98 unused
    steps = np.arange(20)
    batches, _ = timeseries_dataset_from_array(steps[:-10], steps[10:], sequence_length=10)
    x, y = batches[0]
    assert list(x[0]) == list(range(10)) and y[0] == 10 and len(x) == 1, (x, y)
    # start_index / end_index: positions are relative to start_index, targets too.
    batches, _ = timeseries_dataset_from_array(steps[:-3], steps[3:], sequence_length=4,
                                               start_index=5, end_index=12)
    x, y = batches[0]
    assert [list(w) for w in x] == [list(range(s, s + 4)) for s in range(5, 9)], x
    assert list(y) == [8, 9, 10, 11], y
    for bad in (dict(end_index=17), dict(start_index=17), dict(start_index=5, end_index=5)):
        try:
            timeseries_dataset_from_array(steps[:-3], steps[3:], 4, **bad)
            raise AssertionError(f"accepted {bad}")
        except ValueError:
            pass
    assert int(np.random.RandomState(1)._bit_generator.random_raw()) == 1791095845
    for seed in (1, 2, 3):
        for n in (1, 2, 7, 1547):
            ref = np.arange(n, dtype=np.int32)
            np.random.RandomState(seed).shuffle(ref)
            assert (shuffle_with_raw_draws(n, seed) == ref).all(), (seed, n)
    print("self-test: Keras's windowing examples and the spelled-out shuffle agree")


class Net(nn.Module):
    """Conv1D(16, 3, relu) -> Conv1D(16, 3, relu) -> Flatten -> Dense(1), channels-last input."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(1, 16, 3)
        self.conv2 = nn.Conv1d(16, 16, 3)
        self.dense = nn.Linear((SEQUENCE_LENGTH - 4) * 16, 1)
        for m in (self.conv1, self.conv2, self.dense):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)

    def forward(self, x):  # x: (N, 52, 1)
        h = torch.relu(self.conv1(x.transpose(1, 2)))
        h = torch.relu(self.conv2(h))  # (N, 16, 48)
        h = h.transpose(1, 2).reshape(len(x), -1)  # Keras's Flatten order: (steps, channels)
        return self.dense(h)  # (N, 1)


def evaluate(net, batches):
    """Mean squared and absolute error over all windows (normalised units)."""
    err = []
    with torch.no_grad():
        for x, y in batches:
            p = net(torch.from_numpy(x)[:, :, None])[:, 0].numpy()
            err.append(p.astype(np.float64) - y)
    e = np.concatenate(err)
    return float(np.mean(e * e)), float(np.mean(np.abs(e)))


def train(seed, splits, epochs, lr=1e-3, beta_2=0.999, epsilon=1e-7):
    torch.manual_seed(seed)
    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=lr, betas=(0.9, beta_2), eps=epsilon)
    train_batches, val_batches, test_batches = splits
    samples = sum(len(x) for x, _ in train_batches)
    t = 0
    start = time.time()
    for epoch in range(epochs):
        loss_sum = 0.0
        for x, y in train_batches:
            t += 1
            opt.param_groups[0]["eps"] = epsilon / math.sqrt(1.0 - beta_2 ** t)  # Keras eps-hat
            xb = torch.from_numpy(x)[:, :, None]
            yb = torch.from_numpy(y)[:, None]
            opt.zero_grad()
            loss = torch.mean((net(xb) - yb) ** 2)
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(x)  # Keras 3 weights the logged loss by batch size
        if (epoch + 1) % 10 == 0 or epoch + 1 == epochs:
            val_mse, _ = evaluate(net, val_batches)
            print(f"  seed {seed} epoch {epoch + 1}/{epochs}: loss {loss_sum / samples:.5f} - "
                  f"val_mse {val_mse:.5f}")
    return evaluate(net, val_batches), evaluate(net, test_batches), time.time() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--csv", default="", help="co2.csv (default: tools/setup.sh --series's)")
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--self-test", action="store_true", help="only check the windowing")
    a = ap.parse_args()
    torch.set_num_threads(1)
    self_test()
    if a.self_test:
        return

    path = find_csv(a.csv)
    raw = read_co2(path)
    n = len(raw)
    missing = int(np.isnan(raw).sum())
    v = interpolate(raw)
    d = v[1:] - v[:-1]
    n_train, n_val = (n - 1) * 70 // 100, (n - 1) * 15 // 100
    mean = float(np.mean(d[:n_train]))
    std = float(np.std(d[:n_train]))
    z = ((d - mean) / std).astype(np.float32)
    last = SEQUENCE_LENGTH  # the level index a window's changes end at, for t = 0
    change = v[last + HORIZON:] - v[last:n - HORIZON]  # v[t + 56] - v[t + 52]
    targets = ((change - HORIZON * mean) / std).astype(np.float32)
    data = z[:len(targets)]
    print(f"{path}: {n} weeks, {missing} missing (interpolated); {n - 1} weekly changes: "
          f"train {n_train}, val {n_val}, test {n - 1 - n_train - n_val}")
    print(f"train mean {mean!r} ppm/week, std {std!r} ppm/week (float64, ddof 0)")
    print(f"z[0] {z[0]!r}, z[{n - 2}] {z[-1]!r}; targets {len(targets)}: y[0] {targets[0]!r}, "
          f"y[{len(targets) - 1}] {targets[-1]!r} (float32)")

    val_batches, _ = timeseries_dataset_from_array(data, targets, SEQUENCE_LENGTH,
                                                   batch_size=BATCH_SIZE, start_index=n_train,
                                                   end_index=n_train + n_val)
    test_batches, test_pos = timeseries_dataset_from_array(data, targets, SEQUENCE_LENGTH,
                                                           batch_size=BATCH_SIZE,
                                                           start_index=n_train + n_val)
    count = lambda bs: sum(len(x) for x, _ in bs)  # noqa: E731
    print(f"windows: val {count(val_batches)}, test {count(test_batches)} (test windows start "
          f"at t = {n_train + n_val} .. {n_train + n_val + test_pos.max()})")

    # The naive forecast repeats the last level: a change of 0, normalised -4 * mean / std.
    naive = np.concatenate([-HORIZON * mean / std - y.astype(np.float64) for _, y in test_batches])
    naive_mse, naive_mae = float(np.mean(naive * naive)), float(np.mean(np.abs(naive)))

    results = []
    for seed in [int(s) for s in a.seeds.split(",")]:
        train_batches, train_pos = timeseries_dataset_from_array(
            data, targets, SEQUENCE_LENGTH, batch_size=BATCH_SIZE, shuffle=True, seed=seed,
            start_index=0, end_index=n_train)
        print(f"seed {seed}: {count(train_batches)} train windows in {len(train_batches)} "
              f"batches; first start positions {list(train_pos[:8])}")
        (val_mse, _), (mse, mae), seconds = train(
            seed, (train_batches, val_batches, test_batches), a.epochs)
        results.append((mse, mae))
        print(f"seed {seed}: test mse {mse:.5f} mae {mae:.5f} (normalised); "
              f"mse {mse * std * std:.4f} ppm^2, mae {mae * std:.4f} ppm; val mse "
              f"{val_mse:.5f}; {seconds:.1f} s")
    print(f"naive (repeat the last value): test mse {naive_mse:.5f} mae {naive_mae:.5f} "
          f"(normalised); mse {naive_mse * std * std:.4f} ppm^2, mae {naive_mae * std:.4f} ppm")
    mses = [r[0] for r in results]
    maes = [r[1] * std for r in results]
    print(f"over seeds: test mse {np.mean(mses):.5f} (min {min(mses):.5f}, max {max(mses):.5f}); "
          f"mae {np.mean(maes):.4f} ppm (min {min(maes):.4f}, max {max(maes):.4f})")


if __name__ == "__main__":
    main()
