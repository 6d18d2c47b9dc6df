"""Stage MathJax next to the book so the site works offline.

Sphinx loads MathJax from a CDN by default, so every page with math reaches
out to cdn.jsdelivr.net. This Sphinx extension (listed in ``_config.yml``)
runs at the start of every build: it takes the MathJax release from the npm
registry (``npm pack``, through ``npm_stage``), checks the tarball's SHA-256,
and copies the parts a page can load into a git-ignored folder that the build
copies into the site as ``_static/mathjax/`` (``html_extra_path`` and
``mathjax_path`` in ``_config.yml``). Nothing third-party is committed.

If npm is missing or the registry cannot be reached, the folder gets a small
loader that pulls the same MathJax release from the CDN instead, the build
goes on, and the log says the site is not offline. The next build tries npm
again.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from npm_stage import StageError, replace_dir, unpack
from sphinx.util import logging

LOGGER = logging.getLogger(__name__)
PACKAGE = "mathjax@3.2.2"
#: SHA-256 of the tarball ``npm pack mathjax@3.2.2`` returns.
SHA256 = "1b9c0a1c44df864e915690558e72adb9cc5203360daefd385084ced3b6c64c09"
CDN = "https://cdn.jsdelivr.net/npm/mathjax@3.2.2/es5/tex-mml-chtml.js"
ENTRY = "tex-mml-chtml.js"  # must match mathjax_path in _config.yml
#: What a page may load, relative to package/es5/: the combined TeX+MathML to
#: CHTML component, its web fonts, and what it loads lazily (TeX extensions
#: for \require and autoload, the menu, the accessibility tools and their
#: speech rules).
WANTED = (
    ENTRY,
    "output/chtml/fonts/woff-v2/",
    "input/tex/extensions/",
    "input/mml/extensions/",
    "ui/",
    "a11y/",
    "sre/",
)
STAMP = ".staged"


def already_staged(dest: Path) -> bool:
    stamp = dest / STAMP
    return stamp.is_file() and stamp.read_text().strip() == PACKAGE and (dest / ENTRY).is_file()


def es5_file(name: str) -> str | None:
    """Where tarball member ``name`` goes in the staged folder: the licence and the WANTED parts of package/es5/."""
    if name == "package/LICENSE":
        return "LICENSE"
    rel = name.removeprefix("package/es5/")
    wanted = rel != name and any(rel == w or (w.endswith("/") and rel.startswith(w)) for w in WANTED)
    return rel if wanted else None


def fill(out: Path) -> Exception | None:
    """Stage MathJax into the empty folder ``out``; if it cannot be, write the CDN loader and return why."""
    try:
        unpack(PACKAGE, SHA256, es5_file, out)
        if not (out / ENTRY).is_file():
            raise StageError(f"{PACKAGE} has no package/es5/{ENTRY}")
        (out / STAMP).write_text(PACKAGE + "\n")
        return None
    except (StageError, OSError) as err:
        for child in out.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()
        write_cdn_loader(out)
        return err


def write_cdn_loader(out: Path) -> None:
    (out / ENTRY).write_text(
        "/* Written by book/_ext/stage_mathjax.py because npm could not provide MathJax:\n"
        "   load it from the CDN. This page is NOT offline; run `make book` with npm. */\n"
        "(function () {\n"
        '  var s = document.createElement("script");\n'
        f'  s.src = "{CDN}";\n'
        "  s.async = true;\n"
        "  document.head.appendChild(s);\n"
        "})();\n"
    )
    (out / STAMP).write_text("cdn-fallback\n")


def stage_on_build(app, config) -> None:
    """Sphinx ``config-inited`` hook: stage MathJax before the build checks its paths."""
    dest = Path(app.confdir) / "_build" / "offline" / "_static" / "mathjax"
    if already_staged(dest):
        LOGGER.info(f"MathJax: {PACKAGE} already staged in {dest}")
        return
    failure = replace_dir(dest, fill)
    if failure is None:
        LOGGER.info(f"MathJax: staged {PACKAGE} in {dest}")
        return
    # Info, not a warning: npm is optional for `make book`, which turns warnings into errors, so a
    # machine without npm (or without the registry) must still build. Its site works, online only.
    LOGGER.info(f"MathJax could not be staged ({failure}); pages with math will load it from "
                f"{CDN.split('/npm/')[0]}, so the site is not offline", color="darkred")


def setup(app):
    app.connect("config-inited", stage_on_build, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
