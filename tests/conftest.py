"""Shared fixtures: a tiny MNIST written to disk, accepted by the package."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

# The unit tests train tiny models: one thread is fastest for them and keeps
# the suite's time steady on a busy machine.
torch.set_num_threads(1)

sys.path.insert(0, str(Path(__file__).parent))

from idx import md5_table, tiny_mnist_bytes, write_raw  # noqa: E402


@pytest.fixture
def tiny_files() -> dict[str, bytes]:
    """The four raw IDX files of a tiny synthetic MNIST (60 train, 20 test)."""
    return tiny_mnist_bytes()


@pytest.fixture
def tiny_root(tmp_path, tiny_files, monkeypatch) -> Path:
    """A data root holding the tiny MNIST, with its checksums made the expected ones."""
    from mnist_lessons import fetch

    monkeypatch.setattr(fetch, "MNIST_MD5", md5_table(tiny_files))
    write_raw(tmp_path, tiny_files)
    return tmp_path
