"""Writing results safely: check an output path before the work (:func:`check_output_file`), then write it whole
or not at all (:func:`write_atomically`: readers see the old file or the new one, never half of one)."""

from __future__ import annotations

import io
import os
import re
import stat
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import nn

#: Streams of this process, not files: renaming onto one would replace what it is redirected to.
STREAMS = re.compile(r"^/(dev/(std(in|out|err)|fd/\d+)|proc/(self|\d+)/fd/\d+)$")


def check_output_file(path: str | os.PathLike[str]) -> Path:
    """The file that writing to ``path`` would create or replace (a link's target); else a ``ValueError`` naming
    the problem (a folder, a stream, a parent that is a file, no permission, a name too long)."""
    text = os.fspath(path)
    if not text.strip():
        raise ValueError("the path is empty; give a file path such as weights.pt")
    if text.endswith(("/", os.sep)):
        raise ValueError(f"{text} ends with '/', so it names a folder; give a file path inside it, "
                         f"e.g. {text}weights.pt")
    if STREAMS.match(os.path.abspath(text)):
        raise ValueError(f"{text} is a stream of this process, not a file (writing there would replace what it is "
                         "redirected to); give a file path such as weights.pt")
    target = Path(os.path.realpath(text)) if os.path.islink(text) else Path(text).expanduser()
    folder = next(p for p in target.absolute().parents if p.exists())  # the nearest: it must be writable
    try:
        longest = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):  # pragma: no cover - a file system that does not say
        longest = 255
    for part in target.absolute().relative_to(folder).parts:
        if len(os.fsencode(part)) > longest:
            raise ValueError(f"the name {part[:24]}... has {len(os.fsencode(part))} bytes and {folder} allows at "
                             f"most {longest}; give a shorter name")
    if target.is_dir():
        raise ValueError(f"{text} is a folder; give a file path inside it, e.g. {Path(text) / 'weights.pt'}")
    if target.exists() and not target.is_file():
        raise ValueError(f"{text} exists and is not a regular file (a device, socket or pipe); give a file path")
    if not folder.is_dir():
        raise ValueError(f"{folder} is a file, not a folder; give a path under a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"cannot write in {folder} (permission denied); give a path you can write")
    return target


def _same_file(a: Path, b: Path) -> bool:
    a, b = Path(os.path.realpath(a)), Path(os.path.realpath(b))
    return a == b or (a.exists() and b.exists() and os.path.samefile(a, b))  # hard links, bind mounts


def check_distinct_outputs(outputs: Mapping[str, str | os.PathLike[str] | None],
                           reads: Mapping[str, str | os.PathLike[str]] = {}) -> None:
    """Refuse two ``outputs`` (option: path or None) that are one file, or one that is (or lies in) ``reads``."""
    given = [(option, Path(path)) for option, path in outputs.items() if path]
    for i, (first, a) in enumerate(given):
        for second, b in given[i + 1:]:
            if _same_file(a, b):
                raise ValueError(f"{first} and {second} both name {a}: the second would overwrite the first; "
                                 "give each its own file")
        real = Path(os.path.realpath(a))
        for what, place in reads.items():
            place = Path(os.path.realpath(place))
            if place in real.parents or _same_file(real, place):
                raise ValueError(f"{first} {a} would replace {what} ({place}); give a path outside it")


def _writer_is_gone(part: Path) -> bool:
    """Whether the process that made temporary file ``part`` (its pid is in the name) no longer runs."""
    match = re.search(r"\.(\d+)\.[^.]+\.part$", part.name)
    if match:
        try:
            os.kill(int(match.group(1)), 0)
        except ProcessLookupError:
            return True
        except OSError:  # it runs as another user (EPERM), or cannot be told
            pass
    return False


def write_atomically(path: str | os.PathLike[str], write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a unique temporary file beside ``path``, rename it over ``path`` (keeping its mode) and
    return the file written; on failure the target is untouched, nothing is left, and the ``OSError`` names it."""
    target = check_output_file(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{target.name[:64]}."  # then the writer's pid, a random part and .part
    for part in target.parent.glob(prefix.replace("[", "[[]") + "*.part"):
        if _writer_is_gone(part):  # killed mid-write (SIGKILL, SIGTERM, power loss)
            part.unlink(missing_ok=True)
    try:
        mode = stat.S_IMODE(target.stat().st_mode)  # the replaced file's
    except FileNotFoundError:
        umask = os.umask(0)  # or what a new file would get
        os.umask(umask)
        mode = 0o666 & ~umask
    handle, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f"{prefix}{os.getpid()}.", suffix=".part")
    os.close(handle)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as err:
        failure = OSError(f"could not write {target} ({err.strerror or err}): free some space or fix the folder, "
                          "then write again")
        failure.errno = err.errno
        raise failure from err
    finally:
        tmp.unlink(missing_ok=True)
    return target


WEIGHTS_FORMAT = "mnist_lessons weights"  # what a file of save_state_dict holds besides the weights


def save_state_dict(model: nn.Module, path: str | os.PathLike[str], name: str | None = None,
                    options: Mapping[str, object] | None = None) -> Path:
    """Save ``model``'s weights (on the CPU) to ``path`` with :func:`write_or_rescue`; ``name`` and ``options`` (as
    ``build_model`` takes them) are recorded, so ``load_weights`` rebuilds the right network and refuses another."""
    import torch

    content = {"format": WEIGHTS_FORMAT, "version": 1, "model": name, "options": dict(options or {}),
               "state_dict": {key: tensor.detach().cpu() for key, tensor in model.state_dict().items()}}
    buffer = io.BytesIO()
    torch.save(content, buffer)
    return write_or_rescue(path, buffer.getvalue(), "the weights", ".pt")


def write_or_rescue(path: str | os.PathLike[str], data: bytes, what: str, suffix: str) -> Path:
    """Write ``data`` to ``path`` atomically; if that fails, to a file in the system's temporary folder, and
    raise an ``OSError`` naming both paths (or saying that ``what`` is lost, if even that fails)."""
    try:
        return write_atomically(path, lambda tmp: tmp.write_bytes(data))
    except OSError as err:
        reason = os.strerror(err.errno) if err.errno else str(err.__cause__ or err)
        handle, rescue = tempfile.mkstemp(prefix="mnist-lessons-", suffix=suffix)
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
        except OSError as also:
            Path(rescue).unlink(missing_ok=True)
            raise OSError(f"could not save {what} to {path} ({reason}), nor to {tempfile.gettempdir()} "
                          f"({also.strerror or also}); free some space and run again") from err
        raise OSError(f"could not save {what} to {path} ({reason}); they are in {rescue} instead") from err
