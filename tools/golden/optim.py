"""Golden data for graft's optimizers (tests/optim/optimizer_test.cc), from torch.optim.

Run: /usr/bin/python3 tools/golden/optim.py

One parameter of shape (4, 5) takes three steps with the gradients in optim_grads (3, 4, 5).
Entries [0, 0] and [2, 3] have gradients of +-1e-9 at every step: there Keras's Adam (epsilon
added to the uncorrected sqrt(v), "epsilon hat") and PyTorch's Adam (epsilon added to the
bias-corrected sqrt(v_hat)) differ by far more than the test tolerance.

Keras semantics from PyTorch (see shared reference/keras-semantics.md):
  * Adam: torch.optim.Adam with eps_t = epsilon / sqrt(1 - beta_2^t) set before step t gives
    exactly p -= lr*sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v) + epsilon).
  * SGD with momentum: Keras velocity = -lr * torch momentum buffer; nesterov likewise.

Everything runs in float64 from float32-representable inputs; outputs are saved as float32.
Files (prefix optim_):
  optim_p0 (4, 5), optim_grads (3, 4, 5)
  optim_adam_lr<lr>_{params,updates,m,v} (3, 4, 5): after steps 1..3; updates = p_t - p_{t-1}
  optim_sgd_<variant>_{params,updates[,velocity]} (3, 4, 5), variant in plain, momentum, nesterov
"""
import math

import numpy as np
import torch

from common import rng, save

SHAPE = (4, 5)
STEPS = 3
TINY = [(0, 0, 1e-9), (2, 3, -1e-9)]  # (row, col, gradient) at every step


def inputs():
    r = rng(20240611)
    p0 = r.uniform(-2.0, 2.0, SHAPE).astype(np.float32).astype(np.float64)
    grads = r.uniform(-1.0, 1.0, (STEPS,) + SHAPE)
    # Varied magnitudes: some small, some large gradients.
    grads[:, 1, :] *= 1e-3
    grads[:, 3, :] *= 10.0
    for i, j, g in TINY:
        grads[:, i, j] = g
    grads = grads.astype(np.float32).astype(np.float64)
    return p0, grads


def run_adam(p0, grads, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    p = torch.tensor(p0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([p], lr=lr, betas=(beta_1, beta_2), eps=epsilon, foreach=False)
    params, updates, ms, vs = [], [], [], []
    for t in range(1, STEPS + 1):
        opt.param_groups[0]["eps"] = epsilon / math.sqrt(1.0 - beta_2 ** t)
        before = p.detach().clone()
        p.grad = torch.tensor(grads[t - 1], dtype=torch.float64)
        opt.step()
        params.append(p.detach().numpy().copy())
        updates.append((p.detach() - before).numpy())
        state = opt.state[p]
        ms.append(state["exp_avg"].numpy().copy())
        vs.append(state["exp_avg_sq"].numpy().copy())
    return [np.stack(a) for a in (params, updates, ms, vs)]


def keras_adam(p0, grads, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """The Keras 3 update_step, written out, to cross-check the torch recipe."""
    p, m, v = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
    out = []
    for t in range(1, STEPS + 1):
        g = grads[t - 1]
        alpha = lr * math.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
        m += (g - m) * (1 - beta_1)
        v += (g * g - v) * (1 - beta_2)
        p -= m * alpha / (np.sqrt(v) + epsilon)
        out.append(p.copy())
    return np.stack(out)


def run_sgd(p0, grads, lr, momentum, nesterov):
    p = torch.tensor(p0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr, momentum=momentum, nesterov=nesterov, foreach=False)
    params, updates, velocities = [], [], []
    for t in range(1, STEPS + 1):
        before = p.detach().clone()
        p.grad = torch.tensor(grads[t - 1], dtype=torch.float64)
        opt.step()
        params.append(p.detach().numpy().copy())
        updates.append((p.detach() - before).numpy())
        if momentum != 0:
            velocities.append(-lr * opt.state[p]["momentum_buffer"].numpy())
    return [np.stack(a) for a in (params, updates)], (np.stack(velocities) if velocities else None)


def keras_sgd(p0, grads, lr, momentum, nesterov):
    p, v = p0.copy(), np.zeros_like(p0)
    out = []
    for t in range(STEPS):
        g = grads[t]
        if momentum != 0:
            v = momentum * v - lr * g
            p += momentum * v - lr * g if nesterov else v
        else:
            p -= lr * g
        out.append(p.copy())
    return np.stack(out)


def main():
    p0, grads = inputs()
    save("optim_p0", p0)
    save("optim_grads", grads)

    for lr, tag in [(1e-3, "1e-3"), (1e-2, "1e-2")]:
        params, updates, ms, vs = run_adam(p0, grads, lr)
        assert np.allclose(params, keras_adam(p0, grads, lr), rtol=0, atol=1e-14)
        # The epsilon placement is visible: PyTorch's own Adam moves the tiny entries by far more.
        torch_style = torch.tensor(p0, requires_grad=True)
        o = torch.optim.Adam([torch_style], lr=lr, eps=1e-7, foreach=False)
        torch_style.grad = torch.tensor(grads[0])
        o.step()
        diff = abs((torch_style.detach().numpy() - p0)[0, 0] - updates[0][0, 0])
        assert diff > 10 * (5e-7 + 1e-3 * abs(updates[0][0, 0])), diff
        save(f"optim_adam_lr{tag}_params", params)
        save(f"optim_adam_lr{tag}_updates", updates)
        save(f"optim_adam_lr{tag}_m", ms)
        save(f"optim_adam_lr{tag}_v", vs)

    for variant, momentum, nesterov in [("plain", 0.0, False), ("momentum", 0.9, False),
                                        ("nesterov", 0.9, True)]:
        (params, updates), velocity = run_sgd(p0, grads, 0.01, momentum, nesterov)
        assert np.allclose(params, keras_sgd(p0, grads, 0.01, momentum, nesterov), rtol=0,
                           atol=1e-14)
        save(f"optim_sgd_{variant}_params", params)
        save(f"optim_sgd_{variant}_updates", updates)
        if velocity is not None:
            save(f"optim_sgd_{variant}_velocity", velocity)


if __name__ == "__main__":
    main()
