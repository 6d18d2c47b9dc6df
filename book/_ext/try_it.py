"""Collect the trained networks' weights for the "Try it" page.

At the start of a build this sets ``MNIST_LESSONS_EXPORT_DIR`` to
``_build/offline/_static/try-it`` (``html_extra_path`` copies that folder into
the site, as for MathJax). The executed chapters inherit it: the cell after
each training run calls ``mnist_lessons.training.export.export_network``, which writes
the weights there (``NAME.json``, ``NAME.bin`` and ``NAME.js``). The Try it page
reads them in the browser with a relative URL, so no request leaves the site:
``fetch`` of the ``.json`` and ``.bin`` over http(s), a ``<script>`` tag of the
``.js`` when the site is opened from disk (``file://``, where browsers refuse
``fetch``).

The page itself is re-read on every build (and its front matter turns off
the execution cache for it), so the validation accuracies it glues come from
the files now in the folder, whichever chapters were executed this time or
served from the cache. It is read last, after any chapter that exports.
"""

from __future__ import annotations

import os
from pathlib import Path

TRY_IT_DOC = "book/try-it"
EXPORT_ENV = "MNIST_LESSONS_EXPORT_DIR"  # mnist_lessons.training.export reads it


def export_folder(confdir: str | Path) -> Path:
    return Path(confdir) / "_build" / "offline" / "_static" / "try-it"


def set_export_folder(app, config) -> None:
    folder = export_folder(app.confdir)
    folder.mkdir(parents=True, exist_ok=True)
    os.environ[EXPORT_ENV] = str(folder)


def always_reread(app, env, added, changed, removed):
    return [TRY_IT_DOC] if TRY_IT_DOC in env.found_docs and TRY_IT_DOC not in added | changed else []


def read_last(app, env, docnames: list[str]) -> None:
    """Sphinx reads (and so executes) ``docnames`` in order: the page goes after the chapters."""
    if TRY_IT_DOC in docnames:
        docnames.remove(TRY_IT_DOC)
        docnames.append(TRY_IT_DOC)


def setup(app):
    app.connect("config-inited", set_export_folder, priority=410)
    app.connect("env-get-outdated", always_reread)
    app.connect("env-before-read-docs", read_last)
    # reading in parallel would execute the page alongside the chapters it needs
    return {"parallel_read_safe": False, "parallel_write_safe": True}
