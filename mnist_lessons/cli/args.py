"""Argument parsing shared by every command line of the package.

:class:`LessonParser` makes every error one line naming the argument; the
argument types check values with :mod:`mnist_lessons.checks`, so the command
line refuses exactly what the functions refuse, with the same words.

>>> positive_int("128")
128
>>> positive_float("0")
Traceback (most recent call last):
...
argparse.ArgumentTypeError: must be a number > 0, got '0'
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path

from ..checks import check_int, check_number, int_requirement, number_requirement

__all__ = ["LessonParser", "non_negative_int", "positive_float", "positive_int", "probability"]


class DefaultsHelpFormatter(argparse.RawDescriptionHelpFormatter):
    """``--help`` that shows every option's default, unless its text already says it or there is none."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "(default" in text or not action.option_strings or action.default in (None, False, argparse.SUPPRESS):
            return text
        return f"{text} (default: %(default)s)"


class LessonParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line naming the argument."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", DefaultsHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _argument_type(convert: Callable[[str], object], check: Callable[[object], object], what: str):
    """An argparse type: ``convert`` the text, then ``check`` it; any failure reads "must be <what>"."""

    def parse(text: str):
        try:
            return check(convert(text))
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None

    return parse


positive_int = _argument_type(int, lambda v: check_int("value", v, minimum=1), int_requirement(1))
#: A seed: what NumPy, PyTorch and Python's random all accept.
seed = _argument_type(int, lambda v: check_int("value", v, minimum=0, maximum=2**32 - 1), int_requirement(0, 2**32 - 1))
non_negative_int = _argument_type(int, lambda v: check_int("value", v, minimum=0), int_requirement(0))
positive_float = _argument_type(float, lambda v: check_number("value", v, minimum=0.0, strict=True),
                                number_requirement(0.0, strict=True))
#: A rate in [0, 1), such as dropout.
probability = _argument_type(float, lambda v: check_number("value", v, minimum=0.0, maximum=1.0),
                             number_requirement(0.0, maximum=1.0))
non_negative_float = _argument_type(float, lambda v: check_number("value", v, minimum=0.0), number_requirement(0.0))
#: Seconds to wait: more than nothing, less than a week (what a timer can hold, and any job needs).
WEEK_S = 7 * 24 * 3600.0
timeout_seconds = _argument_type(float, lambda v: check_number("value", v, minimum=0.0, maximum=WEEK_S, strict=True),
                                 number_requirement(0.0, strict=True, maximum=WEEK_S) + " (seconds, under a week)")
__all__ += ["non_negative_float", "timeout_seconds"]

def output_file(text: str) -> Path:
    """An argument type: a file path that can be written (see :func:`mnist_lessons.outputs.check_output_file`)."""
    from ..outputs import check_output_file

    try:
        check_output_file(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return Path(text)


def root_argument(text: str) -> str | None:
    """argparse ``type`` for ``--root``: the text as given, or None when it is empty.

    ``type=Path`` would turn ``--root ""`` into ``.`` (the working directory);
    this keeps it "not given", as ``data_dir`` and $MNIST_DATA_DIR="" treat it.
    """
    return text if text.strip() else None


def check_outputs(parser: argparse.ArgumentParser, outputs: dict[str, object], root: str | None) -> None:
    """An argument error if two outputs are one file or one lies among the MNIST files under ``root``."""
    from ..data.fetch import data_dir, raw_dir
    from ..outputs import check_distinct_outputs

    try:
        check_distinct_outputs(outputs, reads={"the MNIST files": raw_dir(data_dir(root))})
    except ValueError as err:
        parser.error(str(err))
