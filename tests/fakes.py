"""Fake data sources and small helpers shared by the data tests."""

from __future__ import annotations

from pathlib import Path


def serving(files: dict[str, bytes], calls: list | None = None):
    """A fake source that writes the requested files from ``files`` (and records each call)."""

    def source(names, work):
        if calls is not None:
            calls.append(list(names))
        for name in names:
            (work / name).write_bytes(files[name])
        return {name: work / name for name in names}

    return source


def tree(root: Path) -> list[str]:
    """Every path under ``root``, relative and sorted: to check nothing was left behind."""
    return sorted(str(p.relative_to(root)) for p in Path(root).rglob("*"))
