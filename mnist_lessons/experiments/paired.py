"""McNemar's exact test: two classifiers on the same test images.

Only images where exactly one model is right count: ``b`` those A gets right and B wrong, ``c`` the reverse. Were
the models equally good, ``b`` would follow Binomial(b + c, 1/2).

>>> mcnemar_exact([1, 1, 1, 0], [0, 0, 1, 0], [1, 1, 1, 1])
McNemar(b=2, c=0, p=0.5)
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from ..checks import check_int


class McNemar(NamedTuple):
    """Discordant counts and the exact two-sided p-value of McNemar's test."""

    b: int  #: images A gets right and B gets wrong
    c: int  #: images A gets wrong and B gets right
    p: float  #: two-sided exact p-value (1.0 when the models never disagree in correctness)


def binomial_two_sided(k: int, n: int) -> float:
    """Two-sided exact p-value of ``k`` heads in ``n`` fair tosses (twice the smaller tail), in exact integers."""
    n = check_int("n", n, minimum=0)
    k = check_int("k", k, minimum=0, maximum=n)
    smaller = min(k, n - k)
    term, tail = 1, 1  # C(n, 0); each next term C(n, i + 1) = C(n, i) * (n - i) / (i + 1), exactly
    for i in range(smaller):
        term = term * (n - i) // (i + 1)
        tail += term
    return min(1.0, 2 * tail / 2**n)


def _as_labels(values, name: str) -> torch.Tensor:
    t = torch.as_tensor(values).cpu()  # predictions and labels may come from different devices
    if t.dim() == 2:  # class scores: take the predicted class
        t = t.argmax(dim=1)
    if t.dim() != 1:
        raise ValueError(f"{name} must be a 1-D tensor of class labels (or 2-D scores), got shape {tuple(t.shape)}")
    return t


def mcnemar_exact(pred_a, pred_b, y) -> McNemar:
    """McNemar's exact test of predictions ``pred_a`` and ``pred_b`` (labels or rows of scores) against ``y``."""
    a, b_, y = _as_labels(pred_a, "pred_a"), _as_labels(pred_b, "pred_b"), _as_labels(y, "y")
    if not len(a) == len(b_) == len(y):
        raise ValueError(f"pred_a, pred_b and y must have the same length, got {len(a)}, {len(b_)} and {len(y)}")
    if len(y) == 0:
        raise ValueError("mcnemar_exact() got no images: pred_a, pred_b and y are empty")
    right_a, right_b = a == y, b_ == y
    b = int((right_a & ~right_b).sum())
    c = int((~right_a & right_b).sum())
    return McNemar(b, c, binomial_two_sided(b, b + c))
