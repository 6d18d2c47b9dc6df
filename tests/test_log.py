import io
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from mnist_lessons.log import RichLineHandler, setup_logging, short_lines

LINE = re.compile(
    r"^\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{6}\]\[I\]\[test_log\.py:\d+:mnist_lessons\.testing\] hello 42$"
)


@pytest.fixture
def captured():
    """The package logger set up, its handler pointed at a plain in-memory console (full lines)."""
    setup_logging()
    handler = next(h for h in logging.getLogger("mnist_lessons").handlers if isinstance(h, RichLineHandler))
    before = handler.console, handler.short
    buffer = io.StringIO()
    handler.console, handler.short = Console(file=buffer, width=500, color_system=None), False
    yield buffer
    handler.console, handler.short = before


def record(level: int = logging.INFO, message: str = "careful") -> logging.LogRecord:
    return logging.LogRecord("mnist_lessons.x", level, "/a/b/file.py", 7, message, None, None)


def test_line_has_the_lesson_shape(captured):
    logging.getLogger("mnist_lessons.testing").info("hello %d", 42)
    assert LINE.match(captured.getvalue().strip()), captured.getvalue()


def test_messages_with_brackets_are_printed_verbatim(captured):
    logging.getLogger("mnist_lessons.testing").warning("[bold]not markup[/bold]")
    assert captured.getvalue().rstrip().endswith(":mnist_lessons.testing] [bold]not markup[/bold]")


def test_setup_touches_only_the_package_logger_and_adds_its_handler_once():
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    other = logging.getLogger("some.library")
    other_before = (list(other.handlers), other.level, other.propagate)
    for _ in range(3):
        package = setup_logging()
    assert (list(root.handlers), root.level) == before
    assert (list(other.handlers), other.level, other.propagate) == other_before
    assert len([h for h in package.handlers if isinstance(h, RichLineHandler)]) == 1
    assert package.level == logging.INFO and not package.propagate


def test_colour_marks_level_and_origin_without_changing_text():
    text = RichLineHandler(Console(), short=False).line(record(logging.WARNING))
    assert re.fullmatch(r"\[[^\]]+\]\[W\]\[file\.py:7:mnist_lessons\.x\] careful", text.plain), text.plain
    styles = [(text.plain[span.start:span.end], str(span.style)) for span in text.spans]
    assert [style for _, style in styles] == ["dim", "yellow", "cyan"]
    assert styles[1][0] == "[W]" and styles[2][0] == "[file.py:7:mnist_lessons.x]"


def test_the_short_line_is_the_level_and_the_message_and_colours_only_the_level():
    handler = RichLineHandler(Console(file=io.StringIO(), width=500, color_system=None), short=True)
    text = handler.line(record(logging.WARNING, "[not a prefix] careful"))
    assert text.plain == "[W] [not a prefix] careful"
    assert [(span.start, span.end, str(span.style)) for span in text.spans] == [(0, 3, "yellow")]
    handler.emit(logging.LogRecord("mnist_lessons.train", logging.INFO, "/a/train.py", 171, "epoch %d: loss %.3f",
                                   (0, 0.5), None))
    assert handler.console.file.getvalue() == "[I] epoch 0: loss 0.500\n"


def test_a_traceback_is_printed_under_its_line():
    try:
        raise KeyError("lost")
    except KeyError:
        failed = logging.LogRecord("mnist_lessons.x", logging.ERROR, "f.py", 1, "failed", None, sys.exc_info())
    text = RichLineHandler(Console(), short=True).line(failed).plain
    assert text.startswith("[E] failed\nTraceback") and text.endswith("KeyError: 'lost'")


# Imports the package, then (unless IMPORT_ONLY) sets logging up and logs, in a fresh interpreter;
# FAKE_KERNEL makes rich see a Jupyter kernel.
LOG_ONCE = """
import builtins, logging, os
if os.environ.get("FAKE_KERNEL"):
    ZMQInteractiveShell = type("ZMQInteractiveShell", (), {})
    builtins.get_ipython = lambda: ZMQInteractiveShell()
import mnist_lessons.cli, mnist_lessons.distributed, mnist_lessons.training.recipe
package = logging.getLogger("mnist_lessons")
if os.environ.get("IMPORT_ONLY"):
    print([type(h).__name__ for h in package.handlers], package.level, package.propagate)
    raise SystemExit
from mnist_lessons.log import setup_logging
setup_logging()
for _ in range(int(os.environ.get("LINES_TO_LOG", "1"))):
    logging.getLogger("mnist_lessons.train").info("epoch %d: train loss %.3f", 3, 0.25)
"""
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def run_logging(**env: str) -> subprocess.CompletedProcess:
    root = Path(__file__).resolve().parents[1]
    environment = {**os.environ, "PYTHONPATH": str(root), "COLUMNS": "80", **env}
    return subprocess.run([sys.executable, "-c", LOG_ONCE], env=environment, capture_output=True, text=True, check=True)


def test_importing_the_package_only_adds_a_null_handler():
    done = run_logging(IMPORT_ONLY="1")
    assert done.stdout == "['NullHandler'] 0 True\n" and done.stderr == ""


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
