"""Where a run computes: :func:`pick_device` by name, and the chapters' device, the CPU unless the reader asks.

One setting, the environment variable ``MNIST_LESSONS_DEVICE``, read by
:func:`chapter_device`::

    make book                              # CPU: the published numbers
    MNIST_LESSONS_DEVICE=cuda make book    # every chapter on the first CUDA GPU
    MNIST_LESSONS_DEVICE=auto make book    # the best device found: cuda, mps, xpu, else cpu

The default stays the CPU so that two builds give the same numbers on any
machine; asking for a device that is missing is an error, not a silent
fallback to the CPU.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import torch

#: The environment variable that chooses the chapters' device.
DEVICE_ENV = "MNIST_LESSONS_DEVICE"


def pick_device(preferred: str | None = None) -> torch.device:
    """Return ``preferred`` if given, else (or for ``"auto"``) the current accelerator (cuda, mps, xpu, ...)
    if any, else cpu.

    >>> pick_device("cpu")
    device(type='cpu')
    """
    if preferred and preferred.strip().lower() != "auto":
        try:
            device = torch.device(preferred)
        except RuntimeError as err:
            raise ValueError(f"device {preferred!r} is not a device name (try cpu, cuda, mps, xpu)") from err
        if device.type != "cpu" and not _available(device.type):
            raise ValueError(f"device {preferred!r} was asked for but is not available here; use cpu")
        return device
    accelerator = torch.accelerator.current_accelerator(check_available=True)
    return accelerator if accelerator is not None else torch.device("cpu")


def _available(kind: str) -> bool:
    accelerator = torch.accelerator.current_accelerator(check_available=True)
    return accelerator is not None and accelerator.type == kind


def chapter_device(env: Mapping[str, str] | None = None) -> torch.device:
    """The device named by ``$MNIST_LESSONS_DEVICE`` (cpu, cuda, cuda:1, mps, xpu or auto); cpu when unset.

    >>> chapter_device({})
    device(type='cpu')
    """
    env = os.environ if env is None else env
    name = env.get(DEVICE_ENV, "").strip().lower() or "cpu"
    try:
        return pick_device(None if name == "auto" else name)
    except ValueError as err:
        raise ValueError(f"{DEVICE_ENV}={env[DEVICE_ENV]!r}: {err} (or unset {DEVICE_ENV})") from None
