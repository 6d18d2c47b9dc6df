"""Multiply-adds per image of a network's ``Linear`` and ``Conv2d`` layers (the others cost little and are left out).

>>> from mnist_lessons.models import LinearClassifier
>>> count_multiply_adds(LinearClassifier())
7840
"""

from __future__ import annotations

import torch
from torch import nn

from ..config import IMAGE_SHAPE


def count_multiply_adds(model: nn.Module, input_shape: tuple[int, ...] = IMAGE_SHAPE) -> int:
    """Multiply-adds of ``model``'s Linear and Conv2d layers for ONE input (in eval mode; its mode is restored)."""
    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    if not layers:
        raise ValueError(f"{type(model).__name__} has no Linear or Conv2d layer to count")
    total = 0

    def hook(module: nn.Module, inputs, output: torch.Tensor) -> None:
        nonlocal total
        # one dot product per output value, with one row of the weight: Linear in_features, Conv2d in/groups x kh x kw
        total += output.numel() * module.weight[0].numel()

    handles = [m.register_forward_hook(hook) for m in layers]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, *input_shape, device=next(model.parameters()).device))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return total
