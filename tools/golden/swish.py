"""Golden data for the user-op example (examples/custom_op): Swish = SiLU in PyTorch."""
import torch

from common import rng, save

r = rng(11)
x = torch.tensor(r.uniform(-4, 4, size=(3, 7)), dtype=torch.float64, requires_grad=True)
dy = torch.tensor(r.uniform(-1, 1, size=(3, 7)), dtype=torch.float64)
y = torch.nn.functional.silu(x)
(y * dy).sum().backward()
save("swish_x", x.detach().numpy())
save("swish_dy", dy.numpy())
save("swish_y", y.detach().numpy())
save("swish_dx", x.grad.numpy())
