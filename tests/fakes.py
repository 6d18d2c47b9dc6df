"""Fake data sources and small helpers shared by the tests (fixtures are in conftest.py)."""

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


def failing(error: BaseException | str, partial: bool = False):
    """A fake source that fails with ``error`` (a message means ``OSError(message)``).

    With ``partial``, it first writes part of a file, as a download cut short would.
    """
    exc = OSError(error) if isinstance(error, str) else error

    def source(names, work):
        if partial:
            (work / names[0]).write_bytes(b"\x00\x00\x08\x03" + b"\x00" * 1000)
        raise exc

    return source


def run_cli(argv, capsys) -> tuple[int, str, str]:
    """Call the command line's main() in-process; return (exit status, stdout, stderr)."""
    from mnist_lessons import cli

    try:
        status = cli.main([str(a) for a in argv])
    except SystemExit as stop:
        status = stop.code if isinstance(stop.code, int) else 1
    out, err = capsys.readouterr()
    return status, out, err


def tree(root: Path) -> list[str]:
    """Every path under ``root``, relative and sorted: to check nothing was left behind."""
    return sorted(str(p.relative_to(root)) for p in Path(root).rglob("*"))
