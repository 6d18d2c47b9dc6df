"""Finished runs kept on disk, so a run that several chapters need is trained once per build.

Each chapter runs in its own kernel, so the in-memory reuse of
:class:`mnist_lessons.experiments.sweeps.Experiments` stops at the page. :func:`cached`
wraps a training function (``train(config, data) -> Run``, default
:func:`mnist_lessons.experiments.sweeps.run`) so that its result is saved in a directory and
loaded the next time the same run is asked for. The key covers everything the
result depends on: the config's ``repr``, a fingerprint of the data, the
torch version and the source of the ``mnist_lessons`` package. Runs are
seeded, so a loaded run is the run that training would have produced; the
cache saves time and changes no number.

Caching is off unless a directory is given or ``MNIST_LESSONS_RUN_CACHE`` names
one (``make book`` sets it); a student running one chapter just trains.
Configs whose ``repr`` is not stable (e.g. a lambda as schedule) are trained,
never cached. Files are written to a temporary name and renamed, so a crash
leaves no half-written entry.

>>> train = cached()                                             # doctest: +SKIP
>>> study = seed_runs(make_config, range(5), splits, train=train)  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import weakref
from collections.abc import Callable
from dataclasses import asdict
from functools import cache
from pathlib import Path
from typing import Any

import torch

from ..training.recipe import DataLike, Run, run
from ..training.loops import History

#: Environment variable naming the cache directory; unset means no caching.
CACHE_ENV: str = "MNIST_LESSONS_RUN_CACHE"

Train = Callable[[Any, DataLike], Run]


@cache
def package_digest() -> str:
    """SHA-256 of the package's Python sources, so a changed package never reads old results."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.rglob("*.py")):
        digest.update(path.relative_to(Path(__file__).parent).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


#: Digests already computed, by ``id`` of the training-image tensor: (weak references to the four
#: tensors, their version counters, the digest). An entry counts only while its tensors are the very
#: objects asked about, so a new tensor that reuses a freed one's id or memory is never taken for it;
#: entries are dropped when their tensor is freed.
_fingerprints: dict[int, tuple[list[weakref.ref], tuple[int, ...], str]] = {}


def data_fingerprint(data: DataLike) -> str:
    """A digest of the train and validation tensors (shapes, dtypes and bytes), remembered per tensor."""
    tensors = [getattr(getattr(data, part), name) for part in ("train", "val") for name in ("x", "y")]
    versions = tuple(t._version for t in tensors)  # bumped by every in-place change
    known = _fingerprints.get(id(tensors[0]))
    if known is not None:
        refs, known_versions, digest = known
        if known_versions == versions and all(ref() is t for ref, t in zip(refs, tensors)):
            return digest
    digest = _digest(data)
    _fingerprints[id(tensors[0])] = ([weakref.ref(t) for t in tensors], versions, digest)
    weakref.finalize(tensors[0], _fingerprints.pop, id(tensors[0]), None)
    return digest


def _digest(data: DataLike) -> str:
    digest = hashlib.sha256()
    for part in ("train", "val"):
        split = getattr(data, part)
        for t in (split.x, split.y):
            t = t.detach().cpu().contiguous()
            digest.update(f"{part}{tuple(t.shape)}{t.dtype}".encode())
            digest.update(t.numpy().tobytes())
    return digest.hexdigest()


def run_key(config: Any, data: DataLike) -> str | None:
    """The cache key of training ``config`` on ``data``, or ``None`` when the config's repr is not stable."""
    text = repr(config)
    if " at 0x" in text:  # a function or object printed by address differs from one process to the next
        return None
    # The device and, on a CPU, the thread count change the order of floating-point sums, so the result.
    device = data.train.x.device
    where = f"{device} x{torch.get_num_threads()}" if device.type == "cpu" else str(device)
    parts = (text, data_fingerprint(data), where, torch.__version__, package_digest())
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def _save(path: Path, done: Run) -> None:
    entry = {"label": done.label, "config": repr(done.config), "history": asdict(done.history),
             "state": {k: v.detach().cpu() for k, v in done.model.state_dict().items()}}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pt")
    os.close(fd)
    try:
        torch.save(entry, tmp)
        torch.load(tmp, weights_only=True)  # verify before it becomes visible
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _load(path: Path, config: Any, device: torch.device | str = "cpu") -> Run:
    """The cached run in ``path``, its model on ``device`` (where the data is, as :func:`run` puts it)."""
    entry = torch.load(path, weights_only=True)
    if entry["config"] != repr(config):
        raise ValueError(f"run cache entry {path} holds {entry['config']}, not {config!r}; delete the file")
    model = config.build_model()
    model.load_state_dict(entry["state"])
    model.to(device)
    return Run(entry["label"], config, model, History(**entry["history"]))


def cached(train: Train = run, directory: str | os.PathLike | None = None) -> Train:
    """``train`` with its results kept in ``directory`` (default: ``$MNIST_LESSONS_RUN_CACHE``; none: no caching)."""
    directory = directory if directory is not None else os.environ.get(CACHE_ENV) or None
    if directory is None:
        return train
    root = Path(directory)

    def train_or_load(config: Any, data: DataLike) -> Run:
        key = run_key(config, data)
        if key is None:
            return train(config, data)
        path = root / f"{key}.pt"
        if path.exists():
            return _load(path, config, data.train.x.device)
        done = train(config, data)
        root.mkdir(parents=True, exist_ok=True)
        _save(path, done)
        return done

    return train_or_load


__all__ = ["CACHE_ENV", "cached", "data_fingerprint", "package_digest", "run_key"]
