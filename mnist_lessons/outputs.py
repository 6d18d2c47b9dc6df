"""Writing results safely: check an output path before the work, write it whole or not at all.

:func:`check_output_file` is called when a command starts, so a path that
cannot be written fails in a second, not after an hour of training: a folder,
a path ending in ``/``, a device or pipe, a parent that is a file, or a
folder without write permission. A symbolic link is followed: its target is
the file written. :func:`write_atomically` writes to a temporary file with a
unique name next to the target, then renames it over the target, so readers
see the old file or the new one, never half of one, and two processes saving
at once cannot delete each other's temporary file. :func:`save_state_dict`
saves weights that way; if that still fails (a full disk, say), it saves them
in the system's temporary folder and says where, so training is never lost.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from torch import nn


def check_output_file(path: str | os.PathLike[str]) -> Path:
    """The file that writing to ``path`` would create or replace; ``ValueError`` naming the problem if it cannot be written.

    >>> check_output_file("results/run.json").name
    'run.json'
    """
    text = os.fspath(path)
    if not text.strip():
        raise ValueError("the path is empty; give a file path such as weights.pt")
    if text.endswith(("/", os.sep)):
        raise ValueError(f"{text} ends with '/', so it names a folder; give a file path inside it, e.g. {text}weights.pt")
    target = Path(os.path.realpath(text)) if os.path.islink(text) else Path(text).expanduser()
    if target.is_dir():
        raise ValueError(f"{text} is a folder; give a file path inside it, e.g. {Path(text) / 'weights.pt'}")
    if target.exists() and not target.is_file():
        raise ValueError(f"{text} exists and is not a regular file (a device, socket or pipe); give a file path")
    folder = next(p for p in (target.absolute(), *target.absolute().parents) if p.exists())
    if folder == target.absolute():  # an existing regular file: its folder must be writable to replace it
        folder = target.absolute().parent
    if not folder.is_dir():
        raise ValueError(f"{folder} is a file, not a folder; give a path under a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"cannot write in {folder} (permission denied); give a path you can write")
    return target


def write_atomically(path: str | os.PathLike[str], write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a uniquely named temporary file beside ``path``, then rename it to ``path``.

    A symbolic link at ``path`` is kept and its target replaced. Returns the file written.
    """
    target = check_output_file(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    os.close(handle)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def save_state_dict(model: nn.Module, path: str | os.PathLike[str]) -> Path:
    """Save ``model``'s weights (on the CPU, so they load anywhere) to ``path``, atomically.

    If writing there fails, the weights go to the system's temporary folder
    instead and the ``OSError`` raised names both paths.
    """
    import torch

    state = {name: tensor.detach().cpu() for name, tensor in model.state_dict().items()}
    try:
        return write_atomically(path, lambda tmp: torch.save(state, tmp))
    except OSError as err:
        handle, rescue = tempfile.mkstemp(prefix="mnist-lessons-weights-", suffix=".pt")
        os.close(handle)
        torch.save(state, rescue)
        reason = err.strerror or str(err)
        raise OSError(f"could not save the weights to {path} ({reason}); they are in {rescue} instead") from err
