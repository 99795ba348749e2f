"""Calibrates the difficulty of graft's synthetic SensorFaults dataset (not run by tests).

Trains the seed's Conv1D model with PyTorch on data written by graft itself and prints the test
accuracy after every epoch. The default `noise` in keras/datasets/sensor_faults.h was chosen with
this script: about 96% after 10 epochs, well below 90% after 1 epoch.

    bazel build //keras/datasets:dump_sensor_faults
    bazel-bin/keras/datasets/dump_sensor_faults --out_dir=/tmp/sf/n0.10 --noise=0.1
    /usr/bin/python3 tools/calibrate_sensor_faults.py /tmp/sf/n0.10 [more dirs] --runs 3

The model, in Keras terms (the seed article's):
    Conv1D(32, 5, activation="relu", input_shape=(100, 3))  # valid padding
    MaxPooling1D(2)
    Flatten()                                              # channels-last order
    Dense(1, activation="sigmoid")
with Keras's initialisers (glorot_uniform kernels, zero biases), Adam(lr=1e-3, epsilon=1e-7),
binary cross-entropy on probabilities clipped to [1e-7, 1 - 1e-7], batch 32, reshuffled every
epoch. Run with Debian's interpreter (/usr/bin/python3 has torch and numpy).
"""
import argparse
import math
import os

import numpy as np
import torch


def load(data_dir):
    arrays = [np.load(os.path.join(data_dir, name + ".npy"))
              for name in ("x_train", "y_train", "x_test", "y_test")]
    return [torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)) for a in arrays]


def glorot_uniform_(weight, fan_in, fan_out):
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    torch.nn.init.uniform_(weight, -limit, limit)


class SeedModel(torch.nn.Module):
    def __init__(self, steps, channels, filters=32, kernel=5):
        super().__init__()
        self.conv = torch.nn.Conv1d(channels, filters, kernel)
        pooled = (steps - kernel + 1) // 2
        self.dense = torch.nn.Linear(pooled * filters, 1)
        # Keras's fans: Conv1D kernel (k, in, out) -> fan_in k*in, fan_out k*out.
        glorot_uniform_(self.conv.weight, kernel * channels, kernel * filters)
        glorot_uniform_(self.dense.weight, pooled * filters, 1)
        torch.nn.init.zeros_(self.conv.bias)
        torch.nn.init.zeros_(self.dense.bias)

    def forward(self, x):  # x: (N, steps, channels), channels-last like Keras
        h = torch.relu(self.conv(x.transpose(1, 2)))
        h = torch.nn.functional.max_pool1d(h, 2)
        h = h.transpose(1, 2).reshape(x.shape[0], -1)  # Keras Flatten: (steps, filters) order
        return torch.sigmoid(self.dense(h))


def accuracy(model, x, y):
    with torch.no_grad():
        return ((model(x) > 0.5).float() == y).float().mean().item()


def train(x_train, y_train, x_test, y_test, seed, epochs, batch_size=32):
    torch.manual_seed(seed)
    model = SeedModel(x_train.shape[1], x_train.shape[2])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    gen = torch.Generator().manual_seed(seed)
    history = []
    for _ in range(epochs):
        order = torch.randperm(len(x_train), generator=gen)
        for b in range(0, len(x_train), batch_size):
            idx = order[b:b + batch_size]
            p = model(x_train[idx]).clamp(1e-7, 1 - 1e-7)
            loss = torch.nn.functional.binary_cross_entropy(p, y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        history.append((accuracy(model, x_train, y_train), accuracy(model, x_test, y_test)))
    return history


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data_dirs", nargs="+", help="directories written by dump_sensor_faults")
    parser.add_argument("--runs", type=int, default=3, help="training runs (torch seeds) per dir")
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(1)
    for data_dir in args.data_dirs:
        x_train, y_train, x_test, y_test = load(data_dir)
        print(f"{data_dir}: train {tuple(x_train.shape)}, test {tuple(x_test.shape)}, "
              f"positives {y_train.mean().item():.3f} / {y_test.mean().item():.3f}")
        finals = []
        for seed in range(args.runs):
            h = train(x_train, y_train, x_test, y_test, seed, args.epochs)
            print(f"  run {seed} test acc per epoch: " + " ".join(f"{t:.3f}" for _, t in h)
                  + f"   (final train acc {h[-1][0]:.3f})", flush=True)
            finals.append((h[0][1], h[-1][1]))
        first, last = np.mean(finals, axis=0)
        print(f"  mean test acc: epoch 1 {first:.3f}, epoch {args.epochs} {last:.3f}")


if __name__ == "__main__":
    main()
