"""Figures of data, predictions and training runs, in the book's style.

Every function returns its :class:`~matplotlib.figure.Figure` (it never calls
``plt.show``) and applies :func:`mnist_lessons.style.use_style` first. Images
are float tensors (N, 1, 28, 28) in [0, 1] with int64 labels (N,), given
either as tensors or as any iterable of ``(X, y)`` batches: a ``DataLoader``,
:class:`mnist_lessons.batches.TensorBatches`, a list, or one ``(X, y)`` pair.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Union

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
import torch
import torch.nn.functional as F
from matplotlib.axes import Axes
from matplotlib.colors import LinearSegmentedColormap, PowerNorm, to_rgb
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from torch import Tensor, nn

from .config import NUM_CLASSES
from .style import use_style

Batch = tuple[Tensor, Tensor]
#: One ``(X, y)`` pair or an iterable of them.
Batches = Union[Batch, Iterable[Batch]]

#: Width of every figure, in inches: one book column.
WIDTH = 8.0
#: Colour that marks wrong predictions (ambivalent's red).
WRONG = "C1"
#: Display names of the activation functions in ``torch.nn.functional``.
ACTIVATION_TITLES = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "ReLU", "leaky_relu": "Leaky ReLU", "gelu": "GELU"}


def _batches(data: Batches) -> Iterator[Batch]:
    """Yield ``(X, y)`` batches from one pair or an iterable of pairs (single samples become batches of one)."""
    if isinstance(data, (tuple, list)) and len(data) == 2 and all(isinstance(t, Tensor) for t in data):
        data = [data]
    for x, y in data:
        y = torch.as_tensor(y)
        yield (x.unsqueeze(0), y.unsqueeze(0)) if y.ndim == 0 else (x, y)


def _take(images: Tensor | Batches, labels: Tensor | Sequence[int] | None, n: int | None) -> tuple[Tensor, Tensor | None]:
    """The first ``n`` images and labels (all of them for tensors when ``n`` is None)."""
    if isinstance(images, Tensor):
        return images[:n], None if labels is None else torch.as_tensor(labels)[:n]
    n, count = (10 if n is None else n), 0
    xs: list[Tensor] = []
    ys: list[Tensor] = []
    for x, y in _batches(images):
        xs.append(x[: n - count])
        ys.append(y[: n - count])
        count += len(xs[-1])
        if count >= n:
            break
    return torch.cat(xs), torch.cat(ys)


def _grid(n: int, ncols: int, panel_width: float, panel_height: float, extra: float = 0.0) -> tuple[Figure, list[Axes]]:
    """A figure of ``n`` panels in rows of ``ncols``, sized per panel plus ``extra`` inches of height."""
    use_style()
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(ncols * panel_width, nrows * panel_height + extra), squeeze=False, layout="constrained"
    )
    panels = list(axes.flat)
    for ax in panels[n:]:
        ax.remove()
    return fig, panels[:n]


def _show_images(
    images: Tensor, titles: Sequence[str], ncols: int, wrong: Sequence[bool] | None = None, suptitle: str | None = None
) -> Figure:
    """Draw ``images`` in a grid, one title each; ``wrong`` ones get a red title and frame."""
    cell = WIDTH / ncols
    fig, axes = _grid(len(images), ncols, cell, cell * 1.3, 0.35 if suptitle else 0.0)
    wrong = wrong if wrong is not None else [False] * len(images)
    for ax, image, title, bad in zip(axes, images.detach().cpu().float(), titles, wrong):
        side = math.isqrt(image.numel())
        ax.imshow(image.reshape(side, side).numpy(), cmap="gray")
        ax.set(xticks=[], yticks=[])
        ax.set_title(title, fontsize=11, color=WRONG if bad else plt.rcParams["axes.titlecolor"])
        for spine in ax.spines.values():
            spine.set(visible=bad, color=WRONG, linewidth=2.5)
    if suptitle:
        fig.suptitle(suptitle, fontsize=12)
    return fig


def show_digits(
    images: Tensor | Batches,
    labels: Tensor | Sequence[int] | None = None,
    ncols: int = 10,
    titles: Sequence[str] | None = None,
    n: int | None = None,
) -> Figure:
    """Show digits in a grid, titled with their labels (or ``titles``).

    ``n`` defaults to all given tensors, or ``ncols`` images from batches.

    >>> fig = show_digits(train_x[:10], train_y[:10])  # the first ten training digits
    """
    x, y = _take(images, labels, n if n is not None or isinstance(images, Tensor) else ncols)
    if titles is None:
        titles = [""] * len(x) if y is None else [str(int(label)) for label in y]
    return _show_images(x, titles, ncols)


def _predicted(model: nn.Module, batches: Batches) -> Iterator[tuple[Tensor, Tensor, Tensor]]:
    """Yield ``(X, y, predicted)`` per batch on the CPU: eval mode, no gradients, mode restored after."""
    was_training = model.training
    device = next(model.parameters(), torch.empty(0)).device
    model.eval()
    try:
        for x, y in _batches(batches):
            with torch.no_grad():
                predicted = model(x.to(device)).argmax(dim=1).cpu()
            yield x.cpu(), y.cpu(), predicted
    finally:
        model.train(was_training)


def predict(model: nn.Module, batches: Batches) -> tuple[Tensor, Tensor]:
    """Return ``(predicted, true)`` labels over all batches (eval mode, no gradients).

    >>> preds, labels = predict(model, test_batches)
    >>> accuracy = (preds == labels).float().mean()
    """
    results = list(_predicted(model, batches))
    return torch.cat([p for _, _, p in results]), torch.cat([y for _, y, _ in results])


def _title(predicted: Tensor, true: Tensor) -> str:
    """Title a digit ``"predicted (true)"``, e.g. ``"7 (2)"``."""
    return f"{int(predicted)} ({int(true)})"


def show_predictions(
    model: nn.Module, images: Tensor | Batches, labels: Tensor | Sequence[int] | None = None, n: int = 10
) -> Figure:
    """Show ``n`` digits titled "predicted (true)", wrong ones in red.

    >>> fig = show_predictions(model, test_x, test_y, n=10)
    """
    x, y = _take(images, labels, n)
    if y is None:
        raise ValueError("show_predictions needs labels: pass labels= or (X, y) batches")
    predicted, _ = predict(model, (x, y))
    wrong = (predicted != y).tolist()
    titles = [_title(p, t) for p, t in zip(predicted, y)]
    return _show_images(x, titles, 10, wrong, f"predicted (true): {sum(wrong)} of {len(x)} wrong")


def show_failures(model: nn.Module, batches: Batches, n: int = 10) -> Figure:
    """Show the first ``n`` misclassified digits over all batches, titled "predicted (true)".

    >>> fig = show_failures(model, test_batches)
    """
    images: list[Tensor] = []
    titles: list[str] = []
    seen = failed = 0
    for x, y, predicted in _predicted(model, batches):
        misses = (predicted != y).nonzero().flatten()
        seen, failed = seen + len(y), failed + len(misses)
        for i in misses[: n - len(images)]:
            images.append(x[i])
            titles.append(_title(predicted[i], y[i]))
    summary = f"{failed:,} of {seen:,} images misclassified"
    if not images:
        use_style()
        fig = plt.figure(figsize=(WIDTH, 0.6), layout="constrained")
        fig.suptitle(summary, fontsize=12)
        return fig
    shown = f"first {len(images)}" if failed > len(images) else "all"
    suptitle = f"{summary} · {shown} shown as predicted (true)"
    return _show_images(torch.stack(images), titles, 10, [True] * len(images), suptitle)


def plot_confusion_matrix(model: nn.Module, batches: Batches) -> Figure:
    """Heatmap of how often each true digit (rows) gets each predicted label (columns).

    >>> fig = plot_confusion_matrix(model, test_batches)
    """
    predicted, true = predict(model, batches)
    k = max(NUM_CLASSES, int(torch.cat([predicted, true]).max()) + 1)
    counts = torch.bincount(true * k + predicted, minlength=k * k).reshape(k, k)
    use_style()
    fig, ax = plt.subplots(figsize=(WIDTH, 6.4), layout="constrained")
    blue = np.array(to_rgb("C0"))
    # Opaque cells, light to dark blue, so the counts read on any page; zeros
    # are left out and show the page itself.
    cmap = LinearSegmentedColormap.from_list("blues", [0.25 * blue + 0.75, 0.55 * blue])
    norm = PowerNorm(0.5, vmin=1, vmax=max(int(counts.max()), 1))
    sns.heatmap(counts.numpy(), mask=(counts == 0).numpy(), annot=True, fmt="d", cmap=cmap, norm=norm, square=True,
                ax=ax, annot_kws={"fontsize": 9}, cbar_kws={"label": "Images", "shrink": 0.8})
    for text, count in zip(ax.texts, counts[counts > 0].tolist()):  # both row-major
        text.set_color("#1e1e1e" if sns.utils.relative_luminance(cmap(norm(count))) > 0.25 else "white")
    accuracy = 100 * counts.diagonal().sum() / counts.sum()
    ax.set(xlabel="Predicted label", ylabel="True label", title=f"Confusion matrix: {accuracy:.2f}% correct")
    ax.tick_params(rotation=0)
    ax.grid(False)
    return fig


def plot_history(history: Any, title: str | None = None) -> Figure:
    """Plot accuracy (%) and loss per epoch: train and validation of one run, or validation of several.

    ``history`` has list attributes ``epoch, train_loss, train_acc, val_loss,
    val_acc`` (a :class:`mnist_lessons.train.History`); a dict
    ``{label: history}`` compares runs.

    >>> fig = plot_history({"linear": linear_history, "3 hidden layers": deep_history})
    """
    use_style()
    fig, (acc_ax, loss_ax) = plt.subplots(1, 2, figsize=(WIDTH, 3.6), layout="constrained")
    if isinstance(history, Mapping):
        curves = [(str(label), run.epoch, run.val_acc, run.val_loss) for label, run in history.items()]
    else:
        curves = [("train", history.epoch, history.train_acc, history.train_loss),
                  ("validation", history.epoch, history.val_acc, history.val_loss)]
    for i, (label, epochs, acc, loss) in enumerate(curves):
        for ax, values in ((acc_ax, acc), (loss_ax, loss)):
            if len(values) == len(epochs) > 0:
                ax.plot(epochs, values, marker="o", markersize=4, color=f"C{i}", label=label)
    acc_ax.set(xlabel="Epoch", ylabel="Accuracy (%)")
    loss_ax.set(xlabel="Epoch", ylabel="Loss")
    for ax in (acc_ax, loss_ax):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    acc_ax.legend()
    if title:
        fig.suptitle(title)
    return fig


def plot_activations(names: Sequence[str] = ("sigmoid", "tanh", "relu", "leaky_relu", "gelu")) -> Figure:
    """Plot activation functions of ``torch.nn.functional`` and their derivatives (by autograd).

    >>> fig = plot_activations(("relu", "gelu"))
    """
    fig, axes = _grid(len(names), 3, WIDTH / 3, 2.4)
    x = torch.linspace(-4, 4, 401, requires_grad=True)
    for ax, name in zip(axes, names):
        y = getattr(F, name)(x)
        (slope,) = torch.autograd.grad(y.sum(), x)  # elementwise, so d(sum)/dx_i = f'(x_i)
        ax.plot(x.detach().numpy(), y.detach().numpy(), color="C0", label="f(x)")
        ax.plot(x.detach().numpy(), slope.numpy(), color="C1", linestyle="--", label="f′(x)")
        ax.set(title=ACTIVATION_TITLES.get(name, name), xticks=range(-4, 5, 2))
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside upper center", ncols=2)
    return fig
