"""Facts about the real MNIST files (run with: pytest -m mnist).

Skipped unless the four verified files are in data_dir() (./data, or
$MNIST_DATA_DIR); fetch them with `python -m mnist_lessons data`.
"""

from __future__ import annotations

import pytest
import torch

from mnist_lessons.data import fetch
from mnist_lessons.config import MNIST_MEAN, MNIST_STD, NUM_CLASSES
from mnist_lessons.data.fetch import data_dir
from mnist_lessons.data.mnist import load_mnist, split

pytestmark = pytest.mark.mnist


@pytest.fixture(scope="module")
def mnist():
    root = data_dir()
    missing = fetch.missing_files(root)
    if missing:
        pytest.skip(
            f"real MNIST not in {fetch.raw_dir(root)} (missing or damaged: {', '.join(missing)}); "
            "fetch it with `python -m mnist_lessons data` or set MNIST_DATA_DIR"
        )
    return load_mnist(root, download=False)


def test_real_mnist_has_60000_training_and_10000_test_images(mnist):
    train, test = mnist
    assert (len(train), len(test)) == (60_000, 10_000)
    assert tuple(train.data.shape) == (60_000, 28, 28)
    assert train[0][0].shape == (1, 28, 28)


def test_real_mnist_labels_are_the_digits(mnist):
    for dataset in mnist:
        assert sorted(dataset.targets.unique().tolist()) == list(range(NUM_CLASSES))


def test_real_mnist_training_pixels_have_the_known_mean_and_std(mnist):
    pixels = mnist[0].data.to(torch.float64) / 255
    assert round(pixels.mean().item(), 4) == MNIST_MEAN == 0.1307
    assert round(pixels.std().item(), 4) == MNIST_STD == 0.3081


def test_real_mnist_splits_into_48000_and_12000(mnist):
    train, val = split(mnist[0])
    assert (len(train), len(val)) == (48_000, 12_000)
