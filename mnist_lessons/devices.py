"""Where a run computes: :func:`pick_device` by name; the chapters' :func:`chapter_device`, the CPU (the same
numbers on any machine) unless ``$MNIST_LESSONS_DEVICE`` says. A missing device is an error, not a fallback."""

from __future__ import annotations

import os
from collections.abc import Mapping

import torch

DEVICE_ENV = "MNIST_LESSONS_DEVICE"  # the environment variable that chooses the chapters' device


def pick_device(preferred: str | None = None) -> torch.device:
    """``preferred`` if given, else (or for ``"auto"``) the accelerator found (cuda, mps, xpu, ...), else cpu."""
    if not preferred or preferred.strip().lower() == "auto":
        accelerator = torch.accelerator.current_accelerator(check_available=True)
        return accelerator if accelerator is not None else torch.device("cpu")
    try:
        device = torch.device(preferred)
    except RuntimeError as err:
        raise ValueError(f"device {preferred!r} is not a device name (try cpu, cuda, mps, xpu)") from err
    if device.type != "cpu" and pick_device().type != device.type:
        raise ValueError(f"device {preferred!r} was asked for but is not available here; use cpu")
    return device


def chapter_device(env: Mapping[str, str] | None = None) -> torch.device:
    """The device named by ``$MNIST_LESSONS_DEVICE`` (cpu, cuda, cuda:1, mps, xpu or auto); cpu when unset."""
    env = os.environ if env is None else env
    try:
        return pick_device(env.get(DEVICE_ENV, "").strip().lower() or "cpu")
    except ValueError as err:
        raise ValueError(f"{DEVICE_ENV}={env[DEVICE_ENV]!r}: {err} (or unset {DEVICE_ENV})") from None
