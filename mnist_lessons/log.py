"""Log lines in the lesson's shape, coloured by rich.

The package's modules log to ``logging.getLogger(__name__)``, and importing the
package only gives the ``mnist_lessons`` logger a ``NullHandler``. The entry
points (the command line, the distributed job, a chapter's hidden setup cell)
call :func:`setup_logging`. On the command line every line then looks like
``[2026-01-31 12:00:00,123456][I][loops.py:88:mnist_lessons.training.loops] message``:
time with microseconds, the level's first letter, then where the call came
from, on stderr. In a notebook (and so on the built pages) that 70-character
prefix would push the numbers off screen, so a line there is just
``[I] message``, on stdout (a built page keeps the colours). The variable
``MNIST_LESSONS_LOG_LINE`` (``short`` or ``full``) overrides the choice of
line, e.g. for a job a notebook launches; any other value gets one warning and
the usual line. The lesson used the ezpz toolkit's ``get_logger``: when the
real ezpz (installed from its git repository, not PyPI) is importable,
:func:`setup_logging` hands the package logger to it. Only the package logger
is configured: the root logger and other libraries' loggers are left exactly
as they were.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from datetime import datetime

from rich.console import Console
from rich.text import Text

PACKAGE_LOGGER = "mnist_lessons"
#: Environment variable that picks the line: ``short`` (``[I] message``) or ``full``.
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
    """Print each record through a rich ``console``: grey time, coloured level, blue origin, then the message
    verbatim; with ``short``, only the coloured level and the message.

    >>> record = logging.LogRecord("mnist_lessons.demo", logging.INFO, "demo.py", 7, "epoch %d", (3,), None)
    >>> RichLineHandler(Console(), short=True).line(record).plain
    '[I] epoch 3'
    """

    def __init__(self, console: Console, short: bool) -> None:
        super().__init__()
        self.console, self.short = console, short

    def line(self, record: logging.LogRecord) -> Text:
        """The record as coloured text, each part styled as it is put together."""
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


def setup_logging(level: int = logging.INFO) -> logging.Logger:
    """Give the package logger the lesson's line, once (calling again only sets ``level``), and return it.

    It stops propagating to the root logger, so a notebook that also configures
    the root logger does not print each line twice.
    """
    ezpz_get_logger = _real_ezpz_get_logger()
    if ezpz_get_logger is not None:
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
