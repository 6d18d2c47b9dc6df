"""Vanishing and exploding gradients: how big the gradient of each layer of a deep network is."""

from __future__ import annotations

import torch
from torch import nn

from ..checks import check_choice, check_int, check_number
from ..config import NUM_CLASSES, NUM_PIXELS, SEED
from ..models import ActivationSpec, make_activation

#: PyTorch's default for ``nn.Linear``, Glorot (Xavier) normal for sigmoid and tanh, He (Kaiming) normal for ReLU.
INITS: tuple[str, ...] = ("default", "xavier", "he")


def deep_network(activation: ActivationSpec = "relu", depth: int = 10, width: int = 128, init: str = "default",
                 scale: float = 1.0, seed: int = SEED) -> nn.Sequential:
    """A plain deep network: ``depth`` hidden layers of ``width`` units, then 10 outputs.

    ``init`` picks how weights are drawn (:data:`INITS`; biases start at zero except with ``"default"``), then
    ``scale`` multiplies every weight: ``scale=2`` is an initialisation twice too large.
    """
    depth = check_int("depth", depth, minimum=1)
    width = check_int("width", width, minimum=1)
    check_choice("init", init, INITS)
    check_number("scale", scale, minimum=0.0, strict=True)
    torch.manual_seed(seed)
    layers: list[nn.Module] = [nn.Flatten()]
    sizes = [NUM_PIXELS] + [width] * depth
    for fan_in, fan_out in zip(sizes, sizes[1:]):
        layers += [nn.Linear(fan_in, fan_out), make_activation(activation)]
    layers.append(nn.Linear(width, NUM_CLASSES))
    with torch.no_grad():
        for layer in (m for m in layers if isinstance(m, nn.Linear)):
            if init == "xavier":
                nn.init.xavier_normal_(layer.weight)
                nn.init.zeros_(layer.bias)
            elif init == "he":
                nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
                nn.init.zeros_(layer.bias)
            layer.weight.mul_(scale)
    return nn.Sequential(*layers)


def gradient_norms(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> list[float]:
    """Frobenius norm of the cross-entropy gradient on ``(x, y)`` of each ``nn.Linear`` weight, input side first.

    >>> x, y = torch.rand(32, 1, 28, 28), torch.arange(32) % 10
    >>> norms = gradient_norms(deep_network("sigmoid"), x, y)
    >>> norms[0] < norms[-1]  # the gradient vanishes on its way to the input
    True
    """
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError("the model has no nn.Linear layers to measure")
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"x and y must be a non-empty batch of the same length, got {len(x)} and {len(y)}")
    device = next(model.parameters()).device
    model.zero_grad()
    nn.functional.cross_entropy(model(x.to(device)), y.to(device)).backward()
    norms = [layer.weight.grad.norm().item() for layer in linears]
    model.zero_grad(set_to_none=True)
    return norms
