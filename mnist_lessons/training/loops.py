"""Training and evaluation loops over any iterable of ``(X, y)`` batches: ``train_one_epoch``, ``evaluate``, ``fit``."""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from ..checks import check_choice, check_int, check_number, checked_batches
from ..config import EPOCHS, LEARNING_RATE, MAX_SEED, NUM_CLASSES

Batches = Iterable[tuple[torch.Tensor, torch.Tensor]]
log = logging.getLogger(__name__)

OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "sgd": torch.optim.SGD, "adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop, "adagrad": torch.optim.Adagrad,
}


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch (every device) so a run can be repeated."""
    seed = check_int("seed", seed, minimum=0, maximum=MAX_SEED)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def make_optimizer(name: str, params: Iterable[nn.Parameter], lr: float = LEARNING_RATE,
                   **kwargs) -> torch.optim.Optimizer:
    """Build an optimiser by name (sgd, adam, rmsprop, adagrad)."""
    lr = check_number("learning rate lr", lr, minimum=0.0, strict=True)
    key = check_choice("optimizer", name.lower() if isinstance(name, str) else name, OPTIMIZERS)
    return OPTIMIZERS[key](params, lr=lr, **kwargs)


def model_device(model: nn.Module) -> torch.device:
    """The device of ``model``'s parameters; a ``TypeError`` if it has none."""
    parameter = next(iter(model.parameters()), None)
    if parameter is None:
        raise TypeError(f"the model {type(model).__name__} has no parameters: give a network, e.g. LinearClassifier()")
    return parameter.device


def train_one_epoch(loader: Batches, model: nn.Module, loss_fn: nn.Module, optimizer: torch.optim.Optimizer) -> None:
    """One pass over the training data, one optimisation step per batch."""
    device = model_device(model)
    model.train()  # training mode: dropout is active
    for X, y in loader:
        X, y = X.to(device), y.to(device)
        pred = model(X)  # forward pass: ten scores per image
        loss = loss_fn(pred, y)  # how wrong the scores are, J(θ)
        loss.backward()  # backward pass: ∂J/∂θ for every parameter
        optimizer.step()  # θ ← θ − α ∂J/∂θ
        optimizer.zero_grad()  # gradients add up unless reset


class Evaluation(NamedTuple):
    """What :func:`evaluate` measured: accuracy in %, and mean loss per example."""

    accuracy: float
    loss: float


def evaluate(loader: Batches, model: nn.Module, loss_fn: nn.Module) -> Evaluation:
    """Return the accuracy (%) and mean loss per example over ``loader``, without training."""
    device = model_device(model)
    loader = checked_batches("evaluate()", loader, NUM_CLASSES)  # the first batch must be (images, labels 0-9)
    model.eval()  # evaluation mode: dropout is off
    total_loss = torch.zeros((), device=device)
    correct = torch.zeros((), dtype=torch.long, device=device)
    count = 0
    with torch.no_grad():  # no gradients needed: faster, less memory
        for X, y in loader:
            X, y = X.to(device), y.to(device)
            pred = model(X)
            total_loss += loss_fn(pred, y) * len(y)  # loss_fn averages over the batch
            correct += (pred.argmax(dim=1) == y).sum()
            count += len(y)
    if count == 0:
        raise ValueError("evaluate() got no batches: the loader is empty")
    return Evaluation(100.0 * correct.item() / count, total_loss.item() / count)


@dataclass
class History:
    """Per-epoch results of ``fit``: one entry per epoch in every list."""

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.epoch)

    def last(self) -> dict[str, float]:
        """The final epoch's metrics as a dict."""
        if not self.epoch:
            raise ValueError("the history is empty: train for at least one epoch first")
        return {key: values[-1] for key, values in asdict(self).items()}


class TrainingDiverged(ArithmeticError):
    """The loss became NaN or infinite after ``epoch`` (from 1); ``history`` holds every epoch before it."""

    def __init__(self, message: str, epoch: int, history: History) -> None:
        super().__init__(message)
        self.epoch, self.history = epoch, history


