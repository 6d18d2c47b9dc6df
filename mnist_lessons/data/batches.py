"""Tensor-resident batches, the fast path: each split converted once to a (N, 1, 28, 28) tensor, cut by slicing.

The batches equal a ``DataLoader``'s with ``ToTensor`` for the same order, without its per-image work each epoch.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch.utils.data import Dataset, Subset

from ..checks import check_int
from ..config import BATCH_SIZE, EVAL_BATCH_SIZE, SEED, VAL_FRACTION


def as_tensors(dataset: Dataset) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x, y)`` of an MNIST dataset or a ``Subset`` of one: float32 (N, 1, 28, 28) scaled as by ``ToTensor``."""
    if isinstance(dataset, Subset):
        x, y = as_tensors(dataset.dataset)
        index = torch.as_tensor(dataset.indices, dtype=torch.long)
        return x[index], y[index]
    if not hasattr(dataset, "data") or not hasattr(dataset, "targets"):
        raise TypeError(f"as_tensors needs an MNIST dataset or a Subset of one, got {type(dataset).__name__}")
    x = torch.as_tensor(dataset.data).unsqueeze(1).to(torch.float32).div(255)
    return x, torch.as_tensor(dataset.targets, dtype=torch.long)


class TensorBatches:
    """``(X, y)`` batches sliced from tensors, in order or, with ``shuffle``, in a fresh order each epoch.

    The orders come from a generator seeded once with ``seed``; ``order`` holds the latest epoch's.

    >>> batches = TensorBatches(torch.zeros(300, 1, 28, 28), torch.zeros(300, dtype=torch.long), 128)
    >>> len(batches), [len(y) for _, y in batches]
    (3, [128, 128, 44])
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int = BATCH_SIZE, shuffle: bool = False,
                 seed: int | None = None) -> None:
        if len(x) != len(y):
            raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
        if len(x) == 0:
            raise ValueError("cannot make batches from an empty split")
        self.x = x
        self.y = y.to(x.device)
        self.batch_size = check_int("batch_size", batch_size, minimum=1)
        self.shuffle = shuffle
        self.generator = torch.Generator().manual_seed(SEED if seed is None else seed)
        self.order: torch.Tensor | None = None

    def __len__(self) -> int:
        return math.ceil(len(self.x) / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        x, y = self.x, self.y
        if self.shuffle:
            self.order = torch.randperm(len(x), generator=self.generator)
            index = self.order.to(x.device)
            x, y = x[index], y[index]  # one gather per epoch, then cheap slices
        for start in range(0, len(x), self.batch_size):
            yield x[start : start + self.batch_size], y[start : start + self.batch_size]


@dataclass
class Split:
    """One split of MNIST held as tensors."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.x)

    def batches(self, batch_size: int = BATCH_SIZE, shuffle: bool = False, seed: int | None = None) -> TensorBatches:
        """Training batches over this split."""
        return TensorBatches(self.x, self.y, batch_size, shuffle=shuffle, seed=seed)

    def eval_batches(self, batch_size: int = EVAL_BATCH_SIZE) -> TensorBatches:
        """Large in-order batches for evaluation, where no gradients are kept."""
        return TensorBatches(self.x, self.y, batch_size)


@dataclass
class MNISTSplits:
    """The lesson's three splits: 48,000 train, 12,000 validation, 10,000 test."""

    train: Split
    val: Split
    test: Split

    @property
    def device(self) -> torch.device:
        """Where the tensors are: build a model with ``.to(splits.device)`` to train it there."""
        return self.train.x.device


def mnist_splits(root: str | None = None, device: torch.device | str | None = None,
                 val_fraction: float = VAL_FRACTION, seed: int = SEED) -> MNISTSplits:
    """Load MNIST, split it as the lesson does, and hold the splits as tensors on ``device``.

    ``device`` defaults to :func:`~mnist_lessons.devices.chapter_device` ($MNIST_LESSONS_DEVICE, else the CPU).
    """
    from ..devices import chapter_device
    from .mnist import load_mnist, split

    device = chapter_device() if device is None else device
    train_full, test = load_mnist(root)
    train, val = split(train_full, val_fraction=val_fraction, seed=seed)
    return MNISTSplits(*(Split(*(t.to(device) for t in as_tensors(part))) for part in (train, val, test)))
