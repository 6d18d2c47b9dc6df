import io
import logging
import re

from rich.console import Console

from mnist_lessons.log import LessonFormatter, RichLineHandler, get_logger

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
