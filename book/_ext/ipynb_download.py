"""Build-time glue for the book: .ipynb downloads and the data location.

sphinx-book-theme only copies the executed notebook of a MyST-markdown page
next to its sources when a launch service (Binder, Colab, ...) is set up.
This book has no launch service, so this small extension does the copy and
tells the theme's download menu about it.

Chapters execute with the book/ folder as their working directory; setting
``MNIST_DATA_DIR`` (unless the reader already set it) makes every chapter
find the repository's ``data/`` folder, which ``make book`` fills.
"""

from __future__ import annotations

import os
from pathlib import Path
from shutil import copy2


def add_ipynb_source(app, pagename, templatename, context, doctree) -> None:
    """Copy ``jupyter_execute/<page>.ipynb`` into ``_sources`` and link it."""
    executed = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"
    if not executed.exists():
        return
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    copy2(executed, target)
    context["ipynb_source"] = f"{pagename}.ipynb"


def setup(app):
    # Kernels inherit this process's environment.
    os.environ.setdefault("MNIST_DATA_DIR", str(Path(app.confdir) / "data"))
    # Run before the theme builds its header buttons (default priority 500).
    app.connect("html-page-context", add_ipynb_source, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
