"""One recipe for every training run: a frozen, hashable :class:`RunConfig` describes it, :func:`run` trains it;
other loops (the data-parallel one) reuse its ``build_model``, ``build_optimizer`` and ``train_batches``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields, replace
import weakref
from typing import Any, Protocol

import torch
from torch import nn

from ..checks import check_choice, check_instance, check_int, check_number, check_widths
from ..config import (BATCH_SIZE, CONV_EVAL_BATCH_SIZE, DROPOUT, EPOCHS, EVAL_BATCH_SIZE, HIDDEN_SIZES, LEARNING_RATE,
                      MAX_SEED, SEED)
from ..data.augment import Augmentation
from ..data.batches import TensorBatches
from ..models import MODELS, ActivationSpec, activation_key, build_model, model_options
from .loops import OPTIMIZERS, Batches, History, TrainingDiverged, fit, make_optimizer, seed_everything
from ..schedules import Scheduler

__all__ = ["DataLike", "Run", "RunConfig", "TUNED_MLP", "run", "runs_on"]


class DataLike(Protocol):
    """Anything with ``train`` and ``val`` splits, each with tensors ``x`` and ``y`` (e.g. ``mnist_splits()``)."""

    train: Any
    val: Any


@dataclass(frozen=True)
class RunConfig:
    """Every setting of one training run; the defaults are the lesson's. Setting another network's option is an
    error. ``train_size`` keeps the first that many training images, ``train_eval_size`` measures training accuracy
    on the first that many (default: all)."""

    model: str = "mlp"
    hidden_sizes: tuple[int, ...] = HIDDEN_SIZES
    activation: ActivationSpec | tuple[ActivationSpec, ...] = "relu"
    dropout: float = DROPOUT
    channels: tuple[int, ...] = (16, 32)
    kernel_size: int = 3
    optimizer: str = "sgd"
    lr: float = LEARNING_RATE
    weight_decay: float = 0.0
    batch_size: int = BATCH_SIZE
    epochs: int = EPOCHS
    seed: int = SEED
    shuffle: bool = False
    augmentation: Augmentation | None = None
    train_size: int | None = None
    train_eval_size: int | None = None
    schedule: Callable[[torch.optim.Optimizer, int], Scheduler] | None = None

    def __post_init__(self) -> None:
        # Lists are accepted for convenience and stored as tuples, so configs stay hashable.
        for name, most in (("hidden_sizes", None), ("channels", 3)):
            object.__setattr__(self, name, check_widths(name, getattr(self, name), most))
        if isinstance(self.activation, list):
            object.__setattr__(self, "activation", tuple(self.activation))
        check_choice("model", self.model, MODELS)
        defaults = {f.name: f.default for f in fields(self)}
        accepted = model_options(self.model)
        for name in ("hidden_sizes", "activation", "dropout", "channels", "kernel_size"):
            if name not in accepted and getattr(self, name) != defaults[name]:
                raise ValueError(f"{name} is not an option of model {self.model!r} "
                                 f"(its options: {', '.join(accepted) or 'none'}); leave it at its default")
        # What the network would refuse when built is refused here, before a sweep trains its other runs.
        for activation in self.activation if isinstance(self.activation, tuple) else (self.activation,):
            if isinstance(activation, str):
                activation_key(activation)
        if isinstance(self.activation, tuple) and len(self.activation) != len(self.hidden_sizes):
            raise ValueError(f"activation lists one per hidden layer: got {len(self.activation)} "
                             f"for {len(self.hidden_sizes)} layers")
        for name in ("batch_size", "epochs"):
            object.__setattr__(self, name, check_int(name, getattr(self, name), minimum=1))
        object.__setattr__(self, "seed", check_int("seed", self.seed, minimum=0, maximum=MAX_SEED))
        check_number("learning rate lr", self.lr, minimum=0.0, strict=True)
        check_number("weight_decay", self.weight_decay, minimum=0.0)
        check_choice("optimizer", self.optimizer.lower() if isinstance(self.optimizer, str) else self.optimizer,
                     OPTIMIZERS)
        for name in ("train_size", "train_eval_size"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, check_int(name, getattr(self, name), minimum=1))
        if not isinstance(self.shuffle, bool):
            raise TypeError(f"shuffle must be True or False, got {self.shuffle!r}")
        if self.augmentation is not None and not isinstance(self.augmentation, Augmentation):
            raise TypeError(f"augmentation must be None or an Augmentation(max_shift, max_degrees), "
                            f"got {self.augmentation!r}")
        if self.schedule is not None and not callable(check_instance("schedule", self.schedule)):
            raise TypeError(f"schedule must be callable as schedule(optimizer, epochs), got {self.schedule!r}")

    def replace(self, **changes: Any) -> RunConfig:
        """A copy with some settings changed: ``config.replace(lr=0.1)``."""
        return replace(self, **changes)

    def differences(self, other: RunConfig) -> dict[str, Any]:
        """The settings of this config that differ from ``other``'s, by name: ``{'lr': 0.1}``."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) != getattr(other, f.name)}

    def model_options(self) -> dict[str, Any]:
        """The options this config gives its network, by name."""
        return {name: getattr(self, name) for name in model_options(self.model)}

    @property
    def eval_batch_size(self) -> int:
        """Images per evaluation step: ``EVAL_BATCH_SIZE``, or ``CONV_EVAL_BATCH_SIZE`` for the cnn."""
        return CONV_EVAL_BATCH_SIZE if self.model == "cnn" else EVAL_BATCH_SIZE

    def build_model(self) -> nn.Module:
        """A freshly initialised network with these settings (seed it first)."""
        return build_model(self.model, **self.model_options())

    def build_optimizer(self, params: Iterable[nn.Parameter]) -> torch.optim.Optimizer:
        """The optimiser with these settings, over ``params``."""
        return make_optimizer(self.optimizer, params, lr=self.lr, weight_decay=self.weight_decay)

    def train_batches(self, x: torch.Tensor, y: torch.Tensor) -> Batches:
        """Training batches of these settings: size, order (shuffled with the seed or not) and augmentation."""
        batches = TensorBatches(x, y, self.batch_size, shuffle=self.shuffle, seed=self.seed)
        return self.augmentation.wrap(batches, seed=self.seed) if self.augmentation is not None else batches


