#!/usr/bin/env python3
"""Stage MathJax next to the book so the site works offline.

Sphinx loads MathJax from a CDN by default, so every page with math reaches
out to cdn.jsdelivr.net. As a Sphinx extension (listed in ``_config.yml``)
this runs at the start of every build; it also runs as a script. It takes the
MathJax release from the npm registry (``npm pack``), checks the tarball's
SHA-256, and copies the parts a page can load into a git-ignored folder that
the build copies into the site as ``_static/mathjax/`` (``html_extra_path``
and ``mathjax_path`` in ``_config.yml``). Nothing third-party is committed.

If npm is missing or the registry cannot be reached, the folder gets a small
loader that pulls the same MathJax release from the CDN instead, the build
goes on, and a warning says the site is not offline. The next run tries npm
again.

    python book/_ext/stage_mathjax.py [DEST]     # default: _build/offline/_static/mathjax
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

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
DEFAULT_DEST = Path(__file__).resolve().parents[2] / "_build" / "offline" / "_static" / "mathjax"
STAMP = ".staged"
TIMEOUT_S = 300


class StageError(RuntimeError):
    """MathJax could not be fetched from npm; the message says why."""


def already_staged(dest: Path) -> bool:
    stamp = dest / STAMP
    return stamp.is_file() and stamp.read_text().strip() == PACKAGE and (dest / ENTRY).is_file()


def npm_pack_checked(work: Path) -> Path:
    """``npm pack`` MathJax (through the package's own npm helper) and check its SHA-256."""
    from mnist_lessons.data.fetch import SourceError, npm_pack

    try:
        tarball = npm_pack(PACKAGE, work, timeout=TIMEOUT_S)
    except SourceError as err:
        raise StageError(str(err)) from None
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    if digest != SHA256:
        raise StageError(f"{tarball.name} has SHA-256 {digest}, expected {SHA256}")
    return tarball


def extract(tarball: Path, out: Path) -> int:
    """Copy the wanted regular files from package/es5/ (and the licence) into ``out``."""
    count = 0
    with tarfile.open(tarball, "r:gz") as tar:
        for member in tar.getmembers():
            name = member.name
            if name == "package/LICENSE":
                rel = "LICENSE"
            elif name.startswith("package/es5/"):
                rel = name[len("package/es5/"):]
                if not any(rel == w or (w.endswith("/") and rel.startswith(w)) for w in WANTED):
                    continue
            else:
                continue
            if not member.isfile() or ".." in Path(rel).parts or Path(rel).is_absolute():
                continue
            target = out / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(member) as src, open(target, "wb") as dst:  # type: ignore[union-attr]
                shutil.copyfileobj(src, dst)
            count += 1
    if not (out / ENTRY).is_file():
        raise StageError(f"{tarball.name} has no package/es5/{ENTRY}")
    return count


def replace_dir(new: Path, dest: Path) -> None:
    """Put ``new`` at ``dest``, removing what was there."""
    if dest.exists():
        old = dest.with_name(dest.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(dest, old)
        shutil.rmtree(old, ignore_errors=True)
    os.replace(new, dest)


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


def main(argv: list[str]) -> int:
    dest = Path(argv[1]) if len(argv) > 1 else DEFAULT_DEST
    if already_staged(dest):
        print(f"MathJax: {PACKAGE} already staged in {dest}")
        return 0
    dest.parent.mkdir(parents=True, exist_ok=True)
    new = Path(tempfile.mkdtemp(prefix=".mathjax-", dir=dest.parent))
    new.chmod(0o755)  # mkdtemp makes it private; the site is served to everyone
    try:
        with tempfile.TemporaryDirectory() as work:
            try:
                count = extract(npm_pack_checked(Path(work)), new)
                (new / STAMP).write_text(PACKAGE + "\n")
                message = f"MathJax: staged {count} files of {PACKAGE} in {dest}"
            except (StageError, OSError, tarfile.TarError) as err:
                for child in new.iterdir():
                    shutil.rmtree(child) if child.is_dir() else child.unlink()
                write_cdn_loader(new)
                message = (
                    f"WARNING: MathJax could not be staged ({err}); pages with math will load it "
                    f"from {CDN.split('/npm/')[0]}, so the site is not offline"
                )
        replace_dir(new, dest)
    finally:
        shutil.rmtree(new, ignore_errors=True)
    print(message, file=sys.stderr if message.startswith("WARNING") else sys.stdout)
    return 0


def stage_on_build(app, config) -> None:
    """Sphinx ``config-inited`` hook: stage MathJax before the build checks its paths."""
    main(["stage_mathjax", str(Path(app.confdir) / "_build" / "offline" / "_static" / "mathjax")])


def setup(app):
    app.connect("config-inited", stage_on_build, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    sys.exit(main(sys.argv))
