"""Argument checks, written once: every public function validates through these.

They accept NumPy scalars wherever Python numbers are accepted (``np.int64(128)``
is an integer) and refuse ``bool`` (``True`` is not a batch size). Something
that is not a number at all (a string, ``None``) is a ``TypeError``; a number
that does not fit (``2.5`` for a count, ``True``, ``nan``, out of range) is a
``ValueError``. Either way the message names the argument and what it must be.

>>> check_int("batch_size", np.int64(128), minimum=1)
128
>>> check_int("batch_size", True, minimum=1)
Traceback (most recent call last):
...
ValueError: batch_size must be an integer >= 1, got True
>>> check_int("batch_size", "128", minimum=1)
Traceback (most recent call last):
...
TypeError: batch_size must be an integer >= 1, got '128'
>>> check_number("lr", 0.0, minimum=0.0, strict=True)
Traceback (most recent call last):
...
ValueError: lr must be a number > 0, got 0.0
"""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = ["check_int", "check_number", "check_choice", "int_requirement", "number_requirement"]


def int_requirement(minimum: int | None = None, maximum: int | None = None) -> str:
    """How an integer argument is described in error messages: ``"an integer >= 1"``."""
    if minimum is not None and maximum is not None:
        return f"an integer from {minimum} to {maximum}"
    return "an integer" if minimum is None else f"an integer >= {minimum}"


def number_requirement(minimum: float | None = None, strict: bool = False, maximum: float | None = None) -> str:
    """How a number argument is described in error messages: ``"a number > 0"``."""
    parts = []
    if minimum is not None:
        parts.append(f"{'>' if strict else '>='} {minimum:g}")
    if maximum is not None:
        parts.append(f"< {maximum:g}")
    return "a number" + (" " + " and ".join(parts) if parts else "")


def _check_is_number(name: str, value: object, what: str) -> None:
    if not isinstance(value, (numbers.Number, np.bool_)):
        raise TypeError(f"{name} must be {what}, got {value!r}")


def check_int(name: str, value: object, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as a Python ``int`` if it is an integer (not a bool) from ``minimum`` to ``maximum``."""
    what = int_requirement(minimum, maximum)
    _check_is_number(name, value, what)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be {what}, got {value!r}")
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return value


def check_number(
    name: str, value: object, minimum: float | None = None, strict: bool = False, maximum: float | None = None
) -> float:
    """Return ``value`` as a finite Python ``float`` within the bounds (``strict``: above ``minimum``).

    ``maximum`` is exclusive.
    """
    what = number_requirement(minimum, strict, maximum)
    _check_is_number(name, value, what)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be {what}, got {value!r}")
    number = float(value)
    too_low = minimum is not None and (number < minimum or (strict and number == minimum))
    too_high = maximum is not None and number >= maximum
    if not math.isfinite(number) or too_low or too_high:
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return number


def check_choice(name: str, value: object, choices) -> str:
    """Return ``value`` if it is one of ``choices`` (names), else a ``ValueError`` listing them."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"unknown {name} {value!r}; choose one of: {', '.join(choices)}")
    return value
