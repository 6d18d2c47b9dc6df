"""Seed noise: how much a result moves when only the random seed changes (initial weights, dropout, batch order).
:func:`seed_runs` trains one setting per seed; :func:`seed_sweep` each value of one setting, compared by seed."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..checks import check_choice, check_int
from ..config import MIN_SEEDS, SEEDS
from ..training.recipe import DataLike, Run, RunConfig, run
from ..training.loops import History, TrainingDiverged
from .verdicts import Verdict, compare_studies, mean_and_std

#: Per-run metrics a study can summarise: columns of a History, and ``gap`` (training minus validation accuracy).
METRICS: tuple[str, ...] = ("val_acc", "train_acc", "val_loss", "train_loss", "gap")


def describe(value: Any) -> str:
    """A short label for a setting: ``0.05`` → ``"0.05"``, ``("sigmoid", "relu")`` → ``"sigmoid, relu"``."""
    if isinstance(value, (list, tuple)):
        return ", ".join(describe(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _check_seeds(seeds: Iterable[int], minimum: int = 2) -> tuple[int, ...]:
    seeds = tuple(check_int("each seed", s, minimum=0) for s in seeds)
    if len(seeds) < minimum:
        raise ValueError(f"need at least {minimum} seeds to measure a spread, got {list(seeds)}; "
                         f"pass e.g. seeds=range({max(minimum, 5)})")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct (a repeated seed repeats the same run), got {list(seeds)}")
    return seeds


def column(history: History, metric: str) -> list[float]:
    """``metric`` per epoch: a column of ``history``, or ``gap`` (training minus validation accuracy)."""
    if check_choice("metric", metric, METRICS) == "gap":
        return [t - v for t, v in zip(history.train_acc, history.val_acc)]
    return list(getattr(history, metric))


def final(history: History, metric: str = "val_acc", tail: int = 1) -> float:
    """The mean of ``metric`` over the last ``tail`` epochs of ``history`` (the last epoch by default)."""
    values = column(history, metric)
    tail = check_int("tail (epochs averaged)", tail, minimum=1, maximum=len(values))
    return sum(values[-tail:]) / tail


@dataclass
class SeedStudy:
    """One setting trained once per seed: the final ``metric`` of each seed, its mean, sample std, min and max."""

    label: str
    seeds: tuple[int, ...]
    values: tuple[float, ...]
    metric: str = "val_acc"
    runs: list[Run] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self.seeds = _check_seeds(self.seeds)
        self.values = tuple(float(v) for v in self.values)
        if len(self.values) != len(self.seeds):
            raise ValueError(f"got {len(self.values)} values for {len(self.seeds)} seeds")

    @property
    def mean(self) -> float:
        return mean_and_std(self.values)[0]

    @property
    def std(self) -> float:
        """The sample standard deviation over the seeds."""
        return mean_and_std(self.values)[1]

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)

    @property
    def range(self) -> float:
        """Highest minus lowest value."""
        return self.high - self.low

    @property
    def diverged(self) -> int:
        """How many seeds' runs diverged (their value is NaN)."""
        return sum(math.isnan(v) for v in self.values)

    def summary(self) -> dict[str, Any]:
        """One table row: label, number of seeds, mean, std, min, max and range."""
        return {"setting": self.label, "seeds": len(self.seeds), "mean": self.mean, "std": self.std,
                "min": self.low, "max": self.high, "range": self.range}

    def text(self, decimals: int = 2) -> str:
        """``"93.91 ± 0.12"``: mean ± std (or how many seeds diverged)."""
        if self.diverged:
            return f"diverged ({self.diverged} of {len(self.seeds)} seeds)"
        return f"{self.mean:.{decimals}f} ± {self.std:.{decimals}f}"

    def curve(self, metric: str | None = None) -> tuple[list[int], list[float], list[float]]:
        """Per-epoch ``(epochs, mean, std)`` of ``metric`` across the seeds' histories, for a band plot."""
        if not self.runs:
            raise ValueError(f"study {self.label!r} holds no runs (made from values only); it has no curves")
        columns = [column(r.history, metric or self.metric) for r in self.runs]
        lengths = {len(c) for c in columns}
        if len(lengths) != 1:
            raise ValueError(f"runs of {self.label!r} have different numbers of epochs: {sorted(lengths)}")
        mean, std = zip(*(mean_and_std(row) for row in zip(*columns)))
        return list(self.runs[0].history.epoch), list(mean), list(std)


