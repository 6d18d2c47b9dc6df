"""The claims-ledger extension in a real (tiny) Jupyter Book build: a failing chapter fails the build,
the other chapters still execute, the report names chapter, cell, values and machine, and the status
page lists every recorded claim. The same build checks that a folded cell's toggle is named by its
visible text (accessible_toggles), which axe-core requires."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
JB = Path(sys.executable).with_name("jupyter-book")

HEADER = """---
jupytext:
  text_representation: {extension: .md, format_name: myst}
kernelspec: {display_name: Python 3, language: python, name: python3}
---
"""


def build(book: Path) -> subprocess.CompletedProcess:
    """``jupyter-book build BOOK -W -n --keep-going`` with this checkout's package importable."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("MNIST_LESSONS_LEDGER", None)
    return subprocess.run([str(JB), "build", str(book), "-W", "-n", "--keep-going"], capture_output=True,
                          text=True, env=env, timeout=600)


def chapter(title: str, code: str) -> str:
    return HEADER + f"\n# {title}\n\n```{{code-cell}} ipython3\n{textwrap.dedent(code).strip()}\n```\n"


@pytest.mark.slow
@pytest.mark.skipif(not JB.exists(), reason="jupyter-book is not installed (pip install -e '.[book]')")
def test_a_failing_chapter_fails_the_build_and_is_reported(tmp_path):
    book = tmp_path / "book"
    (book / "_ext").mkdir(parents=True)
    for extension in ("claims_ledger.py", "accessible_toggles.py"):
        shutil.copy(ROOT / "book" / "_ext" / extension, book / "_ext")
    (book / "_config.yml").write_text(textwrap.dedent("""
        title: tiny
        only_build_toc_files: true
        execute: {execute_notebooks: cache, timeout: 120}
        sphinx:
          local_extensions: {claims_ledger: _ext, accessible_toggles: _ext}
          config: {nb_execution_raise_on_error: false, nb_execution_show_tb: true}
        """))
    (book / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n- file: alpha\n- file: beta\n- file: status\n")
    (book / "intro.md").write_text("# Intro\n\nHello.\n")
    (book / "alpha.md").write_text(chapter("Alpha", """
        from mnist_lessons.experiments.verdicts import Ledger, verdict
        ledger = Ledger("alpha")
        v = ledger.add(verdict("wide beats narrow", "wide", "narrow", [2.0, 2.1, 2.2], [1.0, 1.1, 1.3]))
        measured = 0.25
        assert measured > 0.5, f"alpha: measured {measured}, floor 0.5"
        """))
    (book / "beta.md").write_text(chapter("Beta", """
        from mnist_lessons.experiments.verdicts import Ledger, verdict
        Ledger("beta").add(verdict("coin toss", "heads", "tails", [1, 2, 3], [2, 1, 3]))
        """) + "\n```{code-cell} ipython3\n:tags: [hide-output]\nprint('folded away')\n```\n")
    (book / "status.md").write_text("# Status\n\n```{claims-ledger}\n```\n")
    done = build(book)
    log = done.stdout + done.stderr
    assert done.returncode != 0, log
    report = (book / "_build" / "html" / "reports" / "execution-failures.md").read_text()
    assert "alpha" in report and "beta" not in report.split("Machine:")[1].split("##")[0]
    assert "measured 0.25, floor 0.5" in report and "assert measured > 0.5" in report  # the cell and its values
    assert "PyTorch threads" in report and "instruction set" in report  # the machine
    assert "execution-failures.md" in log
    status = (book / "_build" / "html" / "status.html").read_text()
    # alpha recorded its claim before it failed; beta executed although alpha failed before it
    assert "wide beats narrow" in status and "wide better" in status
    assert "coin toss" in status and "not told apart" in status
    beta = (book / "_build" / "html" / "beta.html").read_text()
    assert "folded away" in beta and "<summary>" in beta  # the toggle is there, named by its own text
    assert 'aria-label="Toggle hidden content"' not in beta
