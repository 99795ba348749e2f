"""Golden data for graft's Conv1D (tests/ops/conv_test.cc), with PyTorch as the oracle.

    /usr/bin/python3 tools/golden/conv1d.py

For each case writes tests/golden/conv1d_<case>_<what>.npy:
  config  int64 [L, k, stride, dilation, padding (0 valid, 1 same, 2 causal), has_bias, N, Cin, Cout]
  x (N, L, Cin), w (k, Cin, Cout) Keras layout, b (Cout) when has_bias, dy (N, Lout, Cout) a cotangent,
  y = conv1d(x, w) + b, and dx, dw, db = the gradients of sum(y * dy).
Keras's padding is applied explicitly (F.pad with the Keras left/right pads, then a 'valid' torch
conv1d), so no PyTorch padding convention is involved. Torch runs in float64 on the float32 inputs.
"""
import numpy as np
import torch
import torch.nn.functional as F

from common import rng, save

VALID, SAME, CAUSAL = 0, 1, 2

# name, L, k, stride, dilation, padding, has_bias
CASES = [
    ("same_l10_k4", 10, 4, 1, 1, SAME, True),        # asymmetric: pads (1, 2)
    ("same_s2_l10_k3", 10, 3, 2, 1, SAME, True),     # pads (0, 1)
    ("causal_d2_l9_k3", 9, 3, 1, 2, CAUSAL, True),   # pads (4, 0)
    ("valid_s2_l10_k3", 10, 3, 2, 1, VALID, True),   # the last step is dropped
    ("valid_d2_l12_k3_nobias", 12, 3, 1, 2, VALID, False),
    ("causal_s2_l9_k4", 9, 4, 2, 1, CAUSAL, True),
    ("same_d2_l8_k5_nobias", 8, 5, 1, 2, SAME, False),  # pads (4, 4)
]
N, CIN, COUT = 2, 3, 4


def keras_geometry(length, k, s, d, padding):
    """(out, pad_left, pad_right) by Keras's rules."""
    span = d * (k - 1) + 1
    if padding == VALID:
        return (length - span) // s + 1, 0, 0
    out = (length + s - 1) // s
    if padding == CAUSAL:
        return out, d * (k - 1), 0
    total = max((out - 1) * s + span - length, 0)
    return out, total // 2, total - total // 2


def main():
    for i, (name, length, k, s, d, padding, has_bias) in enumerate(CASES):
        r = rng(100 + i)
        out, pad_l, pad_r = keras_geometry(length, k, s, d, padding)
        x = r.uniform(-1, 1, (N, length, CIN)).astype(np.float32)
        w = r.uniform(-1, 1, (k, CIN, COUT)).astype(np.float32)
        b = r.uniform(-1, 1, (COUT,)).astype(np.float32)
        dy = r.uniform(-1, 1, (N, out, COUT)).astype(np.float32)

        xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
        bt = torch.tensor(b, dtype=torch.float64, requires_grad=True)
        xp = F.pad(xt.permute(0, 2, 1), (pad_l, pad_r))            # (N, Cin, L + pads)
        yt = F.conv1d(xp, wt.permute(2, 1, 0), bt if has_bias else None, stride=s, dilation=d)
        yt = yt.permute(0, 2, 1)                                     # (N, Lout, Cout)
        assert yt.shape == (N, out, COUT), (name, yt.shape)
        (yt * torch.tensor(dy, dtype=torch.float64)).sum().backward()

        p = "conv1d_" + name + "_"
        save(p + "config", np.array([length, k, s, d, padding, int(has_bias), N, CIN, COUT]))
        save(p + "x", x)
        save(p + "w", w)
        if has_bias:
            save(p + "b", b)
            save(p + "db", bt.grad.numpy())
        save(p + "dy", dy)
        save(p + "y", yt.detach().numpy())
        save(p + "dx", xt.grad.numpy())
        save(p + "dw", wt.grad.numpy())
        print(name, "out", out, "pads", (pad_l, pad_r))


if __name__ == "__main__":
    main()
