"""Fair comparisons of training settings: one run per setting, everything else equal.

:func:`sweep` changes one setting of a
:class:`~mnist_lessons.training.recipe.RunConfig` across a list of values,
trains one run per value with the same seed and number of epochs (through
:func:`~mnist_lessons.training.recipe.run`, the one recipe), and returns a
:class:`SweepResult`: the histories by label (ready for
:func:`mnist_lessons.figures.plots.plot_history`), a summary row per run, and
the best run by validation accuracy. Tables are plain dicts, or a pandas
``DataFrame`` through :meth:`SweepResult.to_frame`. :class:`Experiments` holds
the runs of several sweeps on one dataset, trains each distinct config once
and picks the best run of all.

>>> result = sweep("batch_size", [32, 128], lambda b: RunConfig(batch_size=b), splits)  # doctest: +SKIP
>>> result.to_frame()                                                                  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..training.loops import History, TrainingDiverged
from ..training.recipe import DataLike, Run, RunConfig, check_data, run

def describe(value: Any) -> str:
    """A short label for a setting: ``0.05`` → ``"0.05"``, ``("sigmoid", "relu")`` → ``"sigmoid, relu"``."""
    if isinstance(value, (list, tuple)):
        return ", ".join(describe(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


#: Column titles of the summary tables, for the keys of :meth:`Run.summary`.
COLUMN_TITLES: dict[str, str] = {
    "train_acc": "train acc (%)",
    "val_acc": "val acc (%)",
    "gap": "gap (points)",
    "seconds_per_epoch": "s / epoch",
}


def to_frame(rows: Sequence[Mapping[str, Any]], index: str, decimals: int | None = 2):
    """Summary rows (dicts with the keys of :meth:`Run.summary`) as a titled pandas ``DataFrame``.

    >>> row = {"lr": "0.1", "train_acc": 96.3, "val_acc": 95.8, "gap": 0.5, "seconds_per_epoch": 0.4}
    >>> to_frame([row], index="lr")  # doctest: +SKIP
    """
    try:
        import pandas as pd
    except ImportError as err:  # pragma: no cover - pandas comes with the book's dependencies
        raise ImportError("to_frame() needs pandas: pip install pandas, or use the rows as they are") from err
    frame = pd.DataFrame(list(rows)).set_index(index).rename(columns=COLUMN_TITLES)
    return frame.round(decimals) if decimals is not None else frame


@dataclass
class SweepResult:
    """The runs of one sweep over setting ``name``, in the order of its values."""

    name: str
    runs: list[Run] = field(default_factory=list)

    @property
    def histories(self) -> dict[str, History]:
        """``{label: history}``, the form :func:`mnist_lessons.figures.plots.plot_history` compares."""
        return {r.label: r.history for r in self.runs}

    def rows(self) -> list[dict[str, Any]]:
        """One dict per run: the setting's label, then :meth:`Run.summary` (and a status column if any run diverged)."""
        status = any(r.diverged for r in self.runs)
        return [{self.name: r.label, **r.summary(), **({"status": "diverged" if r.diverged else "trained"} if status else {})}
                for r in self.runs]

    def to_frame(self, decimals: int | None = 2):
        """The rows as a pandas ``DataFrame`` indexed by the setting (needs pandas)."""
        if not self.runs:
            raise ValueError(f"sweep {self.name!r} has no runs to tabulate")
        return to_frame(self.rows(), self.name, decimals)

    def best(self, metric: str = "val_acc") -> Run:
        """The run with the highest final ``metric`` (validation accuracy unless told otherwise)."""
        if not self.runs:
            raise ValueError(f"sweep {self.name!r} has no runs to choose from")
        if metric not in self.runs[0].summary():
            raise ValueError(f"unknown metric {metric!r}; choose one of: {', '.join(self.runs[0].summary())}")
        trained = [r for r in self.runs if not r.diverged]
        if not trained:
            raise ValueError(f"every run of sweep {self.name!r} diverged: there is no best run; lower the learning rate")
        return max(trained, key=lambda r: r.summary()[metric])

    def __getitem__(self, label: str) -> Run:
        for r in self.runs:
            if r.label == label:
                return r
        raise KeyError(f"no run labelled {label!r} in sweep {self.name!r}; labels: {[r.label for r in self.runs]}")


