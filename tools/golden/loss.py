"""Golden data for graft's loss ops (ops/loss.cc), computed with PyTorch in float64.

    /usr/bin/python3 tools/golden/loss.py

Follows the Keras 3 formulas (reduction "sum_over_batch_size" = mean over the batch), see
/work/shared/reference/keras-semantics.md "Losses":
  BCE (probabilities): p' = clip(p, lo, hi), l = -(t log p' + (1-t) log(1-p')), mean over the last
                       axis, then over the batch. lo, hi are the float32 bounds a float32 Keras
                       model uses: float32(1e-7) and float32(1 - 1e-7).
  BCE (logits):        max(z, 0) - z t + log1p(exp(-|z|))  (TF sigmoid_cross_entropy_with_logits)
  SCCE (probabilities): -log(clip(p / sum(p), lo, hi)[label])
  SCCE (logits):       logsumexp(z) - z[label]
  CCE (probabilities): -sum(t log(clip(p / sum(p), lo, hi))) over the last axis, t one-hot/soft
  CCE (logits):        -sum(t log_softmax(z)) = sum(t) logsumexp(z) - sum(t z)
                       (TF softmax_cross_entropy_with_logits)
  MSE, MAE:            mean((p - t)^2), mean(|p - t|) over the last axis, then over the batch;
                       torch's abs has gradient sign(0) = 0, as graft.
Inputs are rounded to float32 first and the math is run in float64 on those float32 values, so
graft's float32 inputs are exactly the ones the golden values belong to. Gradients are wrt y_pred
(or the logits) with d(loss) = 1; torch's clamp passes the gradient at the bounds themselves and
blocks it outside them, which is graft's rule too.

Writes tests/golden/loss_<case>_{true,pred,value,grad}.npy.
"""
import numpy as np
import torch

from common import rng, save

LO = float(np.float32(1e-7))
HI = float(np.float32(1 - 1e-7))  # 0.99999988079071044921875


