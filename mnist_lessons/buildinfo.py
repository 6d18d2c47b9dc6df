"""What the book was built with: versions, processor, device and date."""

from __future__ import annotations

import os
import platform
from datetime import datetime, timezone
from pathlib import Path

import torch
import torchvision

from .devices import DEVICE_ENV, chapter_device, pick_device


def cpu_name() -> str:
    """The processor's model name (from /proc/cpuinfo on Linux)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def environment() -> dict[str, str]:
    """Versions, processor and device of this run, as display strings."""
    device = chapter_device()  # what the chapters computed on: the setting, not merely what exists
    present = pick_device()
    accelerator = torch.cuda.get_device_name(present) if present.type == "cuda" else "none"
    if present.type != "cpu" and device.type == "cpu":
        accelerator += f" (present but unused: set {DEVICE_ENV}={present.type} to use it)"
    return {
        "Built on (UTC)": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M"),
        "Python": platform.python_version(),
        "PyTorch": torch.__version__,
        "torchvision": torchvision.__version__,
        "Device the chapters ran on": str(device),
        "Accelerator": accelerator,
        "Processor": f"{cpu_name()}, {os.cpu_count()} cores, {torch.get_num_threads()} PyTorch threads",
        "Platform": f"{platform.system()} {platform.release()} ({platform.machine()})",
    }


def environment_table():
    """The environment as a two-column HTML table for a notebook."""
    from IPython.display import HTML

    rows = "".join(f"<tr><th>{key}</th><td>{value}</td></tr>" for key, value in environment().items())
    return HTML(f"<table class='table'><tbody>{rows}</tbody></table>")
