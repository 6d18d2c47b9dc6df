"""Chapters on a GPU: ``MNIST_LESSONS_DEVICE=cuda`` runs every training chapter there.

The published book runs on the CPU; this group checks, on a machine with a
CUDA GPU, that the chapters put every model they build next to the data
(``.to(splits.device)``) and never mix devices. Each chapter is executed from
its MyST source, as the build does, with the chapters' device set to cuda.
Without a GPU the tests skip, saying so; with one, ``make test`` runs them.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
#: Chapters that train or evaluate networks (data-parallel compares CPU cores on purpose;
#: try-it needs the weights a full build exports).
TRAINING_CHAPTERS = ["linear-model", "learning", "prediction", "multilayer", "regularization", "convolutions",
                     "homework", "homework-solution"]

pytestmark = [pytest.mark.slow, pytest.mark.mnist,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]


@pytest.mark.parametrize("chapter", TRAINING_CHAPTERS)
def test_chapter_runs_on_the_gpu_when_asked(chapter, monkeypatch, tmp_path):
    from myst_nb.core.read import read_myst_markdown_notebook
    from nbclient import NotebookClient

    data = Path(os.environ.get("MNIST_DATA_DIR") or ROOT / "data").resolve()
    if not (data / "MNIST" / "raw").is_dir():
        pytest.skip(f"MNIST is not in {data}: run `make data` (or set MNIST_DATA_DIR)")
    monkeypatch.setenv("MNIST_DATA_DIR", str(data))
    monkeypatch.setenv("MNIST_LESSONS_DEVICE", "cuda")
    monkeypatch.setenv("MNIST_LESSONS_LEDGER", str(tmp_path / "ledger"))  # never the CPU build's ledger
    source = ROOT / "book" / f"{chapter}.md"
    nb = read_myst_markdown_notebook(source.read_text(encoding="utf-8"))
    nb.cells.append(nbformat.v4.new_code_cell("from mnist_lessons.devices import chapter_device\n"
                                              "print(splits.device, chapter_device())"))
    NotebookClient(nb, kernel_name="python3", timeout=1200,
                   resources={"metadata": {"path": str(source.parent)}}).execute()
    printed = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    assert printed.split()[0].startswith("cuda") and printed.split()[1].startswith("cuda"), printed
