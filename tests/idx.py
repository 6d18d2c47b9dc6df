"""Write tiny MNIST-shaped IDX files for tests (no network, no real data)."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import numpy as np

RAW_NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def idx_images_bytes(images: np.ndarray) -> bytes:
    """Serialise a uint8 array (N, 28, 28) in the IDX3 format."""
    n, rows, cols = images.shape
    return struct.pack(">IIII", 0x00000803, n, rows, cols) + images.astype(np.uint8).tobytes()


def idx_labels_bytes(labels: np.ndarray) -> bytes:
    """Serialise a uint8 vector (N,) in the IDX1 format."""
    return struct.pack(">II", 0x00000801, len(labels)) + labels.astype(np.uint8).tobytes()


def tiny_mnist_bytes(n_train: int = 60, n_test: int = 20, seed: int = 0) -> dict[str, bytes]:
    """Return the four raw files (name -> bytes) of a tiny random MNIST.

    Labels cycle through 0..9 so every class is present; each image carries a
    bright bar whose position depends on the label, so a model can learn it.
    """
    rng = np.random.default_rng(seed)
    out: dict[str, bytes] = {}
    for split, n in (("train", n_train), ("test", n_test)):
        labels = np.arange(n) % 10
        images = rng.integers(0, 60, size=(n, 28, 28), dtype=np.uint8)
        for i, label in enumerate(labels):
            images[i, 2 + 2 * label : 4 + 2 * label, 4:24] = 255
        out[RAW_NAMES[f"{split}_images"]] = idx_images_bytes(images)
        out[RAW_NAMES[f"{split}_labels"]] = idx_labels_bytes(labels)
    return out


def write_raw(root: Path, files: dict[str, bytes]) -> Path:
    """Write raw files under ``root/MNIST/raw`` and return that folder."""
    raw = Path(root) / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (raw / name).write_bytes(data)
    return raw


def md5_table(files: dict[str, bytes]) -> dict[str, str]:
    """MD5 checksums of the given files, for monkeypatching the expected table."""
    return {name: hashlib.md5(data).hexdigest() for name, data in files.items()}