def f32(a):
    """Rounds to float32 and returns float64 values (what graft's float32 tensors hold)."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def run(name, loss_fn, y_true, y_pred):
    t = torch.tensor(f32(y_true), dtype=torch.float64)
    p = torch.tensor(f32(y_pred), dtype=torch.float64, requires_grad=True)
    loss = loss_fn(t, p)
    loss.backward()
    save(f"loss_{name}_true", t.numpy())
    save(f"loss_{name}_pred", p.detach().numpy())
    save(f"loss_{name}_value", loss.detach().numpy())
    save(f"loss_{name}_grad", p.grad.numpy())
    print(f"loss_{name}: shape {tuple(p.shape)}, loss {loss.item():.9g}, "
          f"max |grad| {p.grad.abs().max().item():.6g}")


def bce_probs(t, p):
    pc = torch.clamp(p, LO, HI)
    per_elem = -(t * torch.log(pc) + (1 - t) * torch.log(1 - pc))
    return per_elem.mean(dim=-1).mean()


def bce_logits(t, z):
    # Written as TF writes it (nn_impl.py), with where() rather than clamp/abs: torch's
    # subgradients at z = 0 (clamp passes 1, abs gives 0) would make the gradient 1 - t there
    # instead of sigmoid(0) - t.
    pos = z >= 0
    relu = torch.where(pos, z, torch.zeros_like(z))
    neg_abs = torch.where(pos, -z, z)
    per_elem = relu - z * t + torch.log1p(torch.exp(neg_abs))
    return per_elem.mean(dim=-1).mean()


def scce_probs(t, p):
    q = p / p.sum(dim=-1, keepdim=True)
    qc = torch.clamp(q, LO, HI)
    labels = t.long().reshape(-1, 1)
    return (-torch.log(qc).gather(1, labels)).mean()


def scce_logits(t, z):
    labels = t.long().reshape(-1, 1)
    return (torch.logsumexp(z, dim=-1, keepdim=True) - z.gather(1, labels)).mean()


def cce_probs(t, p):
    q = p / p.sum(dim=-1, keepdim=True)
    qc = torch.clamp(q, LO, HI)
    return (-(t * torch.log(qc)).sum(dim=-1)).mean()


def cce_logits(t, z):
    return (-(t * torch.log_softmax(z, dim=-1)).sum(dim=-1)).mean()


def mse(t, p):
    return ((p - t) ** 2).mean(dim=-1).mean()


def mae(t, p):
    return (p - t).abs().mean(dim=-1).mean()


def main():
    r = rng(20240611)

    # BCE on probabilities, (6, 4): rows 0-2 random; rows 3-5 hold exact 0 and 1 and values on
    # both sides of the clip bounds (clipped: zero gradient; inside: huge but finite gradient).
    p = r.uniform(0.02, 0.98, size=(6, 4))
    t = r.integers(0, 2, size=(6, 4)).astype(np.float64)
    t[2] = [0.25, 0.5, 0.9, 0.0]  # soft labels
    p[3] = [0.0, 1.0, 0.0, 1.0]
    t[3] = [0.0, 1.0, 1.0, 0.0]
    p[4] = [1e-8, 5e-8, LO, 2e-7]  # clipped, clipped, on the bound, inside
    t[4] = [1.0, 0.0, 1.0, 1.0]
    p[5] = [1 - 1e-8, HI, 0.9999997, 1 - 5e-8]  # clipped, on the bound, inside, clipped
    t[5] = [0.0, 0.0, 1.0, 0.5]
    run("bce", bce_probs, t, p)

    # BCE on probabilities, rank 3 (N, L, C) = (2, 3, 4): the mean is over every element.
    run("bce3d", bce_probs, r.uniform(0, 1, size=(2, 3, 4)).round(),
        r.uniform(0.05, 0.95, size=(2, 3, 4)))

    # BCE from logits, (5, 3): includes |z| = 30, 0 and soft labels.
    z = r.normal(0, 3, size=(5, 3))
    t = r.integers(0, 2, size=(5, 3)).astype(np.float64)
    z[3] = [30.0, -30.0, 0.0]
    t[3] = [0.0, 1.0, 1.0]
    z[4] = [30.0, -30.0, 17.5]
    t[4] = [1.0, 0.0, 0.3]
    run("bce_logits", bce_logits, t, z)

    # SCCE on probabilities, (6, 5). Rows 0-1: softmax outputs; rows 2-3: unnormalised (the
    # Keras 3 normalisation matters); row 4: the label holds all the mass (q = 1 > hi, clipped);
    # row 5: the label has no mass (q = 0 < lo, clipped).
    logits = r.normal(0, 1.5, size=(6, 5))
    p = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    p[2:4] = r.uniform(0.1, 2.0, size=(2, 5))
    p[4] = [0.0, 0.0, 1.0, 0.0, 0.0]
    p[5] = [0.3, 0.0, 0.2, 0.25, 0.25]
    labels = np.array([0, 3, 4, 1, 2, 1], dtype=np.float64)
    run("scce", scce_probs, labels, p)

    # SCCE from logits, (6, 4): random logits plus large ones.
    z = r.normal(0, 2, size=(6, 4))
    z[3] = [1000.0, 0.0, -1000.0, 5.0]
    z[4] = [50.0, 50.0, 50.0, 50.0]
    z[5] = [-80.0, 80.0, 79.0, 0.0]
    labels = np.array([2, 0, 3, 1, 0, 2], dtype=np.float64)
    run("scce_logits", scce_logits, labels, z)

    # CCE on probabilities, (6, 5). Rows 0-1: softmax outputs, one-hot targets; row 2:
    # unnormalised, soft targets; row 3: soft targets, one class with no mass (clipped, zero
    # gradient for it) and one with all but nothing (q > hi is impossible with two nonzero
    # classes, so row 4 holds all the mass in its target class: clipped, a zero-gradient row);
    # row 5: soft targets with one class of zero target and zero mass.
    logits = r.normal(0, 1.5, size=(6, 5))
    p = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    t = np.zeros((6, 5))
    t[0, 2] = 1
    t[1, 4] = 1
    p[2] = r.uniform(0.1, 2.0, size=5)
    t[2] = [0.1, 0.2, 0.3, 0.4, 0.0]
    p[3] = [0.0, 0.5, 0.3, 0.1, 0.1]
    t[3] = [0.5, 0.25, 0.0, 0.25, 0.0]
    p[4] = [0.0, 0.0, 0.0, 1.0, 0.0]
    t[4] = [0.0, 0.0, 0.0, 1.0, 0.0]
    p[5] = [0.2, 0.0, 0.3, 0.4, 0.1]
    t[5] = [0.3, 0.0, 0.3, 0.2, 0.2]
    run("cce", cce_probs, t, p)

    # CCE on probabilities, rank 3 (N, L, K) = (2, 3, 4): the mean is over the N*L rows.
    t3 = np.eye(4)[r.integers(0, 4, size=(2, 3))]
    run("cce3d", cce_probs, t3, r.uniform(0.05, 1.0, size=(2, 3, 4)))

    # CCE from logits, (5, 4): one-hot and soft targets, large logits, and a row whose targets
    # do not sum to 1 (the general form sum(t) logsumexp(z) - sum(t z)).
    z = r.normal(0, 2, size=(5, 4))
    t = np.zeros((5, 4))
    t[0, 1] = 1
    t[1] = [0.1, 0.6, 0.3, 0.0]
    z[2] = [1000.0, 0.0, -1000.0, 5.0]
    t[2] = [0.0, 0.0, 1.0, 0.0]
    z[3] = [-80.0, 80.0, 79.0, 0.0]
    t[3] = [0.25, 0.25, 0.25, 0.25]
    t[4] = [0.5, 0.0, 1.0, 0.25]
    run("cce_logits", cce_logits, t, z)

    # MSE and MAE, (4, 3), with exact ties (p == t: MAE's gradient is 0 there).
    t = r.normal(0, 1, size=(4, 3))
    p = r.normal(0, 1, size=(4, 3))
    p[1, 1] = t[1, 1]
    p[3, 0] = t[3, 0]
    run("mse", mse, t, p)
    run("mae", mae, t, p)
    # Rank 3 (2, 3, 2).
    run("mse3d", mse, r.normal(0, 1, size=(2, 3, 2)), r.normal(0, 1, size=(2, 3, 2)))


if __name__ == "__main__":
    main()
