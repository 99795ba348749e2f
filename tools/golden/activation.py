"""Golden data for ops/activation.cc: relu, sigmoid, softmax (last axis), forward and gradient
for a random cotangent dy. Inputs avoid relu's kink at 0."""
import torch

from common import rng, save

r = rng(5)
x_np = r.uniform(-4, 4, size=(3, 4, 5))
x_np[abs(x_np) < 0.05] = 0.5
dy = torch.tensor(r.uniform(-1, 1, size=(3, 4, 5)), dtype=torch.float64)
save("activation_x", x_np)
save("activation_dy", dy.numpy())
for name, fn in [("relu", torch.relu), ("sigmoid", torch.sigmoid),
                 ("softmax", lambda t: torch.softmax(t, dim=-1))]:
    x = torch.tensor(x_np, dtype=torch.float64, requires_grad=True)
    y = fn(x)
    (y * dy).sum().backward()
    save(f"activation_{name}_y", y.detach().numpy())
    save(f"activation_{name}_dx", x.grad.numpy())
