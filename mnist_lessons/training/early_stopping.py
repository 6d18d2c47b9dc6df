"""Early stopping done properly: keep the best checkpoint by validation loss, restore it, evaluate it.

:class:`BestCheckpoint` is called once per epoch with the model and the
history so far. It keeps a copy of the weights whenever the monitored metric
(validation loss by default) improves, and can say when to stop: after
``patience`` epochs without improvement. :func:`fit_keeping_best` trains with
:func:`mnist_lessons.training.loops.fit` one epoch at a time, calls the checkpoint
after each, and stops early if told to. :func:`best_and_last` then scores the
last-epoch weights and the restored best weights on the same data.

>>> checkpoint = BestCheckpoint(patience=5)                                            # doctest: +SKIP
>>> history = fit_keeping_best(model, train, val, optimizer, epochs=50, checkpoint=checkpoint)  # doctest: +SKIP
>>> best_and_last(model, checkpoint, splits.test.eval_batches())                       # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import fields
from typing import NamedTuple

import torch
from torch import nn

from .loops import Batches, Evaluation, History, evaluate, fit

#: Metrics a checkpoint can watch, and whether lower is better for each.
MONITORS: dict[str, bool] = {"val_loss": True, "val_acc": False, "train_loss": True, "train_acc": False}


class BestCheckpoint:
    """Keeps the weights of the best epoch so far by ``monitor`` (validation loss unless told otherwise).

    Call it after every epoch as ``checkpoint(model, history)``; it returns
    ``True`` when training should stop (``patience`` epochs in a row without
    improvement; never, when ``patience`` is ``None``). Ties keep the earlier epoch.
    """

    def __init__(self, monitor: str = "val_loss", patience: int | None = None, min_delta: float = 0.0) -> None:
        if monitor not in MONITORS:
            raise ValueError(f"unknown monitor {monitor!r}; choose one of: {', '.join(MONITORS)}")
        if patience is not None and (isinstance(patience, bool) or not isinstance(patience, int) or patience < 1):
            raise ValueError(f"patience must be None or an integer >= 1, got {patience!r}")
        if not min_delta >= 0:
            raise ValueError(f"min_delta must be >= 0, got {min_delta!r}")
        self.monitor = monitor
        self.patience = patience
        self.min_delta = min_delta
        self.lower_is_better = MONITORS[monitor]
        self.best_epoch: int | None = None
        self.best_value: float | None = None
        self.state: dict[str, torch.Tensor] | None = None
        self.epochs_without_improvement = 0

    def _improves(self, value: float) -> bool:
        if self.best_value is None:
            return True
        if self.lower_is_better:
            return value < self.best_value - self.min_delta
        return value > self.best_value + self.min_delta

    def __call__(self, model: nn.Module, history: History) -> bool:
        """Record the latest epoch of ``history``; keep ``model``'s weights if it is the best so far."""
        if len(history) == 0:
            raise ValueError("the checkpoint is called after an epoch: history is empty")
        value = getattr(history, self.monitor)[-1]
        if self._improves(value):
            self.best_epoch, self.best_value = history.epoch[-1], value
            self.state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
            self.epochs_without_improvement = 0
        else:
            self.epochs_without_improvement += 1
        return self.patience is not None and self.epochs_without_improvement >= self.patience

    def restore(self, model: nn.Module) -> nn.Module:
        """Load the best weights into ``model`` (in place) and return it."""
        if self.state is None:
            raise ValueError("no checkpoint kept yet: call the checkpoint after at least one epoch")
        device = next(model.parameters()).device
        model.load_state_dict({k: v.to(device) for k, v in self.state.items()})
        return model


def fit_keeping_best(
    model: nn.Module,
    train_loader: Batches,
    val_loader: Batches,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    checkpoint: BestCheckpoint,
    **fit_options,
) -> History:
    """:func:`~mnist_lessons.training.loops.fit` for up to ``epochs`` epochs, calling ``checkpoint`` after each.

    Stops early when the checkpoint says so. The model is left at the *last*
    epoch's weights; call ``checkpoint.restore(model)`` for the best ones.
    Other keyword arguments (``scheduler``, ``loss_fn``, ``train_eval_loader``)
    go to ``fit``.
    """
    if not isinstance(checkpoint, BestCheckpoint):
        raise TypeError(f"checkpoint must be a BestCheckpoint, got {type(checkpoint).__name__}")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be an integer >= 1, got {epochs!r}")
    fit_options.setdefault("log_every", 0)
    return fit(model, train_loader, val_loader, optimizer, epochs=epochs, on_epoch_end=checkpoint, **fit_options)


#: Accuracy (%) and mean loss of one set of weights on one dataset: what ``evaluate`` returns.
Scores = Evaluation


class BestAndLast(NamedTuple):
    """The last epoch's and the best checkpoint's scores on the same data, and the best epoch."""

    last: Scores
    best: Scores
    best_epoch: int


def best_and_last(model: nn.Module, checkpoint: BestCheckpoint, loader: Batches, loss_fn: nn.Module | None = None) -> BestAndLast:
    """Score ``model`` as it is (the last epoch), then restore the best checkpoint into it and score that.

    ``model`` holds the best weights afterwards.
    """
    loss_fn = loss_fn if loss_fn is not None else nn.CrossEntropyLoss()
    last = evaluate(loader, model, loss_fn)
    best = evaluate(loader, checkpoint.restore(model), loss_fn)
    return BestAndLast(last, best, checkpoint.best_epoch)


__all__ = ["MONITORS", "BestAndLast", "BestCheckpoint", "Scores", "best_and_last", "fit_keeping_best"]
