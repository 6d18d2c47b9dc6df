"""What a network costs per image: multiply-adds counted on one forward pass.

:func:`count_multiply_adds` runs one image through the model with hooks on
its ``Linear`` and ``Conv2d`` layers and adds up the multiply-adds they do;
the other layers (activations, pooling, normalisation) cost little next to
them and are left out, as is usual when quoting a network's size in MACs.

>>> from mnist_lessons.models import LinearClassifier
>>> count_multiply_adds(LinearClassifier())
7840
"""

from __future__ import annotations

import torch
from torch import nn

from ..config import IMAGE_SHAPE


def _multiply_adds(module: nn.Module, output: torch.Tensor) -> int:
    if isinstance(module, nn.Linear):
        return output.numel() * module.in_features  # one dot product of length in_features per output value
    # Conv2d: each output value is a dot product over (in_channels / groups) x kernel height x kernel width
    kh, kw = module.kernel_size
    return output.numel() * (module.in_channels // module.groups) * kh * kw


def count_multiply_adds(model: nn.Module, input_shape: tuple[int, ...] = IMAGE_SHAPE) -> int:
    """Multiply-adds of ``model``'s Linear and Conv2d layers for ONE input of ``input_shape``.

    Runs one forward pass in evaluation mode without gradients; the model's
    training mode is restored afterwards.
    """
    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    if not layers:
        raise ValueError(f"{type(model).__name__} has no Linear or Conv2d layer to count")
    total = 0

    def hook(module: nn.Module, inputs, output: torch.Tensor) -> None:
        nonlocal total
        total += _multiply_adds(module, output)

    handles = [m.register_forward_hook(hook) for m in layers]
    was_training = model.training
    try:
        model.eval()
        device = next(model.parameters()).device
        with torch.no_grad():
            model(torch.zeros(1, *input_shape, device=device))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return total


__all__ = ["count_multiply_adds"]
