"""The lesson's log lines, coloured by rich, for the package logger only (importing adds just a NullHandler).

Entry points call :func:`setup_logging`: ``[2026-01-31 12:00:00,123456][I][loops.py:88:mnist_lessons.training.loops]
message`` on stderr, or ``[I] message`` on stdout in a notebook (``$MNIST_LESSONS_LOG_LINE``: ``short`` or ``full``).
"""

from __future__ import annotations

import logging
import os
from datetime import datetime

from rich.console import Console
from rich.text import Text

PACKAGE_LOGGER = "mnist_lessons"
LINE_ENV = "MNIST_LESSONS_LOG_LINE"
_LEVEL_STYLES = {"D": "dim", "I": "green", "W": "yellow", "E": "bold red", "C": "bold red"}


def running_in_notebook() -> bool:
    """True inside a Jupyter kernel (also Colab), as rich detects it."""
    return Console().is_jupyter


def short_lines(notebook: bool) -> bool:
    """Whether to print the short line: as ``$MNIST_LESSONS_LOG_LINE`` says, else in notebooks only."""
    choice = os.environ.get(LINE_ENV, "").strip().lower()
    if choice not in ("", "short", "full"):
        raise ValueError(f"{LINE_ENV}={choice!r}: use short or full (or unset it)")
    return notebook if not choice else choice == "short"


class RichLineHandler(logging.Handler):
    """Print each record through a rich ``console``: grey time, coloured level, blue origin, the message verbatim;
    with ``short``, only the coloured level and the message."""

    def __init__(self, console: Console, short: bool) -> None:
        super().__init__()
        self.console, self.short = console, short

    def line(self, record: logging.LogRecord) -> Text:
        level = record.levelname[:1]
        parts = [(f"[{level}]", _LEVEL_STYLES.get(level, ""))]
        if not self.short:
            time = datetime.fromtimestamp(record.created).strftime("%Y-%m-%d %H:%M:%S,%f")
            parts = [(f"[{time}]", "dim"), *parts, (f"[{record.filename}:{record.lineno}:{record.name}]", "cyan")]
        return Text.assemble(*parts, " " + self.format(record))  # the message, and its traceback if any

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.console.print(self.line(record))
        except Exception:  # pragma: no cover - logging must never raise
            self.handleError(record)


def _real_ezpz_get_logger():
    """ezpz.get_logger from the real distributed-training ezpz, else None (PyPI's unrelated "ezpz" has none)."""
    try:
        import ezpz  # type: ignore[import-not-found]
    except Exception:
        return None
    getter = getattr(ezpz, "get_logger", None)
    return getter if callable(getter) and hasattr(ezpz, "setup_torch") else None


def setup_logging(level: int = logging.INFO) -> logging.Logger:
    """Give the package logger the lesson's line (or the real ezpz's), once: calling again only sets ``level``.

    It stops propagating, so a notebook that also configures the root logger does not print each line twice."""
    if (ezpz_get_logger := _real_ezpz_get_logger()) is not None:
        return ezpz_get_logger(PACKAGE_LOGGER)
    logger = logging.getLogger(PACKAGE_LOGGER)
    if not any(isinstance(h, RichLineHandler) for h in logger.handlers):
        notebook = running_in_notebook()
        # In a notebook: ANSI colours on stdout, so consecutive lines form one text output
        # (rich's HTML would make one box per line). Elsewhere: stderr, whichever it is when a line is printed.
        console = (Console(force_terminal=True, force_jupyter=False, color_system="standard", soft_wrap=True,
                           highlight=False) if notebook else Console(stderr=True, soft_wrap=True, highlight=False))
        try:
            short = short_lines(notebook)
        except ValueError as err:
            short = notebook
            console.print(Text.assemble(("[W]", "yellow"), f" {err}; using the {'short' if short else 'full'} line"))
        logger.addHandler(RichLineHandler(console, short))
    logger.setLevel(level)
    logger.propagate = False
    return logger
