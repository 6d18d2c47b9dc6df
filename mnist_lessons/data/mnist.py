"""MNIST as the lesson uses it: where it lives, loading, splitting, batching.

>>> train, test = load_mnist()                      # doctest: +SKIP
>>> train_set, val_set = split(train)               # doctest: +SKIP
>>> loader = make_loader(train_set, batch_size=128, shuffle=True, seed=55)  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset, Subset, random_split
from torchvision.datasets import MNIST
from torchvision.transforms import ToTensor

from mnist_lessons.checks import check_int, check_number
from mnist_lessons.data import fetch
from mnist_lessons.config import DATA_DIR_ENV, DEFAULT_DATA_DIR, SEED, VAL_FRACTION


def data_root(root: str | os.PathLike[str] | None = None) -> Path:
    """The data directory: ``root`` if given, else $MNIST_DATA_DIR, else ./data.

    The result is absolute (``~`` expanded, relative paths taken from the
    current working directory).
    """
    if root is None or str(root) == "":
        root = os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR
    return Path(root).expanduser().resolve()


def load_mnist(
    root: str | os.PathLike[str] | None = None,
    download: bool = True,
    transform: Callable | None = None,
) -> tuple[MNIST, MNIST]:
    """Return the (train, test) MNIST datasets, fetching the files if allowed.

    Images become tensors in [0, 1] of shape (1, 28, 28) unless another
    ``transform`` is given.
    """
    root = data_root(root)
    if download:
        fetch.ensure_mnist(root)
    else:
        missing = fetch.missing_files(root)
        if missing:
            raise FileNotFoundError(
                f"MNIST files missing or damaged in {fetch.raw_dir(root)}: {', '.join(missing)}. "
                "Run with download=True, or fetch them first with `python -m mnist_lessons data`."
            )
    transform = transform if transform is not None else ToTensor()
    train = MNIST(str(root), train=True, download=False, transform=transform)
    test = MNIST(str(root), train=False, download=False, transform=transform)
    return train, test


def split(
    dataset: Dataset, val_fraction: float = VAL_FRACTION, seed: int = SEED
) -> tuple[Subset, Subset]:
    """Split ``dataset`` at random into (train, validation); the seed fixes the split.

    With the defaults, 60,000 training images become 48,000 and 12,000.
    """
    val_fraction = check_number("val_fraction", val_fraction, minimum=0.0, strict=True, maximum=1.0)
    seed = check_int("seed", seed, minimum=0)
    generator = torch.Generator().manual_seed(seed)
    train, val = random_split(dataset, [1 - val_fraction, val_fraction], generator=generator)
    return train, val


def make_loader(
    dataset: Dataset, batch_size: int, shuffle: bool = False, seed: int | None = None
) -> DataLoader:
    """A DataLoader over ``dataset``: the classic path the lesson teaches.

    The loader draws its randomness from its own generator, seeded with
    ``seed`` (default: ``config.SEED``), so the shuffled order is repeatable
    and iterating it never disturbs the global random state (which would
    change, for example, later dropout masks).
    """
    batch_size = check_int("batch_size", batch_size, minimum=1)
    generator = torch.Generator().manual_seed(SEED if seed is None else seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator)
