"""Early stopping done properly: keep the best checkpoint (``fit(..., on_epoch_end=checkpoint)``), restore it,
and score it beside the last epoch's weights (:func:`best_and_last`)."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from ..checks import check_choice, check_int, check_number
from .loops import Batches, Evaluation, History, evaluate, model_device

#: Metrics a checkpoint can watch, and whether lower is better.
MONITORS: dict[str, bool] = {"val_loss": True, "val_acc": False, "train_loss": True, "train_acc": False}


class BestCheckpoint:
    """Keeps the weights of the best epoch so far by ``monitor`` (ties keep the earlier); called after each epoch,
    it returns ``True`` once ``patience`` epochs in a row brought no improvement (never, if ``patience`` is None)."""

    def __init__(self, monitor: str = "val_loss", patience: int | None = None, min_delta: float = 0.0) -> None:
        self.monitor = check_choice("monitor", monitor, MONITORS)
        self.patience = None if patience is None else check_int("patience", patience, minimum=1)
        self.min_delta = check_number("min_delta", min_delta, minimum=0.0)
        self.lower_is_better = MONITORS[monitor]
        self.best_epoch: int | None = None
        self.best_value: float | None = None
        self.state: dict[str, torch.Tensor] | None = None
        self.epochs_without_improvement = 0

    def _improves(self, value: float) -> bool:
        if self.best_value is None:
            return True
        gain = self.best_value - value if self.lower_is_better else value - self.best_value
        return gain > self.min_delta

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
        device = model_device(model)
        model.load_state_dict({k: v.to(device) for k, v in self.state.items()})
        return model


class BestAndLast(NamedTuple):
    """The last epoch's and the best checkpoint's scores on the same data, and the best epoch."""

    last: Evaluation
    best: Evaluation
    best_epoch: int


def best_and_last(model: nn.Module, checkpoint: BestCheckpoint, loader: Batches,
                  loss_fn: nn.Module | None = None) -> BestAndLast:
    """Score ``model`` as it is (the last epoch), then restore the best checkpoint into it and score that."""
    loss_fn = loss_fn if loss_fn is not None else nn.CrossEntropyLoss()
    last = evaluate(loader, model, loss_fn)
    best = evaluate(loader, checkpoint.restore(model), loss_fn)
    return BestAndLast(last, best, checkpoint.best_epoch)


__all__ = ["MONITORS", "BestAndLast", "BestCheckpoint", "best_and_last"]
