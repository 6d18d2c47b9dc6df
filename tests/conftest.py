"""Shared fixtures: a tiny MNIST written to disk, accepted by the package."""

from __future__ import annotations

import errno
import logging
import os
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
def offline(monkeypatch):
    """No test reaches the network (every data source fails), and $MNIST_DATA_DIR from the shell is ignored."""
    from fakes import failing

    from mnist_lessons.data import fetch
    monkeypatch.setattr(fetch, "SOURCES", (("network", failing("tests never use the network")),))
    monkeypatch.delenv("MNIST_DATA_DIR", raising=False)


@pytest.fixture
def lessons_log(caplog, monkeypatch):
    """caplog for the package's loggers at INFO, each record seen once, whether or not an entry point
    has called ``setup_logging`` (which stops the package logger propagating to the root logger)."""
    package = logging.getLogger("mnist_lessons")
    monkeypatch.setattr(package, "propagate", False)  # records reach caplog through the package logger only
    added = caplog.handler not in package.handlers
    if added:
        package.addHandler(caplog.handler)
    caplog.set_level(logging.INFO, logger="mnist_lessons")
    yield caplog
    if added:
        package.removeHandler(caplog.handler)


@pytest.fixture
def tiny_files() -> dict[str, bytes]:
    """The four raw IDX files of a tiny synthetic MNIST (60 train, 20 test)."""
    return tiny_mnist_bytes()


@pytest.fixture
def tiny_root(tmp_path, tiny_files, monkeypatch) -> Path:
    """A data root holding the tiny MNIST, with its checksums made the expected ones."""
    from mnist_lessons.data import fetch
    monkeypatch.setattr(fetch, "MNIST_MD5", md5_table(tiny_files))
    write_raw(tmp_path, tiny_files)
    return tmp_path


@pytest.fixture
def expect_tiny(monkeypatch, tiny_files):
    """Make the tiny files' checksums the expected ones (for roots that start empty)."""
    from mnist_lessons.data import fetch
    monkeypatch.setattr(fetch, "MNIST_MD5", md5_table(tiny_files))
    return tiny_files


def chmod_binds(folder: Path) -> bool:
    """True if permission bits stop this process writing into ``folder`` (not root)."""
    try:
        (folder / ".probe").touch()
    except PermissionError:
        return True
    (folder / ".probe").unlink()
    return False


@pytest.fixture
def read_only(monkeypatch):
    """Make folders read-only with chmod.

    Root ignores permission bits; then creating anything inside those folders
    is refused at the os level, the way the kernel refuses everyone else.
    """
    folders: list[Path] = []
    real_mkdir, real_open = os.mkdir, os.open

    def refused(path) -> bool:
        target = Path(os.path.abspath(os.fsdecode(path)))
        return any(target.parent == f or f in target.parents for f in folders)

    def mkdir(path, *args, **kwargs):
        if refused(path):
            raise PermissionError(errno.EACCES, "Permission denied", os.fsdecode(path))
        return real_mkdir(path, *args, **kwargs)

    def open_(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and refused(path):
            raise PermissionError(errno.EACCES, "Permission denied", os.fsdecode(path))
        return real_open(path, flags, *args, **kwargs)

    def make(folder: Path) -> None:
        folder.chmod(0o555)
        folders.append(folder.resolve())
        if not chmod_binds(folder):
            monkeypatch.setattr(os, "mkdir", mkdir)
            monkeypatch.setattr(os, "open", open_)

    yield make
    for folder in folders:
        folder.chmod(0o755)


@pytest.fixture
def full_disk(tmp_path):
    """A real 64 KiB file system (tmpfs), too small for most weights; skipped where mounting is not allowed."""
    import subprocess

    folder = tmp_path / "full"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip() or 'not permitted'}")
    yield folder
    subprocess.run(["umount", str(folder)], check=True)
