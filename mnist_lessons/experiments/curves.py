"""Learning curves: each variant trained on nested subsets of the (shuffled) training set, one validation set.

A fixed number of epochs gives a small set far fewer steps than a large one; ``steps`` gives every size the same.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..checks import check_int
from .noise import final
from ..training.recipe import DataLike, Run, RunConfig, run


def epochs_for_steps(size: int, batch_size: int, steps: int) -> int:
    """Epochs that give at least ``steps`` optimisation steps on ``size`` images in batches of ``batch_size``."""
    size, batch_size, steps = (check_int(name, value, minimum=1)
                               for name, value in (("size", size), ("batch_size", batch_size), ("steps", steps)))
    return math.ceil(steps / math.ceil(size / batch_size))


def _check_sizes(sizes: Iterable[int], available: int) -> tuple[int, ...]:
    sizes = tuple(check_int("each training-set size", s, minimum=1) for s in sizes)
    if not sizes:
        raise ValueError("learning_curve() needs at least one training-set size, e.g. sizes=[1_000, 4_000, 16_000]")
    if max(sizes) > available:
        raise ValueError(f"training-set size {max(sizes):,} is larger than the {available:,} training images; "
                         f"use at most {available:,}")
    if len(set(sizes)) != len(sizes):
        raise ValueError(f"training-set sizes must be distinct, got {list(sizes)}")
    return tuple(sorted(sizes))


@dataclass(frozen=True)
class CurvePoint:
    """One run of a learning curve: variant, training-set size, epochs and final accuracies (%)."""

    variant: str
    size: int
    epochs: int
    train_acc: float
    val_acc: float

    @property
    def gap(self) -> float:
        return self.train_acc - self.val_acc


@dataclass
class LearningCurve:
    """The points of a learning curve, by variant then size, and the runs behind them."""

    sizes: tuple[int, ...]
    points: list[CurvePoint]
    runs: dict[tuple[str, int], Run] = field(default_factory=dict, repr=False)

    @property
    def variants(self) -> list[str]:
        return list(dict.fromkeys(p.variant for p in self.points))

    def _column(self, variant: str, attr: str) -> list[float]:
        if variant not in self.variants:
            raise KeyError(f"no variant {variant!r}; variants: {self.variants}")
        return [getattr(p, attr) for p in self.points if p.variant == variant]

    def gaps(self, variant: str) -> list[float]:
        """Train minus validation accuracy (points) for each size, smallest first."""
        return self._column(variant, "gap")

    def val_accs(self, variant: str) -> list[float]:
        """Validation accuracy (%) for each size, smallest first."""
        return self._column(variant, "val_acc")

    def rows(self) -> list[dict[str, Any]]:
        return [{"variant": p.variant, "train images": p.size, "epochs": p.epochs, "train acc (%)": p.train_acc,
                 "val acc (%)": p.val_acc, "gap (points)": p.gap} for p in self.points]

    def to_frame(self, decimals: int = 2):
        import pandas as pd

        return pd.DataFrame(self.rows()).set_index(["variant", "train images"]).round(decimals)


def learning_curve(sizes: Iterable[int], variants: Mapping[str, RunConfig], data: DataLike, steps: int | None = None,
                   tail: int | float = 1) -> LearningCurve:
    """Train every variant on the first ``size`` training images for each size; see the module docstring.

    ``steps``: every run gets that many optimisation steps (else its config's epochs). ``tail`` averages the last
    epochs: an int is a number of epochs (at most the run's), a float in (0, 1] a share of each run's epochs.
    """
    if isinstance(tail, float) and not 0 < tail <= 1:
        raise ValueError(f"tail as a share of the epochs must be in (0, 1], got {tail!r}")
    sizes = _check_sizes(sizes, len(data.train.x))
    if not variants:
        raise ValueError("learning_curve() needs at least one variant, e.g. {'plain': RunConfig()}")
    points, runs = [], {}
    for name, config in variants.items():
        if not isinstance(config, RunConfig):
            raise TypeError(f"variant {name!r} must be a RunConfig, got {type(config).__name__}")
        for size in sizes:
            epochs = config.epochs if steps is None else epochs_for_steps(size, config.batch_size, steps)
            done = run(config.replace(train_size=size, epochs=epochs), data)
            h = done.history
            last = max(1, round(tail * len(h))) if isinstance(tail, float) else min(tail, len(h))
            points.append(CurvePoint(name, size, epochs, final(h, "train_acc", last), final(h, "val_acc", last)))
            runs[(name, size)] = done
    return LearningCurve(sizes, points, runs)
