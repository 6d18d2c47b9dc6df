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

Batches of images and labels are checked on the first batch only, as they
stream past (:func:`checked_batches`): a check on every batch would cost time.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Iterable, Iterator
from typing import TypeVar

import numpy as np
import torch

__all__ = ["check_batch", "check_choice", "check_instance", "check_int", "check_number", "check_widths",
           "checked_batches", "int_requirement", "number_requirement"]

T = TypeVar("T")


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


def check_widths(name: str, values: object, most: int | None = None) -> tuple[int, ...]:
    """Return ``values`` as a tuple of layer widths: one or more (at most ``most``) integers >= 1.

    >>> check_widths("hidden_sizes", [50, np.int64(50)])
    (50, 50)
    >>> check_widths("hidden_sizes", [])
    Traceback (most recent call last):
    ...
    ValueError: hidden_sizes must be one or more positive widths, got []
    """
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"{name} must be a sequence of layer widths such as (50, 50, 50), got {values!r}")
    widths = tuple(check_int(name, value, minimum=1) for value in values)
    if not widths or (most is not None and len(widths) > most):
        raise ValueError(f"{name} must be one {'or more' if most is None else f'to {most}'} positive widths, got {list(widths)}")
    return widths


def check_instance(name: str, value: T) -> T:
    """Return ``value`` unless it is a class given where one of its instances belongs (parentheses left out).

    >>> from fractions import Fraction
    >>> check_instance("schedule", Fraction)
    Traceback (most recent call last):
    ...
    TypeError: schedule=Fraction(): add the parentheses; the class itself is not a schedule
    """
    if isinstance(value, type):
        try:
            required = [p.name for p in inspect.signature(value).parameters.values()
                        if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        except (TypeError, ValueError):  # a built-in class without a signature
            required = []
        raise TypeError(f"{name}={value.__name__}({', '.join(required)}): add the parentheses; "
                        f"the class itself is not a {name}")
    return value


def check_batch(name: str, batch: object, n_classes: int | None = None) -> None:
    """Raise unless ``batch`` is an ``(X, y)`` pair; with ``n_classes``, ``y`` must be class labels of shape (N,).

    ``name`` says whose batches they are (``"fit() train_loader"``). Labels are
    int64 (or uint8) class numbers from 0 to ``n_classes - 1``, one per image.

    >>> check_batch("fit() train_loader", (torch.zeros(2, 784), torch.tensor([0.0, 3.0])), 10)
    Traceback (most recent call last):
    ...
    TypeError: fit() train_loader: labels must be integer class labels 0-9 of shape (N,); got float32 labels: use y.long()
    >>> check_batch("predict()", [torch.zeros(2, 784)])
    Traceback (most recent call last):
    ...
    TypeError: predict() needs (X, y) batches, images with their labels, such as TensorBatches(x, y, 256); got a batch of 1 item
    """
    if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
        got = (f"a batch that is one tensor of shape {tuple(batch.shape)}" if hasattr(batch, "shape") else
               f"a batch of {len(batch)} item{'s' * (len(batch) != 1)}" if isinstance(batch, (tuple, list)) else
               f"a batch of type {type(batch).__name__}")
        raise TypeError(f"{name} needs (X, y) batches, images with their labels, such as TensorBatches(x, y, 256); got {got}")
    if n_classes is None:
        return
    x, y = batch
    what = f"{name}: labels must be integer class labels 0-{n_classes - 1} of shape (N,)"
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"{what}; got {type(y).__name__}: use torch.as_tensor(y)")
    if y.dim() == 2 and y.shape[1] == n_classes:
        raise ValueError(f"{what}; got shape {tuple(y.shape)}, one-hot rows: use y.argmax(1)")
    if y.shape != (len(x),):
        raise ValueError(f"{what}, one per image; got shape {tuple(y.shape)} for {len(x)} images")
    if y.dtype not in (torch.int64, torch.uint8):
        raise TypeError(f"{what}; got {str(y.dtype).removeprefix('torch.')} labels: use y.long()")
    low, high = (int(y.min()), int(y.max())) if len(y) else (0, 0)
    if low < 0 or high >= n_classes:
        hint = ": numbered from 1? use y - 1" if low >= 1 and high == n_classes else ""
        raise ValueError(f"{what}; got labels from {low} to {high}{hint}")


def checked_batches(name: str, batches: Iterable[T], n_classes: int | None = None) -> Iterator[T]:
    """Yield ``batches``, checking the first with :func:`check_batch` before it is used (one check, not one per batch).

    >>> list(checked_batches("predict()", [(1, 2), (3, 4)]))
    [(1, 2), (3, 4)]
    """
    iterator = iter(batches)
    for first in iterator:
        check_batch(name, first, n_classes)
        yield first
        break
    yield from iterator
