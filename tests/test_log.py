import io
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from mnist_lessons.log import LessonFormatter, RichLineHandler, get_logger, short_lines

LINE = re.compile(
    r"^\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{6}\]\[I\]\[test_log\.py:\d+:mnist_lessons\.testing\] hello 42$"
)


def capture(logger: logging.Logger) -> io.StringIO:
    """Point the package handler at a plain in-memory console."""
    buffer = io.StringIO()
    handler = next(h for h in logging.getLogger("mnist_lessons").handlers if isinstance(h, RichLineHandler))
    handler._console = Console(file=buffer, width=500, color_system=None)
    return buffer


def test_line_has_the_lesson_shape():
    log = get_logger("mnist_lessons.testing")
    buffer = capture(log)
    log.info("hello %d", 42)
    assert LINE.match(buffer.getvalue().strip()), buffer.getvalue()


def test_messages_with_brackets_are_printed_verbatim():
    log = get_logger("mnist_lessons.testing")
    buffer = capture(log)
    log.warning("[bold]not markup[/bold]")
    assert buffer.getvalue().rstrip().endswith(":mnist_lessons.testing] [bold]not markup[/bold]")


def test_root_and_other_loggers_are_untouched():
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    other = logging.getLogger("some.library")
    other_before = (list(other.handlers), other.level, other.propagate)
    get_logger("mnist_lessons.training.loops")
    get_logger("__main__")
    assert (list(root.handlers), root.level) == before
    assert (list(other.handlers), other.level, other.propagate) == other_before


def test_handler_is_added_once():
    for _ in range(3):
        get_logger("mnist_lessons")
    handlers = [h for h in logging.getLogger("mnist_lessons").handlers if isinstance(h, RichLineHandler)]
    assert len(handlers) == 1


def test_colour_marks_level_and_origin_without_changing_text():
    record = logging.LogRecord("x", logging.WARNING, "/a/b/file.py", 7, "careful", None, None)
    line = LessonFormatter().format(record)
    text = RichLineHandler.colour(line, "W")
    assert text.plain == line
    styled = {str(span.style) for span in text.spans}
    assert {"dim", "yellow", "cyan"} <= styled


def test_notebook_line_is_the_level_and_the_message():
    handler = RichLineHandler(console=Console(file=io.StringIO(), width=500, color_system=None), notebook=True)
    record = logging.LogRecord("mnist_lessons.train", logging.INFO, "/a/train.py", 171, "epoch %d: loss %.3f", (0, 0.5), None)
    handler.emit(record)
    assert handler.console.file.getvalue() == "[I] epoch 0: loss 0.500\n"


def test_notebook_line_colours_only_the_level():
    text = RichLineHandler.colour("[W] [not a prefix] careful", "W")
    assert text.plain == "[W] [not a prefix] careful"
    assert [(span.start, span.end, str(span.style)) for span in text.spans] == [(0, 3, "yellow")]


# Logs once through get_logger in a fresh interpreter; FAKE_KERNEL makes rich see a Jupyter kernel.
LOG_ONCE = """
import builtins, os
if os.environ.get("FAKE_KERNEL"):
    ZMQInteractiveShell = type("ZMQInteractiveShell", (), {})
    builtins.get_ipython = lambda: ZMQInteractiveShell()
from mnist_lessons.log import get_logger
for _ in range(int(os.environ.get("LINES_TO_LOG", "1"))):
    get_logger("mnist_lessons.train").info("epoch %d: train loss %.3f", 3, 0.25)
"""
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def run_logging(**env: str) -> subprocess.CompletedProcess:
    root = Path(__file__).resolve().parents[1]
    environment = {**os.environ, "PYTHONPATH": str(root), "COLUMNS": "80", **env}
    return subprocess.run([sys.executable, "-c", LOG_ONCE], env=environment, capture_output=True, text=True, check=True)


def test_in_a_notebook_the_message_comes_first_on_stdout():
    done = run_logging(FAKE_KERNEL="1")
    assert ANSI.sub("", done.stdout) == "[I] epoch 3: train loss 0.250\n"
    assert "\x1b[32m[I]" in done.stdout  # coloured for the built page
    assert done.stderr == ""


def test_on_the_command_line_the_full_lesson_line_goes_to_stderr():
    done = run_logging()
    assert done.stdout == ""
    line = ANSI.sub("", done.stderr).strip()
    assert re.fullmatch(
        r"\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{6}\]\[I\]\[<string>:\d+:mnist_lessons\.train\] epoch 3: train loss 0\.250",
        line,
    ), line


def test_the_line_variable_overrides_where_the_logger_runs():
    short = run_logging(MNIST_LESSONS_LOG_LINE="short")  # e.g. a job that a notebook launched
    assert ANSI.sub("", short.stderr) == "[I] epoch 3: train loss 0.250\n"
    full = run_logging(FAKE_KERNEL="1", MNIST_LESSONS_LOG_LINE="full")
    line = ANSI.sub("", full.stdout)
    assert line.startswith("[20") and "][I][<string>:" in line


def test_a_bad_line_variable_is_named_in_the_error(monkeypatch):
    monkeypatch.setenv("MNIST_LESSONS_LOG_LINE", "tiny")
    with pytest.raises(ValueError, match="MNIST_LESSONS_LOG_LINE='tiny': use short or full"):
        short_lines(notebook=False)


def test_a_bad_line_variable_is_warned_about_once_and_every_line_still_printed():
    done = run_logging(FAKE_KERNEL="1", MNIST_LESSONS_LOG_LINE="tiny", LINES_TO_LOG="3")
    lines = ANSI.sub("", done.stdout).splitlines()
    assert lines == ["[W] MNIST_LESSONS_LOG_LINE='tiny': use short or full (or unset it); using the short line",
                     *["[I] epoch 3: train loss 0.250"] * 3], done.stdout + done.stderr
    assert "Traceback" not in done.stderr
