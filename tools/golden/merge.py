"""Golden data for graft.Sub, graft.Maximum, graft.Minimum and graft.Concat (Keras's Subtract,
Maximum, Minimum and Concatenate merge layers), forward and gradient, from PyTorch autograd.

    /usr/bin/python3 tools/golden/merge.py

Maximum / minimum: torch.maximum / torch.minimum split a tie's gradient evenly (dy/2 to each
input); graft follows that rule, but the data here has no ties (a and b are drawn from disjoint
value sets, shuffled), so the files pin the selected input, not the tie rule.

Writes tests/golden/merge_<op>_{a,b,dy,y,da,db}.npy and
tests/golden/concat_<config>_{x0,x1,...,dy,y,dx0,dx1,...}.npy (float32, float64 arithmetic).
"""
import numpy as np
import torch

from common import rng, save

BINARY = {
    "sub": torch.sub,
    "maximum": torch.maximum,
    "minimum": torch.minimum,
}

# name: (axis, input shapes)
CONCAT = {
    "last": (-1, [(2, 3, 4), (2, 3, 2)]),                   # Keras's default axis=-1
    "axis1_three": (1, [(2, 2, 3), (2, 4, 3), (2, 1, 3)]),  # three inputs along steps
    "image_channels": (3, [(2, 3, 2, 1), (2, 3, 2, 3)]),    # NHWC, channels
    "image_width": (-2, [(1, 2, 3, 2), (1, 2, 1, 2)]),      # NHWC, width
    "batch": (0, [(1, 5), (3, 5)]),                         # axis 0 is allowed
}


def binary():
    shape = (3, 4, 5)
    size = int(np.prod(shape))
    for i, (name, fn) in enumerate(BINARY.items()):
        r = rng(500 + i)
        # 2 * size distinct values in steps of 1/8, split between a and b: no ties.
        values = (r.permutation(2 * size) - size) / 8.0
        a = values[:size].reshape(shape)
        b = values[size:].reshape(shape)
        dy = r.uniform(-1.0, 1.0, size=shape).astype(np.float32).astype(np.float64)
        at = torch.tensor(a, dtype=torch.float64, requires_grad=True)
        bt = torch.tensor(b, dtype=torch.float64, requires_grad=True)
        y = fn(at, bt)
        y.backward(torch.tensor(dy))
        prefix = "merge_" + name
        save(prefix + "_a", a)
        save(prefix + "_b", b)
        save(prefix + "_dy", dy)
        save(prefix + "_y", y.detach().numpy())
        save(prefix + "_da", at.grad.numpy())
        save(prefix + "_db", bt.grad.numpy())
        print(f"{prefix}: {shape}")


def concat():
    for i, (name, (axis, shapes)) in enumerate(CONCAT.items()):
        r = rng(600 + i)
        xs = [r.uniform(-2.0, 2.0, size=s).astype(np.float32).astype(np.float64) for s in shapes]
        ts = [torch.tensor(x, requires_grad=True) for x in xs]
        y = torch.cat(ts, dim=axis)
        dy = r.uniform(-1.0, 1.0, size=tuple(y.shape)).astype(np.float32).astype(np.float64)
        y.backward(torch.tensor(dy))
        prefix = "concat_" + name
        for k, (x, t) in enumerate(zip(xs, ts)):
            save(f"{prefix}_x{k}", x)
            save(f"{prefix}_dx{k}", t.grad.numpy())
        save(prefix + "_dy", dy)
        save(prefix + "_y", y.detach().numpy())
        print(f"{prefix}: axis {axis}, {shapes} -> {tuple(y.shape)}")


if __name__ == "__main__":
    binary()
    concat()
