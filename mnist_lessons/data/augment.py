"""Data augmentation on tensors: small random shifts and rotations of the images, drawn afresh for every batch.

Training on such variants teaches the network that position and slant do not matter; labels are never changed::

    train = AugmentedBatches(splits.train.batches(128, shuffle=True), max_shift=2, max_degrees=10)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..checks import check_int, check_number
from ..config import SEED

#: Largest shift, in whole pixels, along each axis (a 28-pixel digit moves by at most 2).
MAX_SHIFT: int = 2
#: Largest rotation, in degrees, either way.
MAX_DEGREES: float = 10.0


def shift_and_rotate(x: torch.Tensor, shifts: torch.Tensor | None = None,
                     degrees: torch.Tensor | None = None) -> torch.Tensor:
    """Rotate each image of ``x`` (N, C, H, W) about its centre by ``degrees`` (N,), anticlockwise, then shift it.

    ``shifts`` is (N, 2) as (right, down) in pixels; None means none. What comes in from outside is 0;
    whole-pixel shifts without rotation move pixels exactly, without blurring.

    >>> x = torch.zeros(1, 1, 28, 28)
    >>> x[0, 0, 10, 10] = 1
    >>> shift_and_rotate(x, shifts=torch.tensor([[2, -1]]))[0, 0, 9, 12].item()
    1.0
    """
    if x.dim() != 4:
        raise ValueError(f"x must be a batch of images (N, C, H, W), got shape {tuple(x.shape)}")
    n, _, height, width = x.shape
    shifts = torch.zeros(n, 2) if shifts is None else torch.as_tensor(shifts, dtype=torch.float32)
    degrees = torch.zeros(n) if degrees is None else torch.as_tensor(degrees, dtype=torch.float32)
    if shifts.shape != (n, 2) or degrees.shape != (n,):
        raise ValueError(f"need shifts of shape ({n}, 2) and degrees of shape ({n},), got "
                         f"{tuple(shifts.shape)} and {tuple(degrees.shape)}")
    # affine_grid maps each output pixel to where it is read from in the input, in coordinates that run from
    # -1 to 1 across the image: so the inverse rotation, and a shift of -2 * pixels / size.
    angle = torch.deg2rad(degrees)
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack([cos, -sin, -2 * shifts[:, 0] / width, sin, cos, -2 * shifts[:, 1] / height], dim=1)
    grid = F.affine_grid(theta.view(n, 2, 3).to(x), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _check_limits(max_shift: int, max_degrees: float) -> None:
    check_int("max_shift", max_shift, minimum=0)
    if check_number("max_degrees", max_degrees, minimum=0.0) > 180:
        raise ValueError(f"max_degrees must be a number between 0 and 180, got {max_degrees!r}")


def random_shift_and_rotate(x: torch.Tensor, max_shift: int = MAX_SHIFT, max_degrees: float = MAX_DEGREES,
                            generator: torch.Generator | None = None) -> torch.Tensor:
    """Shift each image by whole pixels in [-max_shift, max_shift] per axis and rotate it within ±max_degrees.

    The amounts are drawn on the CPU from ``generator``, so a seeded generator gives the same result on any device.
    """
    _check_limits(max_shift, max_degrees)
    n = len(x)
    shifts = torch.randint(-max_shift, max_shift + 1, (n, 2), generator=generator)
    degrees = (torch.rand(n, generator=generator) * 2 - 1) * max_degrees
    return shift_and_rotate(x, shifts, degrees)


class AugmentedBatches:
    """``(X, y)`` training batches with every ``X`` randomly shifted and rotated, afresh on each pass.

    The generator is seeded once with ``seed``: a run is reproducible, yet each epoch sees new variants.
    """

    def __init__(self, batches: Iterable[tuple[torch.Tensor, torch.Tensor]], max_shift: int = MAX_SHIFT,
                 max_degrees: float = MAX_DEGREES, seed: int = SEED) -> None:
        _check_limits(max_shift, max_degrees)
        self.batches, self.max_shift, self.max_degrees = batches, max_shift, max_degrees
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(self.batches)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for x, y in self.batches:
            yield random_shift_and_rotate(x, self.max_shift, self.max_degrees, self.generator), y


@dataclass(frozen=True)
class Augmentation:
    """A run's ``augmentation`` setting: the limits of the random shifts and rotations."""

    max_shift: int = MAX_SHIFT
    max_degrees: float = MAX_DEGREES

    def __post_init__(self) -> None:
        _check_limits(self.max_shift, self.max_degrees)

    def wrap(self, batches: Iterable[tuple[torch.Tensor, torch.Tensor]], seed: int = SEED) -> AugmentedBatches:
        """``batches`` augmented afresh on each pass, from a generator seeded with ``seed``."""
        return AugmentedBatches(batches, self.max_shift, self.max_degrees, seed)
