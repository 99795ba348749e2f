"""Golden data for graft.MaxPool1D / graft.MaxPool1DBackward (Keras MaxPooling1D).

    /usr/bin/python3 tools/golden/pool1d.py

Keras's "same" padding is asymmetric (left = total // 2, the extra element on the right), which
PyTorch's symmetric `padding=` cannot express, so the pads are applied explicitly with
F.pad(value=-inf) and then max_pool1d runs with no padding. Inputs are a scaled random
permutation (no ties), so the argmax, hence dx, is unique.

Writes tests/golden/pool1d_<config>_{x,dy,y,dx}.npy, all channels-last (N, L, C).
"""
import math

import numpy as np
import torch
import torch.nn.functional as F

from common import rng, save

# name: (N, L, C, pool, stride, padding)
CONFIGS = {
    "default": (2, 10, 3, 2, 2, "valid"),       # Keras defaults: pool 2, strides = pool
    "valid_p3s2": (2, 11, 4, 3, 2, "valid"),    # overlapping windows, odd L
    "valid_p3s3": (1, 8, 5, 3, 3, "valid"),     # a leftover step is dropped
    "same_p3s1": (2, 9, 3, 3, 1, "same"),       # total pad 2: 1 left, 1 right
    "same_p2s1": (2, 10, 2, 2, 1, "same"),      # total pad 1 (odd): 0 left, 1 right
    "same_p4s2": (2, 7, 3, 4, 2, "same"),       # total pad 3 (odd): 1 left, 2 right
}


def geometry(length, pool, stride, padding):
    if padding == "valid":
        return (length - pool) // stride + 1, 0, 0
    out = math.ceil(length / stride)
    total = max((out - 1) * stride + pool - length, 0)
    return out, total // 2, total - total // 2


def main():
    for i, (name, (n, length, c, pool, stride, padding)) in enumerate(CONFIGS.items()):
        r = rng(100 + i)
        x = (r.permutation(n * length * c).reshape(n, length, c) - n * length * c / 2) / 8.0
        out, pad_l, pad_r = geometry(length, pool, stride, padding)
        # Rounded to float32 first: the tests feed the saved float32 values.
        dy = r.uniform(-1.0, 1.0, size=(n, out, c)).astype(np.float32).astype(np.float64)

        xt = torch.tensor(x, dtype=torch.float64).permute(0, 2, 1).contiguous().requires_grad_()
        padded = F.pad(xt, (pad_l, pad_r), value=-math.inf)
        yt = F.max_pool1d(padded, kernel_size=pool, stride=stride)
        assert yt.shape[-1] == out, (name, yt.shape, out)
        yt.backward(torch.tensor(dy, dtype=torch.float64).permute(0, 2, 1))

        prefix = "pool1d_" + name
        save(prefix + "_x", x)
        save(prefix + "_dy", dy)
        save(prefix + "_y", yt.detach().permute(0, 2, 1).numpy())
        save(prefix + "_dx", xt.grad.permute(0, 2, 1).numpy())
        print(f"{prefix}: x {x.shape} -> y {tuple(yt.permute(0, 2, 1).shape)}, "
              f"pads ({pad_l}, {pad_r})")


if __name__ == "__main__":
    main()
