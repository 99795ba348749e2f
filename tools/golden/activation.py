"""Golden data for ops/activation.cc: every Keras activation graft knows, forward and gradient
for a random cotangent dy. Inputs avoid the kinks at 0 (relu, leaky_relu, elu, selu).
Keras 3 parameters: leaky_relu negative_slope 0.2, elu alpha 1, gelu approximate=False,
softmax over the last axis."""
import torch
import torch.nn.functional as F

from common import rng, save

r = rng(5)
x_np = r.uniform(-4, 4, size=(3, 4, 5))
x_np[abs(x_np) < 0.05] = 0.5
dy = torch.tensor(r.uniform(-1, 1, size=(3, 4, 5)), dtype=torch.float64)
save("activation_x", x_np)
save("activation_dy", dy.numpy())
for name, fn in [("relu", torch.relu), ("sigmoid", torch.sigmoid),
                 ("softmax", lambda t: torch.softmax(t, dim=-1)),
                 ("tanh", torch.tanh), ("elu", F.elu), ("selu", F.selu),
                 ("gelu", F.gelu), ("silu", F.silu),
                 ("leaky_relu", lambda t: F.leaky_relu(t, 0.2)), ("softplus", F.softplus)]:
    x = torch.tensor(x_np, dtype=torch.float64, requires_grad=True)
    y = fn(x)
    (y * dy).sum().backward()
    save(f"activation_{name}_y", y.detach().numpy())
    save(f"activation_{name}_dx", x.grad.numpy())
