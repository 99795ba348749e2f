#!/usr/bin/python3
"""The reference accuracy for examples/resnet: the same ResNet-8 in PyTorch, Keras-initialised.

Trains on the same Fashion-MNIST IDX files graft reads (tools/setup.sh --mnist puts them in
data/fashion-mnist), scaled the same way (pixel / 255 in float32), for the same epochs and batch
size, and prints the test accuracy for each seed:

    /usr/bin/python3 tools/resnet_reference.py --epochs=2 --seeds=1,2,3

The network (examples/resnet_model.h), in Keras terms, input (28, 28, 1):
    Conv2D(16, 3, same) -> BatchNormalization -> ReLU
    3 stages, one residual block each, 16 / 32 / 64 filters, strides 1 / 2 / 2:
        Conv2D(f, 3, strides, same) -> BN -> ReLU -> Conv2D(f, 3, same) -> BN
        + shortcut (identity, or Conv2D(f, 1, strides) when the shape changes) -> ReLU
    GlobalAveragePooling2D -> Dense(10, softmax)
Keras semantics, written out here:
  * glorot_uniform kernels (nn.init.xavier_uniform_ computes Keras's fans for (out, in, kh, kw)
    and (out, in) weights), zero biases (convolutions keep theirs, as in Keras);
  * padding "same" with stride 2 on an even size pads one pixel on the right/bottom only
    (TensorFlow's SAME); PyTorch's padding=1 would pad both sides, so the strided 3x3
    convolutions pad explicitly (0, 1, 0, 1);
  * BatchNormalization(momentum=0.99, epsilon=1e-3) = nn.BatchNorm2d(eps=1e-3, momentum=0.01).
    (PyTorch's moving variance takes the unbiased batch variance, Keras's the biased one: a
    factor n/(n-1) with n >= 32*7*7 = 1568 values per channel, left as it is);
  * sparse categorical cross-entropy on a softmax output = cross_entropy on the logits (what
    graft, like Keras's TensorFlow backend, computes);
  * Adam(1e-3, beta_1 0.9, beta_2 0.999, epsilon 1e-7) with Keras's epsilon-hat: PyTorch's eps
    is set to 1e-7 / sqrt(1 - beta_2^t) before step t, which makes its update Keras's
    (tools/golden/optim.py checks the recipe);
  * every epoch reshuffles the training set; test accuracy with the moving statistics (eval()).
"""
import argparse
import gzip
import math
import os
import time

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_split(data_dir, prefix):
    def find(name):
        path = os.path.join(data_dir, name)
        return path if os.path.exists(path) else path + ".gz"
    x = read_idx(find(f"{prefix}-images-idx3-ubyte"))
    y = read_idx(find(f"{prefix}-labels-idx1-ubyte"))
    # graft: x.astype("float32")[..., None] / 255, channels-last; here NCHW.
    x = torch.from_numpy(x.astype(np.float32) / np.float32(255)).unsqueeze(1)
    return x, torch.from_numpy(y.astype(np.int64))


class SameConv(nn.Conv2d):
    """Conv2D(padding="same") with Keras's asymmetric padding for stride 2."""

    def __init__(self, cin, cout, k, stride=1):
        super().__init__(cin, cout, k, stride=stride, padding=0)
        self.k = k

    def forward(self, x):
        h, w = x.shape[-2:]
        s = self.stride[0]
        pads = []
        for n in (w, h):  # F.pad takes the last dimension first
            out = (n + s - 1) // s
            total = max(0, (out - 1) * s + self.k - n)
            pads += [total // 2, total - total // 2]
        return super().forward(F.pad(x, pads) if any(pads) else x)


def bn(c):
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1, self.bn1 = SameConv(cin, cout, 3, stride), bn(cout)
        self.conv2, self.bn2 = SameConv(cout, cout, 3), bn(cout)
        self.shortcut = (nn.Conv2d(cin, cout, 1, stride=stride)
                         if stride != 1 or cin != cout else None)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.shortcut is None else self.shortcut(x)))


class ResNet8(nn.Module):
    def __init__(self, filters=(16, 32, 64), classes=10):
        super().__init__()
        self.stem, self.bn = SameConv(1, filters[0], 3), bn(filters[0])
        blocks, cin = [], filters[0]
        for i, f in enumerate(filters):
            blocks.append(Block(cin, f, 1 if i == 0 else 2))
            cin = f
        self.blocks = nn.Sequential(*blocks)
        self.dense = nn.Linear(cin, classes)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):  # logits; the softmax is inside the loss
        x = self.blocks(F.relu(self.bn(self.stem(x))))
        return self.dense(x.mean(dim=(2, 3)))


def accuracy(net, x, y, batch=1000):
    net.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += (net(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return correct / len(x)


def train(seed, data, epochs, batch_size, lr=1e-3, beta_2=0.999, epsilon=1e-7):
    x_train, y_train, x_test, y_test = data
    torch.manual_seed(seed)
    net = ResNet8()
    opt = torch.optim.Adam(net.parameters(), lr=lr, betas=(0.9, beta_2), eps=epsilon)
    gen = torch.Generator().manual_seed(seed)
    t = 0
    seconds = []
    for epoch in range(epochs):
        net.train()
        start = time.perf_counter()
        order = torch.randperm(len(x_train), generator=gen)
        loss_sum, correct = 0.0, 0
        for b in range(0, len(x_train), batch_size):
            idx = order[b:b + batch_size]
            xb, yb = x_train[idx], y_train[idx]
            logits = net(xb)
            loss = F.cross_entropy(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            t += 1
            opt.param_groups[0]["eps"] = epsilon / math.sqrt(1.0 - beta_2 ** t)  # Keras's eps-hat
            opt.step()
            loss_sum += loss.item() * len(idx)
            correct += (logits.argmax(1) == yb).sum().item()
        seconds.append(time.perf_counter() - start)
        print(f"  seed {seed} epoch {epoch + 1}/{epochs}: loss {loss_sum / len(x_train):.4f} - "
              f"accuracy {correct / len(x_train):.4f} - {seconds[-1]:.1f} s", flush=True)
    return accuracy(net, x_test, y_test), seconds


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data_dir", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "data", "fashion-mnist"))
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch_size", type=int, default=32)
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--train_samples", type=int, default=0, help="first N images only (0: all)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    x_train, y_train = load_split(a.data_dir, "train")
    x_test, y_test = load_split(a.data_dir, "t10k")
    if a.train_samples > 0:
        x_train, y_train = x_train[:a.train_samples], y_train[:a.train_samples]
    print(f"Fashion-MNIST: {len(x_train)} training and {len(x_test)} test images; torch "
          f"{torch.__version__}, {torch.get_num_threads()} threads; ResNet-8 with "
          f"{sum(p.numel() for p in ResNet8().parameters())} trainable parameters", flush=True)
    results = []
    for seed in [int(s) for s in a.seeds.split(",")]:
        acc, seconds = train(seed, (x_train, y_train, x_test, y_test), a.epochs, a.batch_size)
        results.append(acc)
        print(f"seed {seed}: test accuracy {acc:.4f} after {a.epochs} epochs, "
              f"{np.mean(seconds):.1f} s per epoch", flush=True)
    print(f"test accuracy over seeds: min {min(results):.4f}, max {max(results):.4f}, "
          f"mean {np.mean(results):.4f}")


if __name__ == "__main__":
    main()
