"""The chapters' device setting (mnist_lessons.devices)."""

from __future__ import annotations

import pytest
import torch

from mnist_lessons.devices import DEVICE_ENV, chapter_device


def test_chapters_run_on_the_cpu_unless_asked():
    assert chapter_device({}) == torch.device("cpu")
    assert chapter_device({DEVICE_ENV: " CPU "}) == torch.device("cpu")


def found(monkeypatch, device: str | None) -> None:
    """Make the accelerator that pick_device asks torch for ``device`` (None: none), whatever the wheel."""
    answer = None if device is None else torch.device(device)
    monkeypatch.setattr(torch.accelerator, "current_accelerator", lambda check_available=False: answer)


@pytest.mark.parametrize("device", ["cuda", "mps", "xpu"])
def test_auto_takes_the_accelerator_found(monkeypatch, device):
    found(monkeypatch, device)
    assert chapter_device({DEVICE_ENV: "auto"}) == torch.device(device)
    assert chapter_device({DEVICE_ENV: device}) == torch.device(device)
    assert chapter_device({}) == torch.device("cpu")  # found, but not asked for


def test_auto_without_an_accelerator_is_the_cpu(monkeypatch):
    found(monkeypatch, None)
    assert chapter_device({DEVICE_ENV: "auto"}) == torch.device("cpu")


def test_a_missing_accelerator_is_an_error_naming_the_setting(monkeypatch):
    found(monkeypatch, None)
    with pytest.raises(ValueError, match=f"{DEVICE_ENV}='cuda'.*not available"):
        chapter_device({DEVICE_ENV: "cuda"})
    with pytest.raises(ValueError, match="not a device name"):
        chapter_device({DEVICE_ENV: "gpu"})


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_is_used_when_present():
    device = chapter_device({DEVICE_ENV: "cuda"})
    assert torch.ones(2, device=device).sum().item() == 2.0


def test_mnist_splits_follows_the_setting(tiny_root, monkeypatch):
    from mnist_lessons.data import batches

    asked = []
    monkeypatch.setattr("mnist_lessons.devices.chapter_device", lambda env=None: asked.append(1) or torch.device("meta"))
    splits = batches.mnist_splits(tiny_root)
    assert asked and splits.train.x.device.type == "meta" and splits.test.y.device.type == "meta"
    assert batches.mnist_splits(tiny_root, device="cpu").train.x.device.type == "cpu"
