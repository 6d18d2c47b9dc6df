"""axe-core, the accessibility checker the browser tests run in every page.

Staged like the book's MathJax (``book/_ext/stage_mathjax.py``): ``npm pack``
through the package's own helper, the tarball's SHA-256 checked, and only
``package/axe.min.js`` copied out (written to a temporary name, checked, then
renamed) into the git-ignored ``_build/test-tools/``. Nothing third-party is
committed. A later run reuses the staged copy once its own SHA-256 matches.

    python tests/stage_axe.py        # stage it by hand, e.g. before going offline
"""

from __future__ import annotations

import hashlib
import os
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "axe-core@4.14.1"
#: SHA-256 of the tarball ``npm pack axe-core@4.14.1`` returns (its sha512 matches
#: the registry's ``dist.integrity``).
TARBALL_SHA256 = "e6b0ce02b84d892e2e33e403485e7f3d6c29e2be6df65daf44d89ba564139745"
#: SHA-256 of ``package/axe.min.js`` inside it.
SCRIPT_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
MEMBER = "package/axe.min.js"
DEST = ROOT / "_build" / "test-tools" / PACKAGE.replace("@", "-") / "axe.min.js"
TIMEOUT_S = 300


class StageError(RuntimeError):
    """axe-core could not be staged; the message says why."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def staged(dest: Path = DEST) -> bool:
    return dest.is_file() and sha256(dest.read_bytes()) == SCRIPT_SHA256


def script_from(tarball: Path) -> bytes:
    """``package/axe.min.js`` from a checked ``npm pack`` tarball."""
    digest = sha256(tarball.read_bytes())
    if digest != TARBALL_SHA256:
        raise StageError(f"{tarball.name} has SHA-256 {digest}, expected {TARBALL_SHA256}")
    with tarfile.open(tarball, "r:gz") as tar:
        try:
            member = tar.getmember(MEMBER)
        except KeyError:
            raise StageError(f"{tarball.name} has no {MEMBER}") from None
        if not member.isfile():
            raise StageError(f"{MEMBER} in {tarball.name} is not a regular file")
        with tar.extractfile(member) as src:  # type: ignore[union-attr]
            data = src.read()
    if sha256(data) != SCRIPT_SHA256:
        raise StageError(f"{MEMBER} has SHA-256 {sha256(data)}, expected {SCRIPT_SHA256}")
    return data


def stage(dest: Path = DEST) -> Path:
    """Return the path of a checked ``axe.min.js``, fetching it with npm if needed."""
    if staged(dest):
        return dest
    from mnist_lessons.data.fetch import SourceError, npm_pack

    with tempfile.TemporaryDirectory() as work:
        try:
            data = script_from(npm_pack(PACKAGE, Path(work), timeout=TIMEOUT_S))
        except (SourceError, OSError, tarfile.TarError) as err:
            raise StageError(f"cannot stage {PACKAGE}: {err}") from None
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".axe-", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest


if __name__ == "__main__":
    try:
        print(f"axe-core: {stage()}")
    except StageError as err:
        sys.exit(str(err))
