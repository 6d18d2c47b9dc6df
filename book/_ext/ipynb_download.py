"""Build-time glue for the book: reader-ready .ipynb downloads, launch links, data location.

For every executed chapter this extension writes ``_sources/<page>.ipynb``:
the executed notebook cleaned for readers (see ``notebook_links``), its
markdown resolved as the page shows it (glued values, included code, links
to the site: see ``notebook_markdown``), makes
sure the header's download menu offers it, and points the launch menu's
JupyterHub and Colab entries at the same notebook on the ``notebooks_branch``
branch of ``repository.url`` (the Pages workflow publishes it there).

It also tells the chapters where MNIST is: they execute with the book/
folder as their working directory, so at ``config-inited`` it sets
``MNIST_DATA_DIR`` (unless the reader already set it) to the folder
``mnist_data_dir`` in ``_config.yml`` names, relative to the repository
(``data/``, which ``make book`` fills). Kernels inherit the build's environment.
"""

from __future__ import annotations

import json
import os
import posixpath
import subprocess
from contextlib import suppress
from pathlib import Path

import nbformat
from jupyter_cache import get_cache
from mnist_lessons.outputs import write_atomically
from myst_nb.core.variables import format_plain_text
from notebook_links import colab_link, jupyterhub_link, reader_notebook, site_url
from notebook_markdown import Resolver, plain_markdown
from sphinx.directives.code import LiteralIncludeReader
from sphinx.util import logging

LOGGER = logging.getLogger(__name__)
IPYNB_LABEL = "download-notebook-button"


def _theme_option(app, key: str, default=None):
    return (app.config.html_theme_options or {}).get(key, default)


def executed_notebook(app, pagename: str) -> nbformat.NotebookNode | None:
    """The executed notebook of ``pagename``, with its outputs; None if it was not executed.

    When outputs come from the execution cache, MyST-NB's copy in
    ``jupyter_execute`` has none, so they are taken from the cache.
    """
    path = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"
    if not path.exists():
        return None
    nb = nbformat.read(path, as_version=4)
    config = app.env.mystnb_config
    if config.execution_mode == "cache" and config.execution_cache_path:
        with suppress(KeyError):
            _, nb = get_cache(config.execution_cache_path).merge_match_into_notebook(nb)
    return nb


def page_resolver(app, pagename: str) -> Resolver:
    """What :func:`notebook_markdown.plain_markdown` needs, from this build: glue values, links, includes."""
    env, base = app.env, site_url(_theme_option(app, "repository_url", ""))
    glue_file = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.glue.json"
    glued = json.loads(glue_file.read_text()) if glue_file.exists() else {}

    def glue(key: str, spec: str) -> str:
        if key not in glued or "text/plain" not in glued[key].get("data", {}):
            raise KeyError(f"no glued text value {key!r}")
        return format_plain_text(glued[key]["data"]["text/plain"], spec)

    def link(role: str, target: str, text: str | None) -> tuple[str, str]:
        if role == "doc":
            docname = target.lstrip("/") if target.startswith("/") else \
                posixpath.normpath(posixpath.join(posixpath.dirname(pagename), target))
            return text or env.titles[docname].astext(), f"{base}{docname}.html"
        std = env.get_domain("std")
        if role == "ref":
            docname, anchor, title = std.labels[target.lower()]
            return text or title, f"{base}{docname}.html#{anchor}"
        docname, anchor = std.anonlabels[target.lower()]
        kind, number = next((kind, numbers[anchor]) for kind, numbers in env.toc_fignumbers.get(docname, {}).items()
                            if anchor in numbers)
        shown = ".".join(map(str, number))
        words = (text or app.config.numfig_format[kind]).replace("{number}", shown)
        return (words % shown if "%s" in words else words), f"{base}{docname}.html#{anchor}"

    def include(argument: str, options: dict) -> tuple[str, str]:
        filename = Path(app.srcdir) / posixpath.dirname(pagename) / argument
        language = options.pop("language", None) or ("python" if filename.suffix == ".py" else "")
        code, _ = LiteralIncludeReader(str(filename), options, app.config).read()
        return code, language

    return Resolver(glue, link, include, f"{base}{pagename}.html")