def fit(model: nn.Module, train_loader: Batches, val_loader: Batches, optimizer: torch.optim.Optimizer,
        epochs: int = EPOCHS, loss_fn: nn.Module | None = None,
        scheduler: torch.optim.lr_scheduler.LRScheduler | None = None, train_eval_loader: Batches | None = None,
        log_every: int = 1, on_epoch_end: Callable[[nn.Module, History], bool | None] | None = None) -> History:
    """Train for ``epochs`` epochs, evaluating on ``train_eval_loader`` (default: ``train_loader``) and ``val_loader``
    after each; ``on_epoch_end(model, history)`` returning True stops early. A NaN or infinite loss raises
    :class:`TrainingDiverged`; ``log_every=0`` keeps quiet."""
    epochs = check_int("epochs", epochs, minimum=1)
    loaders = {"train_loader": train_loader, "val_loader": val_loader, "train_eval_loader": train_eval_loader}
    for name, loader in loaders.items():
        if loader is not None and iter(loader) is loader:
            raise TypeError(f"{name} is a one-shot iterator (a generator?), but fit() goes over it every epoch: "
                            "give a list of batches, a DataLoader or TensorBatches")
    own = {id(p) for p in model.parameters()}
    if own and not any(id(p) in own for group in getattr(optimizer, "param_groups", ()) for p in group["params"]):
        raise ValueError(f"the optimizer ({type(optimizer).__name__}) holds none of this model's parameters, so "
                         "training would change nothing: build it from this model, e.g. "
                         "make_optimizer('sgd', model.parameters())")
    loss_fn = loss_fn if loss_fn is not None else nn.CrossEntropyLoss()
    train_eval_loader = train_eval_loader if train_eval_loader is not None else train_loader
    history = History()
    for epoch in range(1, epochs + 1):
        lr = optimizer.param_groups[0]["lr"]
        start = time.perf_counter()
        batches = checked_batches("fit() train_loader", train_loader, NUM_CLASSES) if epoch == 1 else train_loader
        train_one_epoch(batches, model, loss_fn, optimizer)
        train_acc, train_loss = evaluate(train_eval_loader, model, loss_fn)
        val_acc, val_loss = evaluate(val_loader, model, loss_fn)
        seconds = time.perf_counter() - start
        if not (math.isfinite(train_loss) and math.isfinite(val_loss)):
            raise TrainingDiverged(
                f"training diverged in epoch {epoch}: the loss became {train_loss} (validation {val_loss}); "
                f"the learning rate {lr:g} is probably too large: try a smaller one", epoch, history)
        if scheduler is not None:
            scheduler.step()
        row = {"epoch": epoch, "train_loss": train_loss, "train_acc": train_acc, "val_loss": val_loss,
               "val_acc": val_acc, "lr": lr, "seconds": seconds}
        for key, value in row.items():
            getattr(history, key).append(value)
        if log_every and ((epoch - 1) % log_every == 0 or epoch == epochs):
            log.info(f"epoch {epoch} | train loss {train_loss:.3f} acc {train_acc:.2f} % | "
                     f"val loss {val_loss:.3f} acc {val_acc:.2f} % | lr {lr:.3g} | {seconds:.2f} s")
        if on_epoch_end is not None and on_epoch_end(model, history):
            break
    return history


def check_learned(history: History, min_val_acc: float) -> None:
    """Raise if training went wrong (chapters call it): the loss must fall and accuracy reach a floor."""
    history.last()  # a ValueError if the history is empty
    if len(history) > 1 and not history.train_loss[-1] < history.train_loss[0]:
        raise AssertionError(f"training loss did not fall: {history.train_loss}")
    if history.val_acc[-1] < min_val_acc:
        raise AssertionError(f"validation accuracy {history.val_acc[-1]:.2f}% is below the floor {min_val_acc}%")

