"""Golden data for graft's Dense op (ops/dense.cc), from PyTorch.

    /usr/bin/python3 tools/golden/dense.py

Keras layout: x (..., in), kernel w (in, out), bias b (out,). PyTorch's oracle is
torch.nn.functional.linear(x, w.T, b) on the last axis; gradients come from autograd with the
cotangent dy. Inputs are drawn in float32, the oracle runs in float64 on those exact values.
Writes tests/golden/dense_<case>_{x,w,b,dy,y,dx,dw,db}.npy for the cases
  r2: x (6, 7)    -> y (6, 5)      rank-2 input
  r3: x (2, 4, 9) -> y (2, 4, 3)   rank-3 input (Dense on the last axis)
"""
import numpy as np
import torch
import torch.nn.functional as F

from common import rng, save

CASES = {
    "r2": ((6, 7), 5, 11),
    "r3": ((2, 4, 9), 3, 12),
}


def main():
    for name, (x_shape, units, seed) in CASES.items():
        r = rng(seed)
        f32 = lambda a: np.asarray(a, dtype=np.float32)
        x = f32(r.uniform(-1, 1, x_shape))
        w = f32(r.uniform(-1, 1, (x_shape[-1], units)))
        b = f32(r.uniform(-1, 1, (units,)))
        dy = f32(r.uniform(-1, 1, x_shape[:-1] + (units,)))

        xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
        bt = torch.tensor(b, dtype=torch.float64, requires_grad=True)
        y = F.linear(xt, wt.T, bt)
        y.backward(torch.tensor(dy, dtype=torch.float64))

        prefix = "dense_" + name + "_"
        for what, a in [("x", x), ("w", w), ("b", b), ("dy", dy), ("y", y.detach().numpy()),
                        ("dx", xt.grad.numpy()), ("dw", wt.grad.numpy()),
                        ("db", bt.grad.numpy())]:
            save(prefix + what, a)


if __name__ == "__main__":
    main()
