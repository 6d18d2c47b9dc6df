"""Log lines in the lesson's shape, coloured by rich.

On the command line every line looks like
``[2026-01-31 12:00:00,123456][I][loops.py:88:mnist_lessons.training.loops] message``:
time with microseconds, the level's first letter, then where the call came
from. In a notebook (and so on the built pages) that 70-character prefix would
push the numbers off screen, so a line there is just ``[I] message``. The
lesson used the ezpz toolkit's ``get_logger``; when the real ezpz (installed
from its git repository, not PyPI) is importable we hand over to it, otherwise
a small rich handler prints these lines, coloured: to stderr in terminals, to
stdout in notebooks (a built page keeps the colours). The variable
``MNIST_LESSONS_LOG_LINE`` (``short`` or ``full``) overrides the choice of
line, e.g. for a job a notebook launches; any other value gets one warning
and the usual line (the command line refuses it). Only the loggers we hand
out are configured: the root logger and other libraries' loggers are left
exactly as they were.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
from datetime import datetime

from rich.console import Console
from rich.text import Text

LINE_FORMAT = "[%(asctime)s][%(levelname_short)s][%(filename)s:%(lineno)d:%(name)s] %(message)s"
#: The short line for notebooks: the message starts where the reader looks.
NOTEBOOK_FORMAT = "[%(levelname_short)s] %(message)s"
PACKAGE_LOGGER = "mnist_lessons"
#: Environment variable that picks the line: ``short`` (``[I] message``) or ``full``.
LINE_ENV = "MNIST_LESSONS_LOG_LINE"
_LEVEL_STYLES = {"D": "dim", "I": "green", "W": "yellow", "E": "bold red", "C": "bold red"}


class LessonFormatter(logging.Formatter):
    """Format records as ``[time][L][file:line:name] message`` (or another format using ``levelname_short``)."""

    def __init__(self, fmt: str = LINE_FORMAT) -> None:
        super().__init__(fmt)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return datetime.fromtimestamp(record.created).strftime("%Y-%m-%d %H:%M:%S,%f")

    def format(self, record: logging.LogRecord) -> str:
        record.levelname_short = record.levelname[:1]
        return super().format(record)


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
    """Print formatted lines through a rich console, colouring each part.

    ``notebook`` picks the short line and stdout; left ``None`` it is
    detected at the first line logged.
    """

    def __init__(self, console: Console | None = None, notebook: bool | None = None) -> None:
        super().__init__()
        self.setFormatter(LessonFormatter())
        self.notebook_formatter = LessonFormatter(NOTEBOOK_FORMAT)
        self._console = console
        self._notebook = notebook
        self._warned = False  # about a bad $MNIST_LESSONS_LOG_LINE, once

    @property
    def notebook(self) -> bool:
        if self._notebook is None:
            self._notebook = running_in_notebook()
        return self._notebook

    @property
    def console(self) -> Console:
        if self._console is None:  # created lazily, once we know where we run
            if self.notebook:
                # In a notebook: ANSI colours on stdout, so consecutive lines
                # form one text output (rich's HTML would make one box per line).
                self._console = Console(
                    force_terminal=True, force_jupyter=False, color_system="standard", soft_wrap=True, highlight=False
                )
            else:
                self._console = Console(file=sys.stderr, soft_wrap=True, highlight=False)
        return self._console

    def short(self) -> bool:
        """Whether to print the short line; a bad ``$MNIST_LESSONS_LOG_LINE`` is warned about once, then ignored."""
        try:
            return short_lines(self.notebook)
        except ValueError as err:
            if not self._warned:
                self._warned = True
                line = f"[W] {err}; using the {'short' if self.notebook else 'full'} line"
                self.console.print(self.colour(line, "W"))
            return self.notebook

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.notebook_formatter.format(record) if self.short() else self.format(record)
            self.console.print(self.colour(line, record.levelname[:1]))
        except Exception:  # pragma: no cover - logging must never raise
            self.handleError(record)

    @staticmethod
    def colour(line: str, level: str) -> Text:
        """Return ``line`` as rich text: grey time, coloured level, blue origin (those present)."""
        text = Text(line)
        groups = []  # the [...] groups the line starts with, back to back
        start = 0
        while len(groups) < 3 and line.startswith("[", start) and (end := line.find("]", start)) > 0:
            groups.append((start, end + 1))
            start = end + 1
        level_style = _LEVEL_STYLES.get(level, "")
        if len(groups) == 3:  # [time][L][origin]
            for (a, b), style in zip(groups, ("dim", level_style, "cyan")):
                text.stylize(style, a, b)
        elif groups and line[groups[0][0] : groups[0][1]] == f"[{level}]":  # [L] message
            text.stylize(level_style, *groups[0])
        return text


def _real_ezpz_get_logger():
    """Return ezpz.get_logger from the real distributed-training ezpz, else None."""
    if importlib.util.find_spec("ezpz") is None:
        return None
    try:
        import ezpz  # type: ignore[import-not-found]
    except Exception:
        return None
    # PyPI's unrelated "ezpz" has no get_logger; only the real toolkit does.
    getter = getattr(ezpz, "get_logger", None)
    return getter if callable(getter) and hasattr(ezpz, "setup_torch") else None


def configure(logger: logging.Logger, level: int = logging.INFO) -> logging.Logger:
    """Give ``logger`` our handler once and stop it propagating to the root."""
    if not any(isinstance(h, RichLineHandler) for h in logger.handlers):
        logger.addHandler(RichLineHandler())
    logger.setLevel(level)
    logger.propagate = False
    return logger


def get_logger(name: str = PACKAGE_LOGGER, level: int = logging.INFO) -> logging.Logger:
    """Return a logger that prints the lesson's line format.

    >>> log = get_logger("mnist_lessons.demo")
    >>> log.info("hello")  # doctest: +SKIP
    [2026-01-31 12:00:00,123456][I][<stdin>:1:mnist_lessons.demo] hello

    In a notebook the same call prints ``[I] hello``.
    """
    ezpz_get_logger = _real_ezpz_get_logger()
    if ezpz_get_logger is not None:
        return ezpz_get_logger(name)
    if name == PACKAGE_LOGGER or name.startswith(PACKAGE_LOGGER + "."):
        configure(logging.getLogger(PACKAGE_LOGGER), level)
        logger = logging.getLogger(name)
        if name != PACKAGE_LOGGER:
            logger.setLevel(logging.NOTSET)  # inherit the package logger's level
        return logger
    return configure(logging.getLogger(name), level)
