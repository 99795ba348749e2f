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
  * AdamW: torch.optim.AdamW (p *= 1 - lr * weight_decay, then the Adam step) with the same
    eps_t recipe; cross-checked against the Keras update written out.
  * RMSprop, Adagrad: Keras puts epsilon inside the sqrt, torch outside, so no torch setting gives
    Keras's update. The golden data is the Keras formula written out in float64 numpy;
    torch.optim.RMSprop (alpha = rho) / torch.optim.Adagrad run with eps = 0 cross-check that
    code with epsilon = 0, where the formulas coincide (Keras's RMSprop momentum slot is
    lr * torch's momentum buffer). The 1e-9 gradients make the epsilon placement visible.

Everything runs in float64 from float32-representable inputs; outputs are saved as float32.
Files (prefix optim_):
  optim_p0 (4, 5), optim_grads (3, 4, 5)
  optim_adam_lr<lr>_{params,updates,m,v} (3, 4, 5): after steps 1..3; updates = p_t - p_{t-1}
  optim_sgd_<variant>_{params,updates[,velocity]} (3, 4, 5), variant in plain, momentum, nesterov
  optim_adamw_<case>_{params,updates,m,v} (3, 4, 5), case in default (lr 1e-3, wd 0.004),
      lr1e-2_wd0.1
  optim_rmsprop_<variant>_{params,updates,velocity[,momentum][,average_gradient]} (3, 4, 5),
      variant in plain, momentum (0.9), centered, centered_momentum (lr 1e-3, rho 0.9)
  optim_adagrad_{params,updates,accumulator} (3, 4, 5) (lr 1e-2: the default 1e-3 moves the
      parameters too little to tell from their float32 rounding)
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


def run_adam(p0, grads, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7, weight_decay=None):
    """torch.optim.Adam, or torch.optim.AdamW when weight_decay is given, with the eps_t recipe."""
    p = torch.tensor(p0, dtype=torch.float64, requires_grad=True)
    if weight_decay is None:
        opt = torch.optim.Adam([p], lr=lr, betas=(beta_1, beta_2), eps=epsilon, foreach=False)
    else:
        opt = torch.optim.AdamW([p], lr=lr, betas=(beta_1, beta_2), eps=epsilon,
                                weight_decay=weight_decay, foreach=False)
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


def keras_adam(p0, grads, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7, weight_decay=0.0):
    """The Keras 3 update_step, written out, to cross-check the torch recipe. AdamW: the base
    optimizer's _apply_weight_decay first."""
    p, m, v = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
    out = []
    for t in range(1, STEPS + 1):
        g = grads[t - 1]
        p -= p * weight_decay * lr
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


def keras_rmsprop(p0, grads, lr, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False):
    """Keras 3 RMSprop.update_step, written out. Returns params, updates and the slots."""
    p, vel = p0.copy(), np.zeros_like(p0)
    mom, avg = np.zeros_like(p0), np.zeros_like(p0)
    out = {"params": [], "updates": [], "velocity": [], "momentum": [], "average_gradient": []}
    for t in range(STEPS):
        g = grads[t]
        before = p.copy()
        vel = rho * vel + (1 - rho) * g * g
        if centered:
            avg = rho * avg + (1 - rho) * g
            denominator = vel - avg * avg + epsilon
        else:
            denominator = vel + epsilon
        increment = lr * g / np.sqrt(denominator)
        if momentum > 0:
            mom = momentum * mom + increment
            p = p - mom
        else:
            p = p - increment
        for k, a in (("params", p), ("updates", p - before), ("velocity", vel),
                     ("momentum", mom), ("average_gradient", avg)):
            out[k].append(a.copy())
    return {k: np.stack(a) for k, a in out.items()}


def torch_rmsprop(p0, grads, lr, rho, momentum, centered):
    """torch.optim.RMSprop with eps = 0: its params and its momentum buffer."""
    p = torch.tensor(p0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.RMSprop([p], lr=lr, alpha=rho, eps=0.0, momentum=momentum,
                              centered=centered, foreach=False)
    params, buffers = [], []
    for t in range(STEPS):
        p.grad = torch.tensor(grads[t], dtype=torch.float64)
        opt.step()
        params.append(p.detach().numpy().copy())
        if momentum > 0:
            buffers.append(opt.state[p]["momentum_buffer"].numpy().copy())
    return np.stack(params), (np.stack(buffers) if buffers else None)


def keras_adagrad(p0, grads, lr, initial_accumulator_value=0.1, epsilon=1e-7):
    """Keras 3 Adagrad.update_step, written out."""
    p, acc = p0.copy(), np.full_like(p0, initial_accumulator_value)
    params, updates, accs = [], [], []
    for t in range(STEPS):
        g = grads[t]
        before = p.copy()
        acc = acc + g * g
        p = p - lr * g / np.sqrt(acc + epsilon)
        params.append(p.copy())
        updates.append(p - before)
        accs.append(acc.copy())
    return np.stack(params), np.stack(updates), np.stack(accs)


def torch_adagrad(p0, grads, lr, initial_accumulator_value):
    p = torch.tensor(p0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adagrad([p], lr=lr, initial_accumulator_value=initial_accumulator_value,
                              eps=0.0, foreach=False)
    params = []
    for t in range(STEPS):
        p.grad = torch.tensor(grads[t], dtype=torch.float64)
        opt.step()
        params.append(p.detach().numpy().copy())
    return np.stack(params)


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

    for case, lr, wd in [("default", 1e-3, 0.004), ("lr1e-2_wd0.1", 1e-2, 0.1)]:
        params, updates, ms, vs = run_adam(p0, grads, lr, weight_decay=wd)
        assert np.allclose(params, keras_adam(p0, grads, lr, weight_decay=wd), rtol=0, atol=1e-14)
        save(f"optim_adamw_{case}_params", params)
        save(f"optim_adamw_{case}_updates", updates)
        save(f"optim_adamw_{case}_m", ms)
        save(f"optim_adamw_{case}_v", vs)

    lr = 1e-3
    for variant, momentum, centered in [("plain", 0.0, False), ("momentum", 0.9, False),
                                        ("centered", 0.0, True),
                                        ("centered_momentum", 0.9, True)]:
        # Cross-check the written-out Keras code against torch where they coincide (eps = 0).
        exact = keras_rmsprop(p0, grads, lr, momentum=momentum, epsilon=0.0, centered=centered)
        torch_params, buffers = torch_rmsprop(p0, grads, lr, 0.9, momentum, centered)
        assert np.allclose(exact["params"], torch_params, rtol=0, atol=1e-13)
        if momentum > 0:
            assert np.allclose(exact["momentum"], lr * buffers, rtol=1e-12, atol=0)
        k = keras_rmsprop(p0, grads, lr, momentum=momentum, centered=centered)
        # Epsilon inside the sqrt is visible at the 1e-9 gradients: 1e-4 of the eps = 0 step.
        assert abs(k["updates"][0][0, 0]) < 1e-3 * abs(exact["updates"][0][0, 0])
        prefix = f"optim_rmsprop_{variant}"
        for name in ("params", "updates", "velocity"):
            save(f"{prefix}_{name}", k[name])
        if momentum > 0:
            save(f"{prefix}_momentum", k["momentum"])
        if centered:
            save(f"{prefix}_average_gradient", k["average_gradient"])

    lr = 1e-2
    exact, _, _ = keras_adagrad(p0, grads, lr, epsilon=0.0)
    assert np.allclose(exact, torch_adagrad(p0, grads, lr, 0.1), rtol=0, atol=1e-14)
    params, updates, accs = keras_adagrad(p0, grads, lr)
    save("optim_adagrad_params", params)
    save("optim_adagrad_updates", updates)
    save("optim_adagrad_accumulator", accs)


if __name__ == "__main__":
    main()
