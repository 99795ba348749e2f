"""Golden data for graft's weighted losses (ops/loss.cc with a sample_weight input) and for a
weighted Model.Evaluate, computed with PyTorch in float64.

    /usr/bin/python3 tools/golden/weighted_losses.py

Keras 3's reduction of a loss with sample weights w (losses/loss.py reduce_weighted_values with
"sum_over_batch_size"): the per-sample losses l (shape (N, ...): the loss's own reduction over the
class / last axis done), multiplied by w (sample n's weight on each of its positions), summed, and
divided by the number of per-sample values, NOT by sum(w):
    loss = sum(w * l) / l.numel()
Here every loss is computed with torch's reduction='none' form where torch has one (the formulas
of tools/golden/loss.py where Keras differs: its clipping of probabilities), then reduced that
way. Inputs are rounded to float32 first and the math is run in float64 on those values.
Gradients are wrt y_pred (or the logits) with d(loss) = 1.

Writes tests/golden/wloss_<case>_{true,pred,weight,value,grad}.npy, and for the Model test
tests/golden/wmodel_{x,y,w,kernel,bias,loss,accuracy,weighted_accuracy}.npy.
"""
import numpy as np
import torch
import torch.nn.functional as F

from common import rng, save

LO = float(np.float32(1e-7))
HI = float(np.float32(1 - 1e-7))


def f32(a):
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def weighted(values, w):
    """Keras's sum_over_batch_size with sample weights: w (N,) on each of sample n's values."""
    w = w.reshape((-1,) + (1,) * (values.dim() - 1))
    return (w * values).sum() / values.numel()


# Per-sample losses, shape (N, ...) (the last axis reduced as Keras's loss functions do).
def bce_probs(t, p):
    return F.binary_cross_entropy(torch.clamp(p, LO, HI), t, reduction="none").mean(dim=-1)


def bce_logits(t, z):
    return F.binary_cross_entropy_with_logits(z, t, reduction="none").mean(dim=-1)


def scce_probs(t, p):
    q = torch.clamp(p / p.sum(dim=-1, keepdim=True), LO, HI)
    return F.nll_loss(torch.log(q), t.long().reshape(-1), reduction="none")


def scce_logits(t, z):
    return F.cross_entropy(z, t.long().reshape(-1), reduction="none")


def cce_probs(t, p):
    q = torch.clamp(p / p.sum(dim=-1, keepdim=True), LO, HI)
    return -(t * torch.log(q)).sum(dim=-1)


def cce_logits(t, z):
    # torch wants the classes on axis 1: (N, L, K) -> (N, K, L).
    if z.dim() == 2:
        return F.cross_entropy(z, t, reduction="none")
    return F.cross_entropy(z.transpose(1, -1), t.transpose(1, -1), reduction="none")


def mse(t, p):
    return F.mse_loss(p, t, reduction="none").mean(dim=-1)


def mae(t, p):
    return F.l1_loss(p, t, reduction="none").mean(dim=-1)


def run(name, per_sample, y_true, y_pred, w):
    t = torch.tensor(f32(y_true), dtype=torch.float64)
    p = torch.tensor(f32(y_pred), dtype=torch.float64, requires_grad=True)
    wt = torch.tensor(f32(w), dtype=torch.float64)
    loss = weighted(per_sample(t, p), wt)
    loss.backward()
    for what, a in (("true", t), ("pred", p.detach()), ("weight", wt), ("value", loss.detach()),
                    ("grad", p.grad)):
        save(f"wloss_{name}_{what}", a.numpy())
    print(f"wloss_{name}: shape {tuple(p.shape)}, loss {loss.item():.9g}")


