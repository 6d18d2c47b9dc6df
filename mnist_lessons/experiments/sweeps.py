"""Fair comparisons of training settings: one run per setting, everything else equal.

A :class:`RunConfig` names every setting of one training run of the
multilayer network (widths, activation, dropout, optimiser, learning rate,
weight decay, batch size, epochs, seed, an optional learning-rate schedule and
an optional smaller training set). :func:`run` trains it on the fast tensor
path and returns a :class:`Run` (its model and :class:`~mnist_lessons.train.History`).
:func:`sweep` changes one setting across a list of values, trains one run per
value with the same seed and number of epochs, and returns a
:class:`SweepResult`: the histories by label (ready for
:func:`mnist_lessons.viz.plot_history`), a summary row per run, and the best
run by validation accuracy. Tables are plain dicts, or a pandas ``DataFrame``
through :meth:`SweepResult.to_frame` when pandas is installed.
:class:`Experiments` holds the runs of several sweeps on one dataset, trains
each distinct config once and picks the best run of all; :func:`plot_schedules`
draws the learning rate and validation accuracy of runs with schedules.

>>> result = sweep("batch_size", [32, 128], lambda b: RunConfig(batch_size=b), splits)  # doctest: +SKIP
>>> result.to_frame()                                                                  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, Protocol

import torch
from torch import nn

from .batches import TensorBatches
from .config import BATCH_SIZE, DROPOUT, EPOCHS, EVAL_BATCH_SIZE, HIDDEN_SIZES, LEARNING_RATE, SEED
from .models import ActivationSpec, NonlinearClassifier
from .train import OPTIMIZERS, History, fit, make_optimizer, seed_everything

if TYPE_CHECKING:
    from matplotlib.figure import Figure

Scheduler = torch.optim.lr_scheduler.LRScheduler


class SplitLike(Protocol):
    """Anything with image tensors ``x`` and labels ``y`` (e.g. :class:`mnist_lessons.batches.Split`)."""

    x: torch.Tensor
    y: torch.Tensor


class DataLike(Protocol):
    """Anything with ``train`` and ``val`` splits (e.g. :class:`mnist_lessons.batches.MNISTSplits`)."""

    train: SplitLike
    val: SplitLike


# Learning-rate schedules, stepped once per epoch by ``fit``. Each is a small
# frozen dataclass, so a schedule prints readably in a table and compares equal
# to another with the same settings.


@dataclass(frozen=True)
class StepSchedule:
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs (``StepLR``)."""

    step_size: int
    gamma: float

    def __call__(self, optimizer: torch.optim.Optimizer, epochs: int) -> Scheduler:
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=self.step_size, gamma=self.gamma)


@dataclass(frozen=True)
class CosineSchedule:
    """Lower the learning rate along half a cosine, from its start towards ``eta_min`` over the run."""

    eta_min: float = 0.0

    def __call__(self, optimizer: torch.optim.Optimizer, epochs: int) -> Scheduler:
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs, eta_min=self.eta_min)


# The homework's settings (chapter 7), named once for the homework and its solution.

#: Batch sizes to compare.
BATCH_SIZES: tuple[int, ...] = (32, 64, 128, 256, 512)
#: Learning rates to compare, from too small to too large for SGD on this network.
LEARNING_RATES: tuple[float, ...] = (0.001, 0.01, 0.05, 0.1, 0.5, 1.0)
#: One activation for every hidden layer, or one per layer (the lesson's mixed stack).
ACTIVATION_CHOICES: tuple[str | tuple[str, ...], ...] = (
    "relu", "sigmoid", "tanh", "gelu", "leaky_relu", ("sigmoid", "tanh", "relu"),
)
#: The bonus: ``StepLR`` from learning rate 0.1, multiplied by 0.1 every 2 epochs, for 6 epochs.
SCHEDULE_LR: float = 0.1
SCHEDULE_EPOCHS: int = 6
STEP_SCHEDULE: StepSchedule = StepSchedule(step_size=2, gamma=0.1)


