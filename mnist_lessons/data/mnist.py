"""MNIST as the lesson uses it: loading, splitting, batching (where it lives: :mod:`mnist_lessons.data.fetch`).

>>> train, test = load_mnist()                      # doctest: +SKIP
>>> train_set, val_set = split(train)               # doctest: +SKIP
>>> loader = make_loader(train_set, batch_size=128, shuffle=True, seed=55)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset, Subset, random_split
from torchvision.datasets import MNIST
from torchvision.datasets.mnist import read_image_file, read_label_file
from torchvision.datasets.vision import VisionDataset
from torchvision.transforms import ToTensor

from mnist_lessons.checks import check_int, check_number
from mnist_lessons.data import fetch
from mnist_lessons.config import SEED, VAL_FRACTION

log = logging.getLogger(__name__)


class VerifiedMNIST(MNIST):
    """torchvision's MNIST read only from the raw IDX files in ``<root>/MNIST/raw``.

    torchvision's own class prefers a legacy ``MNIST/processed/*.pt`` cache
    when one exists and never checks it, so a stale or damaged cache would
    silently replace the checksummed raw files. This class never looks there.
    """

    def __init__(self, root: str | os.PathLike[str], train: bool = True, transform: Callable | None = None) -> None:
        VisionDataset.__init__(self, root, transform=transform)
        self.train = train
        prefix = "train" if train else "t10k"
        raw = fetch.raw_dir(Path(root))
        self.data = read_image_file(str(raw / f"{prefix}-images-idx3-ubyte"))
        self.targets = read_label_file(str(raw / f"{prefix}-labels-idx1-ubyte"))

    @property
    def raw_folder(self) -> str:
        return str(fetch.raw_dir(Path(self.root)))

    @property
    def processed_folder(self) -> str:
        return str(Path(self.root) / "MNIST" / "processed")


def load_mnist(
    root: str | os.PathLike[str] | None = None,
    download: bool = True,
    transform: Callable | None = None,
) -> tuple[MNIST, MNIST]:
    """Return the (train, test) MNIST datasets, fetching the files if allowed.

    Only the four raw files, checked against their MD5 sums first, are read
    (never a legacy ``processed/`` cache). Images become tensors in [0, 1] of
    shape (1, 28, 28) unless another ``transform`` is given.
    """
    root = fetch.data_dir(root)
    if download:
        fetch.ensure_mnist(root)
    else:
        missing = fetch.missing_files(root)
        if missing:
            raise FileNotFoundError(
                f"MNIST files missing or damaged in {fetch.raw_dir(root)}: {', '.join(missing)}. "
                "Run with download=True, or fetch them first with `python -m mnist_lessons data`."
            )
    legacy = root / "MNIST" / "processed"
    if legacy.exists():
        log.warning("Ignoring %s (an old torchvision cache); the checked raw files are read instead", legacy)
    transform = transform if transform is not None else ToTensor()
    train = VerifiedMNIST(root, train=True, transform=transform)
    test = VerifiedMNIST(root, train=False, transform=transform)
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
    if len(train) == 0 or len(val) == 0:
        n = len(dataset)
        raise ValueError(
            f"val_fraction={val_fraction!r} of {n} examples leaves the {'validation' if len(val) == 0 else 'training'} "
            f"split empty; choose a fraction between {1 / n:.2g} and {1 - 1 / n:.6g}"
        )
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