class Experiments:
    """Training runs on one dataset, each distinct setting trained once.

    Runs are seeded, so training the same :class:`RunConfig` twice gives the
    same result; an ``Experiments`` therefore trains each config once and
    reuses it, e.g. the lesson's baseline that appears in several sweeps.
    :meth:`best` then picks the best run of all sweeps together.

    >>> lab = Experiments(mnist_splits())                                  # doctest: +SKIP
    >>> lab.sweep("lr", [0.01, 0.1], lambda lr: RunConfig(lr=lr))          # doctest: +SKIP
    >>> lab.best().config.lr                                               # doctest: +SKIP
    0.1
    """

    def __init__(self, data: DataLike, log_every: int = 0) -> None:
        check_data(data)
        self.data = data
        self.log_every = log_every
        self.runs: dict[RunConfig, Run] = {}

    def run(self, config: RunConfig, label: str | None = None) -> Run:
        """Train ``config`` unless it was trained before; return the run under ``label``."""
        if not isinstance(config, RunConfig):
            raise TypeError(f"run() needs a RunConfig, got {type(config).__name__}")
        if config not in self.runs:
            try:
                self.runs[config] = run(config, self.data, label, self.log_every)
            except TrainingDiverged as err:  # recorded, shown in tables, never chosen as best
                self.runs[config] = Run(label if label is not None else "run", config, None, err.history, diverged=True)
        done = self.runs[config]
        return done if label is None or label == done.label else replace(done, label=label)

    def sweep(
        self,
        name: str,
        values: Sequence[Any],
        make_config: Callable[[Any], RunConfig],
        labels: Sequence[str] | None = None,
    ) -> SweepResult:
        """Train one run per value of setting ``name``; ``make_config(value)`` gives its :class:`RunConfig`.

        The comparison is fair by construction: every config must share its
        seed and number of epochs, or a ``ValueError`` says which differs.
        """
        values = list(values)
        if not values:
            raise ValueError(f"sweep {name!r} needs at least one value")
        labels = [describe(v) for v in values] if labels is None else [str(label) for label in labels]
        if len(labels) != len(values):
            raise ValueError(f"got {len(labels)} labels for {len(values)} values")
        if len(set(labels)) != len(labels):
            raise ValueError(f"labels must be distinct, got {labels}")
        configs = [make_config(v) for v in values]
        for value, config in zip(values, configs):
            if not isinstance(config, RunConfig):
                raise TypeError(f"make_config({value!r}) returned {type(config).__name__}, not a RunConfig")
        for setting in ("seed", "epochs"):
            seen = {getattr(c, setting) for c in configs}
            if len(seen) > 1:
                raise ValueError(f"unfair sweep {name!r}: runs differ in {setting} ({sorted(seen)}); keep it equal")
        return SweepResult(name, [self.run(c, label) for c, label in zip(configs, labels)])

    def best(self, metric: str = "val_acc") -> Run:
        """The best run trained so far, by final ``metric`` (validation accuracy unless told otherwise)."""
        if not self.runs:
            raise ValueError("no runs yet: call run() or sweep() first")
        return SweepResult("all runs", list(self.runs.values())).best(metric)


def sweep(
    name: str,
    values: Sequence[Any],
    make_config: Callable[[Any], RunConfig],
    data: DataLike,
    labels: Sequence[str] | None = None,
    log_every: int = 0,
) -> SweepResult:
    """Train one run per value of setting ``name`` on ``data``; see :meth:`Experiments.sweep`.

    >>> base = RunConfig()
    >>> result = sweep("lr", [0.01, 0.1], lambda lr: base.replace(lr=lr), splits)  # doctest: +SKIP
    >>> result.best().label                                                      # doctest: +SKIP
    '0.1'
    """
    return Experiments(data, log_every).sweep(name, values, make_config, labels)

__all__ = ["COLUMN_TITLES", "Experiments", "SweepResult", "describe", "sweep", "to_frame"]
