"""Golden data for graft's Conv2D (tests/ops/conv_test.cc), with PyTorch as the oracle.

    /usr/bin/python3 tools/golden/conv2d.py

For each case writes tests/golden/conv2d_<case>_<what>.npy:
  config  int64 [H, W, kh, kw, stride_h, stride_w, dilation_h, dilation_w, padding (0 valid,
          1 same), has_bias, groups, N, Cin, Cout]
  x (N, H, W, Cin), w (kh, kw, Cin/groups, Cout) Keras HWIO, b (Cout) when has_bias,
  dy (N, Hout, Wout, Cout) a cotangent, y = conv2d(x, w) + b, and dx, dw, db = the gradients
  of sum(y * dy).
Keras's padding is applied explicitly (F.pad with the Keras top/bottom and left/right pads, the
extra pixel bottom/right, then a 'valid' torch conv2d), so no PyTorch padding convention is
involved. The kernel goes HWIO -> OIHW by a permutation; torch's groups split the input
channels and the filters into consecutive blocks, as Keras's do. Torch runs in float64 on the
float32 inputs.
"""
import numpy as np
import torch
import torch.nn.functional as F

from common import rng, save
from conv1d import SAME, VALID, keras_geometry

# name, (H, W), (kh, kw), (sh, sw), (dh, dw), padding, has_bias, groups
CASES = [
    ("same_h7_w8_k3", (7, 8), (3, 3), (1, 1), (1, 1), SAME, True, 1),         # pads (1,1) (1,1)
    ("same_h6_w7_k4x2", (6, 7), (4, 2), (1, 1), (1, 1), SAME, True, 1),       # (1,2) (0,1)
    ("same_s2_h8_w7_k3_g2", (8, 7), (3, 3), (2, 2), (1, 1), SAME, True, 2),   # (0,1) (1,1)
    ("same_s21_h9_w6_k5x3_g2", (9, 6), (5, 3), (2, 1), (1, 1), SAME, False, 2),  # (2,2) (1,1)
    ("valid_s2_h9_w8_k3_nobias", (9, 8), (3, 3), (2, 2), (1, 1), VALID, False, 1),
    ("valid_d2_h8_w9_k3_g2", (8, 9), (3, 3), (1, 1), (2, 2), VALID, True, 2),
    ("same_d2_h7_w6_k3x2", (7, 6), (3, 2), (1, 1), (2, 2), SAME, True, 1),    # (2,2) (1,1)
    ("valid_s12_h5_w8_k2_g2", (5, 8), (2, 2), (1, 2), (1, 1), VALID, True, 2),
]
N, CIN, COUT = 2, 4, 6


def main():
    for i, (name, hw, k, s, d, padding, has_bias, groups) in enumerate(CASES):
        r = rng(200 + i)
        geo = [keras_geometry(hw[a], k[a], s[a], d[a], padding) for a in range(2)]
        out = tuple(g[0] for g in geo)
        x = r.uniform(-1, 1, (N, hw[0], hw[1], CIN)).astype(np.float32)
        w = r.uniform(-1, 1, (k[0], k[1], CIN // groups, COUT)).astype(np.float32)
        b = r.uniform(-1, 1, (COUT,)).astype(np.float32)
        dy = r.uniform(-1, 1, (N, out[0], out[1], COUT)).astype(np.float32)

        xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
        bt = torch.tensor(b, dtype=torch.float64, requires_grad=True)
        # F.pad lists the last dim first: (left, right, top, bottom).
        xp = F.pad(xt.permute(0, 3, 1, 2), (geo[1][1], geo[1][2], geo[0][1], geo[0][2]))
        yt = F.conv2d(xp, wt.permute(3, 2, 0, 1), bt if has_bias else None, stride=s,
                      dilation=d, groups=groups)
        yt = yt.permute(0, 2, 3, 1)                                   # (N, Hout, Wout, Cout)
        assert yt.shape == (N, out[0], out[1], COUT), (name, yt.shape)
        (yt * torch.tensor(dy, dtype=torch.float64)).sum().backward()

        config = [*hw, *k, *s, *d, padding, int(has_bias), groups, N, CIN, COUT]
        arrays = {"config": np.array(config), "x": x, "w": w, "dy": dy,
                  "y": yt.detach().numpy(), "dx": xt.grad.numpy(), "dw": wt.grad.numpy()}
        if has_bias:
            arrays.update(b=b, db=bt.grad.numpy())
        for what, array in arrays.items():
            save("conv2d_" + name + "_" + what, array)
        print(name, "out", out, "pads", [(g[1], g[2]) for g in geo])


if __name__ == "__main__":
    main()
