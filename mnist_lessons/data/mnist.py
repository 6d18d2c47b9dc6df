"""MNIST as the lesson uses it: the datasets (:func:`load_mnist`), the lesson's split and DataLoaders.

Where the files live, and how they are fetched and verified, is :mod:`mnist_lessons.data.fetch`.
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
    """torchvision's MNIST read only from the raw files in ``<root>/MNIST/raw``, never from the unchecked legacy
    ``MNIST/processed/*.pt`` cache that torchvision's own class prefers."""

    def __init__(self, root: str | os.PathLike[str], train: bool = True, transform: Callable | None = None) -> None:
        VisionDataset.__init__(self, root, transform=transform)
        self.train = train
        prefix = "train" if train else "t10k"
        self.data = read_image_file(os.path.join(self.raw_folder, f"{prefix}-images-idx3-ubyte"))
        self.targets = read_label_file(os.path.join(self.raw_folder, f"{prefix}-labels-idx1-ubyte"))

    @property
    def raw_folder(self) -> str:
        return str(fetch.raw_dir(Path(self.root)))  # torchvision's would be <root>/VerifiedMNIST/raw


def load_mnist(
    root: str | os.PathLike[str] | None = None, download: bool = True, transform: Callable | None = None
) -> tuple[MNIST, MNIST]:
    """The (train, test) datasets, from the four raw files once their MD5 sums check out (fetched if ``download``).

    Images become (1, 28, 28) tensors in [0, 1] unless another ``transform`` is given.
    """
    root = fetch.data_dir(root)
    if download:
        fetch.ensure_mnist(root)
    elif missing := fetch.missing_files(root):
        raise FileNotFoundError(f"MNIST files missing or damaged in {fetch.raw_dir(root)}: {', '.join(missing)}. "
                                "Run with download=True, or fetch them first with `python -m mnist_lessons data`.")
    if (legacy := root / "MNIST" / "processed").exists():
        log.warning("Ignoring %s (an old torchvision cache); the checked raw files are read instead", legacy)
    transform = transform if transform is not None else ToTensor()
    train = VerifiedMNIST(root, train=True, transform=transform)
    test = VerifiedMNIST(root, train=False, transform=transform)
    return train, test


def split(dataset: Dataset, val_fraction: float = VAL_FRACTION, seed: int = SEED) -> tuple[Subset, Subset]:
    """Split ``dataset`` at random, fixed by ``seed``, into (train, validation): 60,000 become 48,000 and 12,000."""
    val_fraction = check_number("val_fraction", val_fraction, minimum=0.0, strict=True, maximum=1.0)
    generator = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
    train, val = random_split(dataset, [1 - val_fraction, val_fraction], generator=generator)
    if len(train) == 0 or len(val) == 0:
        n, empty = len(dataset), "validation" if len(val) == 0 else "training"
        raise ValueError(f"val_fraction={val_fraction!r} of {n} examples leaves the {empty} split empty; "
                         f"choose a fraction between {1 / n:.2g} and {1 - 1 / n:.6g}")
    return train, val


def make_loader(dataset: Dataset, batch_size: int, shuffle: bool = False, seed: int | None = None) -> DataLoader:
    """A DataLoader over ``dataset``, the classic path; its own generator, seeded with ``seed`` (default
    ``config.SEED``), makes the order repeatable and leaves the global random state (later dropout masks) alone."""
    batch_size = check_int("batch_size", batch_size, minimum=1)
    generator = torch.Generator().manual_seed(SEED if seed is None else seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator)