@dataclass(frozen=True)
class RunConfig:
    """Every setting of one training run of :class:`~mnist_lessons.models.NonlinearClassifier`.

    Defaults are the lesson's: 784-50-50-50-10, ReLU, dropout 0.2, SGD with
    learning rate 0.05, batches of 128 in a fixed order, 5 epochs, seed 55.
    ``train_size`` keeps only the first that many training images;
    ``schedule`` builds a learning-rate scheduler from ``(optimizer, epochs)``.

    >>> RunConfig(lr=0.1).lr
    0.1
    """

    hidden_sizes: tuple[int, ...] = HIDDEN_SIZES
    activation: ActivationSpec | tuple[ActivationSpec, ...] = "relu"
    dropout: float = DROPOUT
    optimizer: str = "sgd"
    lr: float = LEARNING_RATE
    weight_decay: float = 0.0
    batch_size: int = BATCH_SIZE
    epochs: int = EPOCHS
    seed: int = SEED
    shuffle: bool = False
    train_size: int | None = None
    schedule: Callable[[torch.optim.Optimizer, int], Scheduler] | None = None

    def __post_init__(self) -> None:
        # Lists are accepted for convenience and stored as tuples, so configs stay hashable.
        object.__setattr__(self, "hidden_sizes", tuple(self.hidden_sizes))
        if isinstance(self.activation, list):
            object.__setattr__(self, "activation", tuple(self.activation))
        for name in ("batch_size", "epochs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        lr_is_number = isinstance(self.lr, (int, float)) and not isinstance(self.lr, bool)
        if not lr_is_number or not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"learning rate lr must be a positive number, got {self.lr!r}")
        if not isinstance(self.weight_decay, (int, float)) or not 0 <= self.weight_decay < math.inf:
            raise ValueError(f"weight_decay must be a number >= 0, got {self.weight_decay!r}")
        if self.optimizer.lower() not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose one of: {', '.join(OPTIMIZERS)}")
        if self.train_size is not None and (
            isinstance(self.train_size, bool) or not isinstance(self.train_size, int) or self.train_size < 1
        ):
            raise ValueError(f"train_size must be None or an integer >= 1, got {self.train_size!r}")
        if self.schedule is not None and not callable(self.schedule):
            raise TypeError(f"schedule must be callable as schedule(optimizer, epochs), got {self.schedule!r}")

    def replace(self, **changes: Any) -> RunConfig:
        """A copy with some settings changed: ``config.replace(lr=0.1)``."""
        return replace(self, **changes)

    def differences(self, other: RunConfig) -> dict[str, Any]:
        """The settings of this config that differ from ``other``'s, by name.

        >>> RunConfig(lr=0.1, epochs=6).differences(RunConfig())
        {'lr': 0.1, 'epochs': 6}
        """
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) != getattr(other, f.name)}

    def model(self) -> nn.Module:
        """A freshly initialised network with these settings (seed it first)."""
        return NonlinearClassifier(self.hidden_sizes, self.activation, self.dropout)


@dataclass
class Run:
    """One finished training run: its settings, trained model and per-epoch history."""

    label: str
    config: RunConfig
    model: nn.Module
    history: History

    def summary(self) -> dict[str, float]:
        """Final train and validation accuracy, their gap, and mean seconds per epoch."""
        h = self.history
        return {
            "train_acc": h.train_acc[-1],
            "val_acc": h.val_acc[-1],
            "gap": h.train_acc[-1] - h.val_acc[-1],
            "seconds_per_epoch": sum(h.seconds) / len(h.seconds),
        }


def _check_data(data: DataLike) -> None:
    for part in ("train", "val"):
        split = getattr(data, part, None)
        if split is None or not hasattr(split, "x") or not hasattr(split, "y"):
            raise TypeError(
                f"data needs .train and .val splits with tensors .x and .y (e.g. mnist_splits()), "
                f"got {type(data).__name__}"
            )