def built_commit(app) -> str:
    """The commit being built (what a download's install cell pins), else the configured branch."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=app.confdir, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        done = None
    if done is not None and done.returncode == 0 and done.stdout.strip():
        return done.stdout.strip()
    return _theme_option(app, "repository_branch", "main")


def write_reader_notebook(app, pagename: str) -> bool:
    """Write the cleaned notebook of ``pagename`` into ``_sources``; False if none was executed."""
    executed = executed_notebook(app, pagename)
    if executed is None:
        return False
    repo_url = _theme_option(app, "repository_url", "")
    resolver = page_resolver(app, pagename)
    try:
        nb = reader_notebook(executed, repo_url, built_commit(app),
                             markdown=lambda text: plain_markdown(text, resolver))
    except (ValueError, KeyError, StopIteration) as error:
        LOGGER.warning(f"download of {pagename}: {error}", location=pagename)
        return False
    write_atomically(Path(app.outdir) / "_sources" / f"{pagename}.ipynb", lambda tmp: nbformat.write(nb, tmp))
    return True


def announce_ipynb(app, pagename, templatename, context, doctree) -> None:
    """Before the theme builds its buttons: tell it (``ipynb_source``) a notebook will exist."""
    executed = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"
    if executed.exists():
        context["ipynb_source"] = f"{pagename}.ipynb"


def _groups(context) -> dict[str, dict]:
    return {b.get("label"): b for b in context.get("header_buttons", []) if b.get("type") == "group"}


def finish_buttons(app, pagename, templatename, context, doctree) -> None:
    """After the theme: write the clean notebook over the theme's raw copy; fix the menus."""
    if not write_reader_notebook(app, pagename):
        return
    notebook = f"{pagename}.ipynb"
    groups = _groups(context)
    download = groups.get("download-buttons")
    if download is not None and not any(b.get("label") == IPYNB_LABEL for b in download["buttons"]):
        # The theme no longer reads ``ipynb_source``: add the entry ourselves.
        download["buttons"].insert(0, {
            "type": "link", "url": f"{context['pathto']('_sources', 1)}/{notebook}", "text": ".ipynb",
            "icon": "fas fa-code", "tooltip": "Download notebook file", "label": IPYNB_LABEL,
        })
    launch = groups.get("launch-buttons")
    if launch is None:
        return
    options = _theme_option(app, "launch_buttons", {})
    repo_url, branch = _theme_option(app, "repository_url", ""), app.config.notebooks_branch
    links = {
        "JupyterHub": lambda: jupyterhub_link(options["jupyterhub_url"], repo_url, branch, notebook,
                                              options.get("notebook_interface", "classic")),
        "Colab": lambda: colab_link(options["colab_url"], repo_url, branch, notebook),
    }
    for button in launch["buttons"]:
        if button.get("text") in links:
            button["url"] = links[button["text"]]()


def point_chapters_at_the_data(app, config) -> None:
    """``config-inited``: the chapters' kernels find MNIST in ``mnist_data_dir``, unless ``MNIST_DATA_DIR`` is set."""
    os.environ.setdefault("MNIST_DATA_DIR", str(Path(app.confdir) / config.mnist_data_dir))


def setup(app):
    app.add_config_value("mnist_data_dir", "data", "env", types=[str])
    app.connect("config-inited", point_chapters_at_the_data)
    app.add_config_value("notebooks_branch", "notebooks", "html", types=[str])
    app.connect("html-page-context", announce_ipynb, priority=400)
    # The theme adds its launch and download buttons at priority 501 (and copies
    # the raw executed notebook into _sources); this runs after it.
    app.connect("html-page-context", finish_buttons, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
