"""Golden data for ops/batchnorm.cc: Keras BatchNormalization over the last axis, epsilon 1e-3.
x (..., C) is seen as a (rows, C) matrix; PyTorch's F.batch_norm on that view gives
  training:  y, the batch mean and biased variance, and dx, dgamma, dbeta for a cotangent dy;
  inference: y with given moving statistics, and dx, dgamma, dbeta (statistics constant).
The moving-average update (Keras momentum convention) is checked arithmetically in the test."""
import torch
import torch.nn.functional as F

from common import rng, save

EPS = 1e-3


def t(a, grad=False):
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


def case(prefix, shape, seed):
    r = rng(seed)
    c = shape[-1]
    x_np = r.uniform(-2, 3, size=shape) * r.uniform(0.5, 2, size=c)
    gamma_np = r.uniform(0.5, 1.5, size=c)
    beta_np = r.uniform(-0.5, 0.5, size=c)
    dy_np = r.uniform(-1, 1, size=shape)
    mm_np = r.uniform(-0.5, 0.5, size=c)
    mv_np = r.uniform(0.5, 2.0, size=c)
    for name, a in [("x", x_np), ("gamma", gamma_np), ("beta", beta_np), ("dy", dy_np),
                    ("moving_mean", mm_np), ("moving_variance", mv_np)]:
        save(f"{prefix}_{name}", a)
    dy = t(dy_np).reshape(-1, c)
    for mode in ("train", "infer"):
        x, gamma, beta = t(x_np, True), t(gamma_np, True), t(beta_np, True)
        x2 = x.reshape(-1, c)
        if mode == "train":
            y = F.batch_norm(x2, None, None, gamma, beta, training=True, eps=EPS)
            save(f"{prefix}_train_mean", x2.detach().mean(0).numpy())
            save(f"{prefix}_train_variance", x2.detach().var(0, unbiased=False).numpy())
        else:
            y = F.batch_norm(x2, t(mm_np), t(mv_np), gamma, beta, training=False, eps=EPS)
        (y * dy).sum().backward()
        save(f"{prefix}_{mode}_y", y.detach().reshape(shape).numpy())
        save(f"{prefix}_{mode}_dx", x.grad.numpy())
        save(f"{prefix}_{mode}_dgamma", gamma.grad.numpy())
        save(f"{prefix}_{mode}_dbeta", beta.grad.numpy())


case("batchnorm_r3", (4, 5, 3), 21)
case("batchnorm_r2", (6, 4), 22)