def run(config: RunConfig, data: DataLike, label: str | None = None, log_every: int = 0) -> Run:
    """Seed, build, train and evaluate one network as ``config`` says, on ``data.train`` and ``data.val``.

    Accuracy on the training data is measured after each epoch in evaluation
    mode (dropout off), so train and validation numbers are comparable.

    >>> result = run(RunConfig(lr=0.1), mnist_splits())  # doctest: +SKIP
    >>> result.history.val_acc[-1]                       # doctest: +SKIP
    """
    if not isinstance(config, RunConfig):
        raise TypeError(f"run() needs a RunConfig, got {type(config).__name__}")
    _check_data(data)
    x, y = data.train.x, data.train.y
    if config.train_size is not None:
        if config.train_size > len(x):
            raise ValueError(f"train_size {config.train_size} is larger than the {len(x)} training images")
        x, y = x[: config.train_size], y[: config.train_size]
    seed_everything(config.seed)
    model = config.model()
    optimizer = make_optimizer(config.optimizer, model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = config.schedule(optimizer, config.epochs) if config.schedule is not None else None
    history = fit(
        model,
        TensorBatches(x, y, config.batch_size, shuffle=config.shuffle, seed=config.seed),
        TensorBatches(data.val.x, data.val.y, EVAL_BATCH_SIZE),
        optimizer,
        epochs=config.epochs,
        scheduler=scheduler,
        train_eval_loader=TensorBatches(x, y, EVAL_BATCH_SIZE),
        log_every=log_every,
    )
    return Run(label if label is not None else "run", config, model, history)


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
        """``{label: history}``, the form :func:`mnist_lessons.viz.plot_history` compares."""
        return {r.label: r.history for r in self.runs}

    def rows(self) -> list[dict[str, Any]]:
        """One dict per run: the setting's label, then :meth:`Run.summary`."""
        return [{self.name: r.label, **r.summary()} for r in self.runs]

    def to_frame(self, decimals: int | None = 2):
        """The rows as a pandas ``DataFrame`` indexed by the setting (needs pandas)."""
        return to_frame(self.rows(), self.name, decimals)

    def best(self, metric: str = "val_acc") -> Run:
        """The run with the highest final ``metric`` (validation accuracy unless told otherwise)."""
        if metric not in self.runs[0].summary():
            raise ValueError(f"unknown metric {metric!r}; choose one of: {', '.join(self.runs[0].summary())}")
        return max(self.runs, key=lambda r: r.summary()[metric])

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
        _check_data(data)
        self.data = data
        self.log_every = log_every
        self.runs: dict[RunConfig, Run] = {}

    def run(self, config: RunConfig, label: str | None = None) -> Run:
        """Train ``config`` unless it was trained before; return the run under ``label``."""
        if not isinstance(config, RunConfig):
            raise TypeError(f"run() needs a RunConfig, got {type(config).__name__}")
        if config not in self.runs:
            self.runs[config] = run(config, self.data, label, self.log_every)
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


def plot_schedules(histories: Mapping[str, History]) -> Figure:
    """Learning rate (log scale) and validation accuracy per epoch, one colour per run.

    >>> fig = plot_schedules(result.histories)  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    from .style import use_style

    if not histories:
        raise ValueError("give at least one run to plot")
    use_style()
    fig, (lr_ax, acc_ax) = plt.subplots(1, 2, figsize=(8.0, 3.6), layout="constrained")
    for i, (label, h) in enumerate(histories.items()):
        lr_ax.plot(h.epoch, h.lr, marker="o", markersize=4, color=f"C{i}", label=label)
        acc_ax.plot(h.epoch, h.val_acc, marker="o", markersize=4, color=f"C{i}", label=label)
    lr_ax.set(xlabel="Epoch", ylabel="Learning rate", yscale="log")
    acc_ax.set(xlabel="Epoch", ylabel="Validation accuracy (%)")
    for ax in (lr_ax, acc_ax):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.legend(*lr_ax.get_legend_handles_labels(), loc="outside lower center", ncols=min(4, len(histories)))
    return fig


__all__ = [
    "ACTIVATION_CHOICES",
    "BATCH_SIZES",
    "COLUMN_TITLES",
    "CosineSchedule",
    "Experiments",
    "LEARNING_RATES",
    "SCHEDULE_EPOCHS",
    "SCHEDULE_LR",
    "STEP_SCHEDULE",
    "RunConfig",
    "Run",
    "StepSchedule",
    "SweepResult",
    "describe",
    "plot_schedules",
    "to_frame",
    "run",
    "sweep",
]
