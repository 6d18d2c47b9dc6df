"""Argument checks, written once: every public function validates through these.

NumPy scalars are numbers, ``bool`` is not (``True`` is not a batch size). A non-number (``"8"``, ``None``) is a
``TypeError``, a number that does not fit (``2.5`` for a count, ``nan``) a ``ValueError``, naming the argument.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Iterable, Iterator
from typing import TypeVar

import numpy as np
import torch

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


def _check_kind(name: str, value: object, what: str, kind: type) -> None:
    """A ``TypeError`` for a value that is no number, a ``ValueError`` for a bool or a number not of ``kind``."""
    if not isinstance(value, (numbers.Number, np.bool_)):
        raise TypeError(f"{name} must be {what}, got {value!r}")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, kind):
        raise ValueError(f"{name} must be {what}, got {value!r}")


def check_int(name: str, value: object, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as a Python ``int`` if it is an integer (not a bool) from ``minimum`` to ``maximum``."""
    what = int_requirement(minimum, maximum)
    _check_kind(name, value, what, numbers.Integral)
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return value


def check_number(name: str, value: object, minimum: float | None = None, strict: bool = False,
                 maximum: float | None = None) -> float:
    """Return ``value`` as a finite Python ``float`` from ``minimum`` (above it if ``strict``) to below ``maximum``."""
    what = number_requirement(minimum, strict, maximum)
    _check_kind(name, value, what, numbers.Real)
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
    """Return ``values`` as a tuple of layer widths: one or more (at most ``most``) integers >= 1."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"{name} must be a sequence of layer widths such as (50, 50, 50), got {values!r}")
    widths = tuple(check_int(name, value, minimum=1) for value in values)
    if not widths or (most is not None and len(widths) > most):
        count = "one or more" if most is None else f"one to {most}"
        raise ValueError(f"{name} must be {count} positive widths, got {list(widths)}")
    return widths


def check_instance(name: str, value: T) -> T:
    """Return ``value`` unless it is a class given where one of its instances belongs (parentheses left out)."""
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
    """Raise unless ``batch`` is an ``(X, y)`` pair; with ``n_classes``, ``y`` must be int64 (or uint8) labels
    from 0 to ``n_classes - 1``, one per image. ``name`` says whose batches they are (``"fit() train_loader"``)."""
    if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
        got = (f"a batch that is one tensor of shape {tuple(batch.shape)}" if hasattr(batch, "shape") else
               f"a batch of {len(batch)} item{'s' * (len(batch) != 1)}" if isinstance(batch, (tuple, list)) else
               f"a batch of type {type(batch).__name__}")
        raise TypeError(f"{name} needs (X, y) batches, images with their labels, such as TensorBatches(x, y, 256); "
                        f"got {got}")
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
    """Yield ``batches``, checking the first with :func:`check_batch` (one check, not one per batch)."""
    iterator = iter(batches)
    for first in iterator:
        check_batch(name, first, n_classes)
        yield first
        break
    yield from iterator
