"""Golden data for graft.Pad, graft.Crop and graft.UpSample (Keras ZeroPadding1D/2D,
Cropping1D/2D, UpSampling1D/2D with interpolation="nearest"), forward and gradient, from
PyTorch autograd.

    /usr/bin/python3 tools/golden/spatial.py

PyTorch is channels-first: x (N, s..., C) is permuted to (N, C, s...), run through F.pad (zero
padding), slicing (cropping) or F.interpolate(mode="nearest", scale_factor=...) (integer
factors: source index floor(i / f)), and permuted back. dx is autograd's, for a random dy.

Writes tests/golden/spatial_<config>_{x,dy,y,dx}.npy (float32, float64 arithmetic).
"""
import numpy as np
import torch
import torch.nn.functional as F

from common import rng, save

# name: (op, x shape channels-last, per spatial axis (begin, end) or factor)
CONFIGS = {
    "pad1d_default": ("pad", (2, 5, 3), [(1, 1)]),             # ZeroPadding1D() = padding 1
    "pad1d_asym": ("pad", (2, 4, 2), [(2, 0)]),                # ZeroPadding1D((2, 0))
    "pad2d_default": ("pad", (2, 3, 4, 2), [(1, 1), (1, 1)]),  # ZeroPadding2D() = (1, 1)
    "pad2d_asym": ("pad", (1, 3, 2, 3), [(0, 2), (3, 1)]),     # ((top, bottom), (left, right))
    "crop1d_default": ("crop", (2, 6, 3), [(1, 1)]),           # Cropping1D() = (1, 1)
    "crop1d_asym": ("crop", (2, 7, 2), [(0, 3)]),
    "crop2d": ("crop", (2, 6, 5, 2), [(1, 2), (2, 0)]),
    "upsample1d_default": ("upsample", (2, 4, 3), [2]),        # UpSampling1D() = size 2
    "upsample1d_3": ("upsample", (1, 3, 2), [3]),
    "upsample2d_default": ("upsample", (2, 3, 2, 3), [2, 2]),  # UpSampling2D() = (2, 2)
    "upsample2d_31": ("upsample", (1, 2, 3, 2), [3, 1]),
}


def to_cf(t):
    return t.permute(0, t.dim() - 1, *range(1, t.dim() - 1))


def to_cl(t):
    return t.permute(0, *range(2, t.dim()), 1)


def run(op, x, arg):
    xcf = to_cf(x)
    if op == "pad":
        pads = []
        for begin, end in reversed(arg):  # F.pad lists the last axis first
            pads += [begin, end]
        return to_cl(F.pad(xcf, pads))
    if op == "crop":
        index = [slice(None), slice(None)]
        for (begin, end), size in zip(arg, xcf.shape[2:]):
            index.append(slice(begin, size - end))
        return to_cl(xcf[tuple(index)])
    return to_cl(F.interpolate(xcf, scale_factor=tuple(float(f) for f in arg), mode="nearest"))


def main():
    for i, (name, (op, shape, arg)) in enumerate(CONFIGS.items()):
        r = rng(700 + i)
        x = r.uniform(-2.0, 2.0, size=shape).astype(np.float32).astype(np.float64)
        xt = torch.tensor(x, requires_grad=True)
        y = run(op, xt, arg)
        dy = r.uniform(-1.0, 1.0, size=tuple(y.shape)).astype(np.float32).astype(np.float64)
        y.backward(torch.tensor(dy))
        prefix = "spatial_" + name
        save(prefix + "_x", x)
        save(prefix + "_dy", dy)
        save(prefix + "_y", y.detach().numpy())
        save(prefix + "_dx", xt.grad.numpy())
        print(f"{prefix}: {op} {arg}, x {shape} -> y {tuple(y.shape)}")


if __name__ == "__main__":
    main()
