"""axe-core, the accessibility checker the browser tests run in every page.

Staged like the book's MathJax, by ``book/_ext/npm_stage.py``: ``npm pack``,
the tarball's SHA-256 checked, and only ``package/axe.min.js`` copied out, its
own SHA-256 checked, into a folder renamed into place in the git-ignored
``_build/test-tools/``. Nothing third-party is committed. A later run reuses
the staged copy once its SHA-256 matches.

    python tests/stage_axe.py        # stage it by hand, e.g. before going offline
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))

from npm_stage import StageError, replace_dir, sha256, unpack  # noqa: E402

PACKAGE = "axe-core@4.14.1"
#: SHA-256 of the tarball ``npm pack axe-core@4.14.1`` returns (its sha512 matches
#: the registry's ``dist.integrity``).
TARBALL_SHA256 = "e6b0ce02b84d892e2e33e403485e7f3d6c29e2be6df65daf44d89ba564139745"
#: SHA-256 of ``package/axe.min.js`` inside it.
SCRIPT_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
MEMBER = "package/axe.min.js"
SCRIPT = "axe.min.js"
#: The folder that holds only the staged script (replaced whole when staged again).
FOLDER = ROOT / "_build" / "test-tools" / PACKAGE.replace("@", "-")


def staged(folder: Path = FOLDER) -> bool:
    return (folder / SCRIPT).is_file() and sha256(folder / SCRIPT) == SCRIPT_SHA256


def stage(folder: Path = FOLDER) -> Path:
    """Return the path of a checked ``axe.min.js`` in ``folder``, fetching it with npm if needed.

    Raises ``StageError`` saying why if it cannot.
    """
    if not staged(folder):
        replace_dir(folder, fill)
    return folder / SCRIPT


def fill(out: Path) -> None:
    """Copy the checked script out of the checked tarball into the empty folder ``out``."""
    unpack(PACKAGE, TARBALL_SHA256, lambda name: SCRIPT if name == MEMBER else None, out)
    script = out / SCRIPT
    if not script.is_file():
        raise StageError(f"{PACKAGE} has no regular file {MEMBER}")
    if sha256(script) != SCRIPT_SHA256:
        raise StageError(f"{MEMBER} has SHA-256 {sha256(script)}, expected {SCRIPT_SHA256}")


if __name__ == "__main__":
    try:
        print(f"axe-core: {stage()}")
    except StageError as err:
        sys.exit(str(err))