def seed_runs(make_config: Callable[[int], RunConfig], seeds: Iterable[int], data: DataLike, label: str = "run",
              metric: str = "val_acc", tail: int = 1) -> SeedStudy:
    """Train ``make_config(seed)`` for every seed (configs may differ in nothing else); ``tail`` averages epochs."""
    seeds = _check_seeds(seeds)
    metric = check_choice("metric", metric, METRICS)
    configs = [make_config(s) for s in seeds]
    first = configs[0]
    for seed, config in zip(seeds, configs):
        if not isinstance(config, RunConfig):
            raise TypeError(f"make_config({seed}) returned {type(config).__name__}, not a RunConfig")
        if config.seed != seed:
            raise ValueError(f"make_config({seed}) returned a config with seed {config.seed}; set seed={seed}")
        if config.replace(seed=first.seed) != first:
            raise ValueError(f"configs of {label!r} differ in more than the seed: {config.differences(first)}")
    runs = []
    for config in configs:
        try:
            runs.append(run(config, data))
        except TrainingDiverged as err:  # recorded as diverged: its value is NaN, never a winner
            runs.append(Run(label, config, None, err.history, diverged=True))
    values = tuple(float("nan") if r.diverged else final(r.history, metric, tail) for r in runs)
    return SeedStudy(label, seeds, values, metric, runs)


@dataclass
class SeedSweep:
    """One :class:`SeedStudy` per value of setting ``name``, in the order of the values."""

    name: str
    studies: dict[str, SeedStudy]

    def __getitem__(self, label: str) -> SeedStudy:
        if label not in self.studies:
            raise KeyError(f"no setting labelled {label!r} in sweep {self.name!r}; labels: {list(self.studies)}")
        return self.studies[label]

    def ranked(self) -> list[SeedStudy]:
        """Studies from the best mean to the worst; settings with a diverged seed (mean NaN) come last."""
        return sorted(self.studies.values(), key=lambda s: (not math.isnan(s.mean), s.mean), reverse=True)

    def verdict(self, a: str, b: str, higher_is_better: bool = True) -> Verdict:
        """Setting ``a`` against setting ``b``, paired by seed (see :mod:`mnist_lessons.experiments.verdicts`)."""
        return compare_studies(f"{self.name}: {a} vs {b}", self[a], self[b], higher_is_better)

    def best_verdict(self) -> Verdict:
        """The best mean against the runner-up: whether this sweep's seeds single out one setting."""
        ranked = self.ranked()
        if len(ranked) < 2:
            raise ValueError(f"sweep {self.name!r} has {len(ranked)} setting; a comparison needs at least two")
        return self.verdict(ranked[0].label, ranked[1].label)

    def tied_with_best(self) -> list[str]:
        """The best setting and every setting its seeds cannot tell apart from it, best first."""
        best = self.ranked()[0]
        return [best.label] + [s.label for s in self.ranked()[1:]
                               if not math.isnan(s.mean) and self.verdict(best.label, s.label).outcome is None]

    def rows(self, decimals: int = 2) -> list[dict[str, Any]]:
        """One row per setting: label, ``mean ± std`` text, min, max, number of seeds."""
        return [{self.name: s.label, f"{s.metric} (mean ± std)": s.text(decimals), "min": round(s.low, decimals),
                 "max": round(s.high, decimals), "seeds": len(s.seeds)} for s in self.studies.values()]

    def to_frame(self, decimals: int = 2):
        import pandas as pd

        return pd.DataFrame(self.rows(decimals)).set_index(self.name)


def seed_sweep(name: str, values: Sequence[Any], make_config: Callable[[Any, int], RunConfig], seeds: Iterable[int],
               data: DataLike, labels: Sequence[str] | None = None, metric: str = "val_acc",
               tail: int = 1) -> SeedSweep:
    """Train ``make_config(value, seed)`` for every value and every seed (at least ``MIN_SEEDS``, equal epochs)."""
    seeds = _check_seeds(seeds, MIN_SEEDS)
    values = list(values)
    if not values:
        raise ValueError(f"sweep {name!r} needs at least one value")
    labels = [describe(v) for v in values] if labels is None else [str(x) for x in labels]
    if len(labels) != len(values) or len(set(labels)) != len(labels):
        raise ValueError(f"need one distinct label per value, got {labels} for {len(values)} values")
    epochs = {getattr(make_config(v, seeds[0]), "epochs", None) for v in values}
    if len(epochs) > 1:
        raise ValueError(f"unfair sweep {name!r}: values train for different epochs {sorted(epochs)}; keep it equal")
    return SeedSweep(name, {label: seed_runs(lambda s, v=value: make_config(v, s), seeds, data, label, metric, tail)
                            for value, label in zip(values, labels)})


@dataclass
class LessonNoise:
    """The seed noise of the lesson's two models at the lesson's settings."""

    linear: SeedStudy
    mlp: SeedStudy


def lesson_noise(data: DataLike, seeds: Iterable[int] = SEEDS) -> LessonNoise:
    """Train the lesson's linear model and multilayer network once per seed, at the lesson's settings."""
    return LessonNoise(linear=seed_runs(lambda s: RunConfig(model="linear", seed=s), seeds, data, "linear"),
                       mlp=seed_runs(lambda s: RunConfig(model="mlp", seed=s), seeds, data, "multilayer"))
