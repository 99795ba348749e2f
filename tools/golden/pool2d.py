"""Golden data for graft's 2-D, average and global pooling ops (Keras MaxPooling2D,
AveragePooling1D/2D, GlobalMaxPooling1D/2D, GlobalAveragePooling1D/2D).

    /usr/bin/python3 tools/golden/pool2d.py

Keras's "same" padding is asymmetric (top/left = total // 2, the extra element at the
bottom/right), which PyTorch's symmetric `padding=` cannot express, so the pads are applied
explicitly with F.pad and the PyTorch pooling runs with no padding:
  max:     F.pad(value=-inf), then max_pool (padding is never selected);
  average: avg_pool(F.pad(x, 0)) / avg_pool(F.pad(ones, 0)) = window sum / count of real
           elements (Keras's exclude-padding average; PyTorch's count_include_pad does not
           apply to explicit pads).
Global pooling: amax / mean over the spatial axes. Inputs are a scaled random permutation (no
ties), so every argmax, hence dx, is unique.

Writes tests/golden/pool2d_<config>_{x,dy,y,dx}.npy, all channels-last ((N, L, C) or
(N, H, W, C)); global outputs are (N, C), or keepdims (N, 1, C) / (N, 1, 1, C).
"""
import math

import numpy as np
import torch
import torch.nn.functional as F

from common import rng, save
from pool1d import geometry

# name: (kind, x shape (channels-last), pool, strides, padding); pool/strides per spatial axis.
WINDOWED = {
    "max_valid_p2": ("max", (2, 6, 7, 3), (2, 2), (2, 2), "valid"),       # Keras default; odd W
    "max_same_p3s2": ("max", (2, 7, 6, 3), (3, 3), (2, 2), "same"),      # pads H (1,1), W (0,1)
    "max_same_p32s21": ("max", (1, 5, 6, 2), (3, 2), (2, 1), "same"),    # overlapping, pads
    "max_valid_p3s1": ("max", (1, 6, 5, 2), (3, 3), (1, 1), "valid"),    # overlap 2 both ways
    "avg_same_p3s2": ("avg", (2, 7, 6, 3), (3, 3), (2, 2), "same"),      # corner counts 4, 6
    "avg_same_p2s1": ("avg", (1, 5, 4, 2), (2, 2), (1, 1), "same"),      # pads (0,1): edge counts
    "avg_valid_p32s21": ("avg", (2, 7, 6, 2), (3, 2), (2, 1), "valid"),  # a leftover row dropped
    "avg1d_same_p4s2": ("avg", (2, 7, 3), (4,), (2,), "same"),           # 1-D, pads (1,2)
    "avg1d_valid_p3s2": ("avg", (2, 10, 3), (3,), (2,), "valid"),        # 1-D, overlap
}
# name: (kind, x shape, keepdims)
GLOBAL = {
    "global_max": ("max", (2, 5, 4, 3), False),
    "global_max1d_keepdims": ("max", (2, 9, 3), True),
    "global_avg_keepdims": ("avg", (2, 5, 4, 3), True),
    "global_avg1d": ("avg", (2, 9, 3), False),
}


def distinct(r, shape):
    size = int(np.prod(shape))
    return (r.permutation(size).reshape(shape) - size / 2) / 8.0


def to_torch(x):
    """Channels-last numpy -> channels-first float64 tensor requiring grad."""
    perm = (0, x.ndim - 1) + tuple(range(1, x.ndim - 1))
    return torch.tensor(x, dtype=torch.float64).permute(*perm).contiguous().requires_grad_()


def channels_last(t):
    return t.permute(0, *range(2, t.dim()), 1)


def windowed(kind, xt, pool, strides, padding):
    spatial = xt.shape[2:]
    pads = []  # F.pad wants the last axis first
    for length, p, s in reversed(list(zip(spatial, pool, strides))):
        _, lo, hi = geometry(length, p, s, padding)
        pads += [lo, hi]
    if len(spatial) == 1:
        max_pool, avg_pool = F.max_pool1d, F.avg_pool1d
    else:
        max_pool, avg_pool = F.max_pool2d, F.avg_pool2d
    if kind == "max":
        return max_pool(F.pad(xt, pads, value=-math.inf), kernel_size=pool, stride=strides)
    total = avg_pool(F.pad(xt, pads), kernel_size=pool, stride=strides)
    count = avg_pool(F.pad(torch.ones_like(xt), pads), kernel_size=pool, stride=strides)
    return total / count


def global_pool(kind, xt, keepdims):
    axes = tuple(range(2, xt.dim()))
    y = xt.amax(dim=axes, keepdim=True) if kind == "max" else xt.mean(dim=axes, keepdim=True)
    return y if keepdims else y.reshape(y.shape[0], y.shape[1])


def emit(name, x, yt_fn, r):
    xt = to_torch(x)
    yt = yt_fn(xt)
    y = channels_last(yt) if yt.dim() > 2 else yt
    # Rounded to float32 first: the tests feed the saved float32 values.
    dy = r.uniform(-1.0, 1.0, size=tuple(y.shape)).astype(np.float32).astype(np.float64)
    y.backward(torch.tensor(dy, dtype=torch.float64))
    prefix = "pool2d_" + name
    save(prefix + "_x", x)
    save(prefix + "_dy", dy)
    save(prefix + "_y", y.detach().numpy())
    save(prefix + "_dx", channels_last(xt.grad).numpy())
    print(f"{prefix}: x {x.shape} -> y {tuple(y.shape)}")


def main():
    for i, (name, (kind, shape, pool, strides, padding)) in enumerate(WINDOWED.items()):
        r = rng(200 + i)
        x = distinct(r, shape)
        expected = tuple(geometry(length, p, s, padding)[0]
                         for length, p, s in zip(shape[1:-1], pool, strides))
        emit(name, x, lambda xt: windowed(kind, xt, pool, strides, padding), r)
        assert tuple(windowed(kind, to_torch(x), pool, strides, padding).shape[2:]) == expected
    for i, (name, (kind, shape, keepdims)) in enumerate(GLOBAL.items()):
        r = rng(300 + i)
        emit(name, distinct(r, shape), lambda xt: global_pool(kind, xt, keepdims), r)


if __name__ == "__main__":
    main()