def losses(r):
    # Weights: zero, fractional, one and above one, so that sum(w) != N.
    w6 = np.array([0.0, 0.5, 1.0, 2.0, 3.5, 1.25])
    w5 = np.array([1.5, 0.0, 0.25, 4.0, 1.0])
    w2 = np.array([0.0, 2.5])

    run("bce", bce_probs, r.integers(0, 2, size=(6, 3)), r.uniform(0.02, 0.98, size=(6, 3)), w6)
    # (N, L, C): sample n's weight on each of its L*C elements.
    run("bce3d", bce_probs, r.uniform(0, 1, size=(2, 3, 4)).round(),
        r.uniform(0.05, 0.95, size=(2, 3, 4)), w2)
    run("bce_logits", bce_logits, r.uniform(0, 1, size=(5, 2)), r.normal(0, 3, size=(5, 2)), w5)
    labels = np.array([0, 3, 4, 1, 2, 1], dtype=np.float64)
    run("scce", scce_probs, labels, r.uniform(0.1, 2.0, size=(6, 5)), w6)
    run("scce_logits", scce_logits, labels, r.normal(0, 2, size=(6, 5)), w6)
    t = np.eye(4)[r.integers(0, 4, size=5)]
    t[1] = [0.1, 0.6, 0.3, 0.0]  # soft
    run("cce", cce_probs, t, r.uniform(0.05, 1.0, size=(5, 4)), w5)
    run("cce_logits", cce_logits, t, r.normal(0, 2, size=(5, 4)), w5)
    # (N, L, K): sample n's weight on each of its L rows.
    run("cce3d", cce_probs, np.eye(4)[r.integers(0, 4, size=(2, 3))],
        r.uniform(0.05, 1.0, size=(2, 3, 4)), w2)
    run("cce3d_logits", cce_logits, np.eye(4)[r.integers(0, 4, size=(2, 3))],
        r.normal(0, 2, size=(2, 3, 4)), w2)
    run("mse", mse, r.normal(0, 1, size=(5, 3)), r.normal(0, 1, size=(5, 3)), w5)
    run("mae", mae, r.normal(0, 1, size=(5, 3)), r.normal(0, 1, size=(5, 3)), w5)
    run("mse3d", mse, r.normal(0, 1, size=(2, 3, 2)), r.normal(0, 1, size=(2, 3, 2)), w2)


def model(r):
    """A Dense(3, softmax) classifier, sparse_categorical_crossentropy, evaluated with weights.

    graft fuses softmax + crossentropy into the from-logits loss (as tf.keras does), so the
    golden loss is cross_entropy on the logits x @ kernel + bias. Evaluate runs batches of 4 of
    the 10 samples: Keras averages the batch losses sum_b(w l)/N_b weighted by N_b, which is
    sum(w l) / N over all the samples; the weighted accuracy is sum(w [right]) / sum(w) (Keras's
    weighted_metrics), the plain one ignores the weights.
    """
    n, d, k = 10, 4, 3
    x = f32(r.normal(0, 1, size=(n, d)))
    kernel = f32(r.normal(0, 0.8, size=(d, k)))
    bias = f32(r.normal(0, 0.1, size=(k,)))
    y = r.integers(0, k, size=n).astype(np.float64)
    w = f32(np.array([1.0, 0.0, 2.0, 0.5, 1.0, 3.0, 0.25, 1.0, 0.0, 1.5]))
    logits = torch.tensor(x) @ torch.tensor(kernel) + torch.tensor(bias)
    labels = torch.tensor(y).long()
    per_sample = F.cross_entropy(logits, labels, reduction="none")
    loss = weighted(per_sample, torch.tensor(w))
    right = (logits.argmax(dim=-1) == labels).double()
    wt = torch.tensor(w)
    for what, a in (("x", x), ("y", y), ("w", w), ("kernel", kernel), ("bias", bias),
                    ("loss", loss.numpy()), ("accuracy", right.mean().numpy()),
                    ("weighted_accuracy", ((wt * right).sum() / wt.sum()).numpy())):
        save(f"wmodel_{what}", np.asarray(a))
    print(f"wmodel: loss {loss.item():.9g}, accuracy {right.mean().item():.4f}, "
          f"weighted accuracy {((wt * right).sum() / wt.sum()).item():.4f}")


def main():
    r = rng(20240917)
    losses(r)
    model(r)


if __name__ == "__main__":
    main()