@dataclass
class Run:
    """One finished training run: its settings, trained model and per-epoch history."""

    label: str
    config: RunConfig
    model: nn.Module | None
    history: History
    diverged: bool = False  # a NaN or infinite loss stopped training; the model is then None

    def summary(self) -> dict[str, float]:
        """Final train and validation accuracy, their gap, and mean seconds per epoch (NaN when diverged)."""
        h = self.history
        if self.diverged or len(h) == 0:
            return dict.fromkeys(("train_acc", "val_acc", "gap", "seconds_per_epoch"), float("nan"))
        return {"train_acc": h.train_acc[-1], "val_acc": h.val_acc[-1], "gap": h.train_acc[-1] - h.val_acc[-1],
                "seconds_per_epoch": sum(h.seconds) / len(h.seconds)}


def _trained_on(data: DataLike) -> tuple[torch.Tensor, ...]:
    """The tensors ``run`` trains and validates on; a ``TypeError`` unless ``data`` has them."""
    try:
        return data.train.x, data.train.y, data.val.x, data.val.y
    except AttributeError:
        raise TypeError(f"data needs .train and .val splits with tensors .x and .y (e.g. mnist_splits()), "
                        f"got {type(data).__name__}") from None


#: Every run trained (or diverged) in this process, by config and tensor ids; weak references spot a reused id.
_RUNS: dict[tuple, tuple[tuple[weakref.ref, ...], Run | TrainingDiverged]] = {}


def run(config: RunConfig, data: DataLike, label: str = "run", log_every: int = 0,
        progress: Callable[[Batches], Batches] | None = None) -> Run:
    """Train one network as ``config`` says on ``data.train``, on the data's device, validated on ``data.val``.

    The same config on the same tensors is trained once per process and handed back again (under the new
    ``label``); one that diverged raises ``TrainingDiverged`` again. Tensors changed in place are not noticed.
    ``progress`` may wrap the training batches; training accuracy is measured in evaluation mode, as validation is.
    """
    if not isinstance(config, RunConfig):
        raise TypeError(f"run() needs a RunConfig, got {type(config).__name__}")
    tensors = _trained_on(data)
    key = (config, *map(id, tensors))
    held = _RUNS.get(key)
    if held is None or any(ref() is not t for ref, t in zip(held[0], tensors)):
        for stale in [k for k, (refs, _) in _RUNS.items() if any(ref() is None for ref in refs)]:
            del _RUNS[stale]
        try:
            done: Run | TrainingDiverged = _train(config, data, log_every, progress)
        except TrainingDiverged as err:
            done = err
        held = _RUNS[key] = (tuple(weakref.ref(t) for t in tensors), done)
    done = held[1]
    if isinstance(done, TrainingDiverged):
        raise TrainingDiverged(str(done), done.epoch, done.history)
    return done if done.label == label else replace(done, label=label)


def runs_on(data: DataLike) -> list[Run]:
    """Every run :func:`run` has trained on ``data`` in this process, in order (diverged ones marked so)."""
    tensors = _trained_on(data)
    return [done if isinstance(done, Run) else Run("run", key[0], None, done.history, diverged=True)
            for key, (refs, done) in _RUNS.items() if all(ref() is t for ref, t in zip(refs, tensors))]


def _train(config: RunConfig, data: DataLike, log_every: int, progress: Callable[[Batches], Batches] | None) -> Run:
    x, y = data.train.x, data.train.y
    if config.train_size is not None and config.train_size > len(x):
        raise ValueError(f"train_size {config.train_size} is larger than the {len(x)} training images")
    x, y = x[: config.train_size], y[: config.train_size]  # None: all of them
    seed_everything(config.seed)
    model = config.build_model().to(x.device)
    optimizer = config.build_optimizer(model.parameters())
    scheduler = config.schedule(optimizer, config.epochs) if config.schedule is not None else None
    train_batches = config.train_batches(x, y)
    if progress is not None:
        train_batches = progress(train_batches)
    val_batches = TensorBatches(data.val.x, data.val.y, config.eval_batch_size)
    n_eval = config.train_eval_size  # None: all of them
    train_eval_batches = TensorBatches(x[:n_eval], y[:n_eval], config.eval_batch_size)
    history = fit(model, train_batches, val_batches, optimizer, epochs=config.epochs, scheduler=scheduler,
                  train_eval_loader=train_eval_batches, log_every=log_every)
    return Run("run", config, model, history)


#: The convolutions chapter's stronger multilayer baseline, one of the homework's settings, fixed in advance.
TUNED_MLP: RunConfig = RunConfig(lr=0.3, epochs=6, train_eval_size=8_000)
