"""Every plot of the book, in its style: data, predictions, training runs, sweeps,
regularisation and gradient experiments, convolutions.

Every function returns its :class:`~matplotlib.figure.Figure` (it never calls
``plt.show``) and applies :func:`mnist_lessons.figures.style.use_style` first.
Images are float tensors (N, 1, 28, 28) in [0, 1] with int64 labels (N,), given
either as tensors or as any iterable of ``(X, y)`` batches: a ``DataLoader``,
:class:`mnist_lessons.data.batches.TensorBatches`, a list, or one ``(X, y)`` pair.
Filters and filter outputs can be negative, so they are drawn with a diverging
colour map centred on zero (blue below, red above, white at zero).

>>> fig = plot_gradient_norms({"sigmoid": [1e-6, 1e-3, 1.0], "ReLU": [0.8, 0.9, 1.0]})
>>> float(fig.get_size_inches()[0]) == WIDTH
True
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

from ..checks import check_int, checked_batches
from ..config import NUM_CLASSES
from ..experiments.polynomials import EXACT, PolynomialFits, true_curve
from .style import WIDTH, use_style

Batch = tuple[Tensor, Tensor]
#: One ``(X, y)`` pair or an iterable of them.
Batches = Union[Batch, Iterable[Batch]]

#: Colour that marks wrong predictions (ambivalent's red).
WRONG = "#c62828"  # a red with 5.6 : 1 contrast on the white figure background
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
    ncols = check_int("ncols", ncols, minimum=1)
    if len(images) == 0:
        raise ValueError("there are no images to show: give at least one (n >= 1)")
    if len(titles) != len(images):
        raise ValueError(f"got {len(titles)} titles or labels for {len(images)} images; give one per image")
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

    >>> fig = show_digits(train_x[:10], train_y[:10])  # the first ten training digits  # doctest: +SKIP
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

    >>> preds, labels = predict(model, test_batches)  # doctest: +SKIP
    >>> accuracy = (preds == labels).float().mean()  # doctest: +SKIP
    """
    one_pair = isinstance(batches, (tuple, list)) and len(batches) == 2 and all(isinstance(t, Tensor) for t in batches)
    results = list(_predicted(model, batches if one_pair else checked_batches("predict()", batches)))
    if not results:
        raise ValueError("predict() got no batches: the loader is empty")
    return torch.cat([p for _, _, p in results]), torch.cat([y for _, y, _ in results])


def _title(predicted: Tensor, true: Tensor) -> str:
    """Title a digit ``"predicted (true)"``, e.g. ``"7 (2)"``."""
    return f"{int(predicted)} ({int(true)})"


def show_predictions(
    model: nn.Module, images: Tensor | Batches, labels: Tensor | Sequence[int] | None = None, n: int = 10
) -> Figure:
    """Show ``n`` digits titled "predicted (true)", wrong ones in red.

    >>> fig = show_predictions(model, test_x, test_y, n=10)  # doctest: +SKIP
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

    >>> fig = show_failures(model, test_batches)  # doctest: +SKIP
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


def label_colour(background: Any) -> str:
    """Black or white, whichever contrasts more with ``background``: at least 4.5 : 1 on any colour.

    >>> label_colour("white"), label_colour("#1f3a5f")
    ('black', 'white')
    """
    # Above a relative luminance of 0.179, black's contrast exceeds white's (and is >= 4.5 : 1).
    return "black" if sns.utils.relative_luminance(to_rgb(background)) > 0.179 else "white"


def plot_confusion_matrix(model: nn.Module, batches: Batches) -> Figure:
    """Heatmap of how often each true digit (rows) gets each predicted label (columns).

    >>> fig = plot_confusion_matrix(model, test_batches)  # doctest: +SKIP
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
                ax=ax, annot_kws={"fontsize": 9}, cbar_kws={"label": "Images (square-root scale)", "shrink": 0.8})
    for text, count in zip(ax.texts, counts[counts > 0].tolist()):  # both row-major
        text.set_color(label_colour(cmap(norm(count))))
    accuracy = 100 * counts.diagonal().sum() / counts.sum()
    ax.set(xlabel="Predicted label", ylabel="True label", title=f"Confusion matrix: {accuracy:.2f}% correct")
    ax.tick_params(rotation=0)
    ax.grid(False)
    return fig


def plot_history(history: Any, title: str | None = None) -> Figure:
    """Plot accuracy (%) and loss per epoch: train and validation of one run, or validation of several.

    ``history`` has list attributes ``epoch, train_loss, train_acc, val_loss,
    val_acc`` (a :class:`mnist_lessons.training.loops.History`); a dict
    ``{label: history}`` compares runs.

    >>> fig = plot_history({"linear": linear_history, "3 hidden layers": deep_history})  # doctest: +SKIP
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
    # Several runs: only validation curves are drawn, and the labels say so.
    which = "Validation " if isinstance(history, Mapping) else ""
    acc_ax.set_ylabel(f"{which}accuracy (%)".capitalize())
    loss_ax.set_ylabel(f"{which}loss".capitalize())
    return _finish_epoch_panels(fig, (acc_ax, loss_ax), len(curves), title)


def _finish_epoch_panels(fig: Figure, axes: Sequence[Axes], n_lines: int, title: str | None) -> Figure:
    """Whole epochs completed on every x axis, the first panel's legend below the panels, and the title."""
    for ax in axes:
        ax.set_xlabel("Epochs completed")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=min(4, n_lines))
    if title:
        fig.suptitle(title)
    return fig


def plot_activations(names: Sequence[str] = ("sigmoid", "tanh", "relu", "leaky_relu", "gelu")) -> Figure:
    """Plot activation functions of ``torch.nn.functional`` and their derivatives (by autograd).

    >>> fig = plot_activations(("relu", "gelu"))
    """
    if not names:
        raise ValueError("plot_activations() needs at least one activation name, e.g. ('relu', 'tanh')")
    fig, axes = _grid(len(names), 3, WIDTH / 3, 2.6)
    x = torch.linspace(-4, 4, 401, requires_grad=True)
    for i, (ax, name) in enumerate(zip(axes, names)):
        y = getattr(F, name)(x)
        (slope,) = torch.autograd.grad(y.sum(), x)  # elementwise, so d(sum)/dx_i = f'(x_i)
        ax.plot(x.detach().numpy(), y.detach().numpy(), color="C0", label="f(x)")
        ax.plot(x.detach().numpy(), slope.numpy(), color="C1", linestyle="--", label="f′(x)")
        ax.set(title=ACTIVATION_TITLES.get(name, name), xticks=range(-4, 5, 2), xlabel="x")
        if i % 3 == 0:  # the first panel of each row names the vertical axis
            ax.set_ylabel("f(x) and f′(x)")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside upper center", ncols=2)
    return fig


# ---------------------------------------------------------------------------
# Comparing runs: sweeps and schedules

def plot_schedules(histories: Mapping[str, Any]) -> Figure:
    """Learning rate (log scale) and validation accuracy per epoch, one colour per run.

    >>> fig = plot_schedules(result.histories)  # doctest: +SKIP
    """
    if not histories:
        raise ValueError("give at least one run to plot")
    use_style()
    fig, (lr_ax, acc_ax) = plt.subplots(1, 2, figsize=(WIDTH, 3.6), layout="constrained")
    for i, (label, h) in enumerate(histories.items()):
        lr_ax.plot(h.epoch, h.lr, marker="o", markersize=4, color=f"C{i}", label=label)
        acc_ax.plot(h.epoch, h.val_acc, marker="o", markersize=4, color=f"C{i}", label=label)
    lr_ax.set(xlabel="Epoch", ylabel="Learning rate used in the epoch", yscale="log")
    acc_ax.set(xlabel="Epochs completed", ylabel="Validation accuracy (%)")
    for ax in (lr_ax, acc_ax):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.legend(*lr_ax.get_legend_handles_labels(), loc="outside lower center", ncols=min(4, len(histories)))
    return fig


# ---------------------------------------------------------------------------
# Over- and underfitting, regularisation and gradients


def plot_polynomial_fits(
    fits: PolynomialFits, degrees: Sequence[int] | None = None, titles: Sequence[str] | None = None
) -> Figure:
    """One panel per degree: the training points, the true curve and the fitted polynomial.

    >>> from mnist_lessons.experiments.polynomials import fit_polynomials
    >>> fig = plot_polynomial_fits(fit_polynomials([1, 3, 11]), titles=["too simple", "about right", "too flexible"])
    """
    degrees = list(fits.degrees if degrees is None else degrees)
    missing = [d for d in degrees if d not in fits.fits]
    if missing:
        raise ValueError(f"degrees {missing} were not fitted; fitted: {fits.degrees}")
    use_style()
    fig, axes = plt.subplots(1, len(degrees), figsize=(WIDTH, 3.0), sharey=True, squeeze=False, layout="constrained")
    grid = np.linspace(0, 1, 400)
    for i, (ax, d) in enumerate(zip(axes.flat, degrees)):
        ax.plot(grid, true_curve(grid), color="C2", linewidth=1.5, label="true curve")
        ax.plot(grid, fits.fits[d](grid), color="C0", linewidth=2, label="fitted polynomial")
        ax.plot(fits.x_train, fits.y_train, "o", color="C1", markersize=5, label="training points")
        name = f"degree {d}" if titles is None else f"{titles[i]} (degree {d})"
        ax.set(title=name, xlabel="x", ylim=(-2.0, 2.0))
    axes.flat[0].set_ylabel("y")
    fig.legend(*axes.flat[0].get_legend_handles_labels(), loc="outside lower center", ncols=3)
    return fig


def plot_error_by_degree(fits: PolynomialFits) -> Figure:
    """Error (log scale) on the training points and on fresh points, against the degree of the polynomial."""
    use_style()
    fig, ax = plt.subplots(figsize=(WIDTH, 3.4), layout="constrained")
    errors = np.array(fits.train_error + fits.test_error)
    floor = errors[errors > EXACT].min() / 3  # exact fits (error ~0) would squash a log scale
    train = np.maximum(fits.train_error, floor)
    ax.plot(fits.degrees, train, marker="o", color="C0", linestyle="--", label="training points")
    ax.plot(fits.degrees, fits.test_error, marker="o", color="C1", label="fresh points")
    ax.axhline(fits.noise, color="C2", linewidth=1, linestyle=":", label="noise level")
    for degree, error in zip(fits.degrees, fits.train_error):
        if error <= EXACT:
            ax.plot(degree, floor, marker="v", markersize=9, color="C0")
            ax.annotate("exact fit: error 0", (degree, floor), xytext=(-10, -4), textcoords="offset points",
                        ha="right", va="top", color="C0")
            ax.set_ylim(bottom=floor / 4)
    ax.set(xlabel="Degree of the polynomial", ylabel="Root-mean-square error", yscale="log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend()
    return fig


def plot_generalisation(histories: Mapping[str, object], title: str | None = None) -> Figure:
    """Compare runs by how well they generalise: accuracy gap and validation loss per epoch.

    Left, training minus validation accuracy (percentage points); right, the
    validation loss, zoomed on the range where runs differ. ``histories`` maps a label to a
    :class:`mnist_lessons.training.loops.History` (anything with lists ``epoch,
    train_acc, val_acc, val_loss``).

    >>> fig = plot_generalisation({"no regulariser": plain.history, "dropout": dropout.history})  # doctest: +SKIP
    """
    if not histories:
        raise ValueError("give at least one run to plot")
    use_style()
    fig, (gap_ax, loss_ax) = plt.subplots(1, 2, figsize=(WIDTH, 3.6), layout="constrained")
    for i, (label, h) in enumerate(histories.items()):
        gap = [train - val for train, val in zip(h.train_acc, h.val_acc)]
        gap_ax.plot(h.epoch, gap, color=f"C{i}", label=label)
        loss_ax.plot(h.epoch, h.val_loss, color=f"C{i}", label=label)
    gap_ax.axhline(0, color="grey", linewidth=0.8)
    # Zoom the loss axis on where the runs differ; the first epochs' high losses run off the top.
    lowest = [min(h.val_loss) for h in histories.values()]
    loss_ax.set_ylim(0.9 * min(lowest), 2 * max(lowest))
    gap_ax.set_ylabel("Train − validation accuracy (points)")
    loss_ax.set_ylabel("Validation loss")
    return _finish_epoch_panels(fig, (gap_ax, loss_ax), len(histories), title)


def plot_learning_curve(curve: Any) -> Figure:
    """A learning curve: train − validation gap (left) and validation accuracy (right) against training images.

    ``curve`` is a :class:`mnist_lessons.experiments.curves.LearningCurve`; one
    line (own marker) per variant, on a logarithmic axis of training-set sizes.

    >>> fig = plot_learning_curve(learning_curve((1_000, 4_000), {"plain": config}, splits))  # doctest: +SKIP
    """
    variants = list(getattr(curve, "variants", []))
    if not variants:
        raise ValueError("plot_learning_curve() needs a LearningCurve with at least one variant")
    use_style()
    fig, (gap_ax, acc_ax) = plt.subplots(1, 2, figsize=(WIDTH, 3.6), layout="constrained")
    for i, variant in enumerate(variants):
        style = {"color": f"C{i}", "marker": "osD^v"[i % 5], "markersize": 5, "label": variant}
        gap_ax.plot(curve.sizes, curve.gaps(variant), **style)
        acc_ax.plot(curve.sizes, curve.val_accs(variant), **style)
    for ax in (gap_ax, acc_ax):
        ax.set_xscale("log")
        ax.set_xticks(curve.sizes, [f"{n:,}" for n in curve.sizes])
        ax.minorticks_off()
        ax.set_xlabel("Training images")
    gap_ax.set_ylabel("Train − validation accuracy (points)")
    acc_ax.set_ylabel("Validation accuracy (%)")
    fig.legend(*gap_ax.get_legend_handles_labels(), loc="outside lower center", ncols=min(4, len(variants)))
    return fig


def plot_gradient_norms(norms: Mapping[str, Sequence[float]]) -> Figure:
    """Gradient size per layer (log scale) for several networks, layer 1 next to the input.

    >>> fig = plot_gradient_norms({"sigmoid": [1e-6, 1e-3, 1.0], "ReLU": [0.8, 0.9, 1.0]})
    """
    if not norms:
        raise ValueError("give at least one list of gradient norms")
    use_style()
    fig, ax = plt.subplots(figsize=(WIDTH, 3.8), layout="constrained")
    markers = "osD^v"
    for i, (label, values) in enumerate(norms.items()):
        layers = np.arange(1, len(values) + 1)
        ax.plot(layers, values, marker=markers[i % len(markers)], color=f"C{i}", label=label)
    ax.set(xlabel="Layer (1 = next to the input, last = output layer)", ylabel="Size of the weight gradient",
           yscale="log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend()
    return fig


# ---------------------------------------------------------------------------
# Convolutions: filters, feature maps and robustness

#: Negative values blue, zero white, positive red: ambivalent's own blue and red.
DIVERGING = LinearSegmentedColormap.from_list("blue_white_red", ["#2196F3", "#ffffff", "#EF5350"])


def _as_images(t: Tensor) -> Tensor:
    """A (K, H, W) float CPU tensor from (H, W), (C, H, W) or (N, C, H, W) with one of N or C equal to 1."""
    t = t.detach().cpu().float()
    if t.dim() == 4:
        t = t.flatten(0, 1)
    if t.dim() == 2:
        t = t.unsqueeze(0)
    if t.dim() != 3:
        raise ValueError(f"expected images (H, W), (C, H, W) or (N, 1, H, W), got shape {tuple(t.shape)}")
    return t


def _bare(ax: Axes, title: str | None = None) -> None:
    ax.set(xticks=[], yticks=[])
    ax.grid(False)
    if title:
        ax.set_title(title, fontsize=11)


def _diverging(ax: Axes, image: Tensor, limit: float | None = None):
    """Show ``image`` blue-white-red around zero, framed so that white values stand out from a white page."""
    limit = limit if limit is not None else float(image.abs().max()) or 1.0
    for spine in ax.spines.values():
        spine.set(visible=True, color=plt.rcParams["text.color"], linewidth=0.8)
    return ax.imshow(image.numpy(), cmap=DIVERGING, vmin=-limit, vmax=limit)


def show_convolution(image: Tensor, kernel: Tensor, output: Tensor, kernel_title: str = "filter") -> Figure:
    """Three panels: a digit, the filter slid over it (values written in), and what came out.

    >>> fig = show_convolution(digit, kernel, F.conv2d(digit, kernel, padding=1))  # doctest: +SKIP
    """
    image, kernel, output = (_as_images(t)[0] for t in (image, kernel, output))
    use_style()
    fig, axes = plt.subplots(1, 3, figsize=(WIDTH, 3.2), layout="constrained",
                             gridspec_kw={"width_ratios": [1, 1, 1.15]})
    axes[0].imshow(image.numpy(), cmap="gray", vmin=0, vmax=1)
    _bare(axes[0], "input digit")
    _diverging(axes[1], kernel)
    for (row, col), value in zip(torch.cartesian_prod(*map(torch.arange, kernel.shape)).tolist(), kernel.flatten()):
        axes[1].text(col, row, f"{value:g}", ha="center", va="center", fontsize=12, color="#1e1e1e")
    _bare(axes[1], kernel_title)
    shown = _diverging(axes[2], output)
    _bare(axes[2], "output")
    fig.colorbar(shown, ax=axes[2], shrink=0.8)
    return fig


def show_templates(weight: Tensor, ncols: int = 5) -> Figure:
    """The weights of a linear classifier as one 28 × 28 image per class, on one colour scale centred at zero.

    Red pixels add to the class's score when inked, blue ones subtract, white
    ones do not matter; the colour bar gives the values.

    >>> fig = show_templates(model.linear.weight)  # doctest: +SKIP
    """
    templates = _as_images(weight.reshape(len(weight), 28, 28) if weight.dim() == 2 else weight)
    limit = float(templates.abs().max()) or 1.0
    cell = WIDTH / (min(ncols, len(templates)) + 0.6)
    fig, axes = _grid(len(templates), ncols, cell, cell)
    for i, ax in enumerate(axes):
        shown = _diverging(ax, templates[i], limit)
        _bare(ax, f"{i}")
    fig.colorbar(shown, ax=axes, shrink=0.8, label="weight")
    return fig


def show_filters(weight: Tensor, ncols: int = 8, title: str | None = None) -> Figure:
    """Draw the filters of a first convolution layer, weight shape (out, 1, k, k), each on its own scale.

    >>> fig = show_filters(model.features[0][0].weight)  # doctest: +SKIP
    """
    filters = _as_images(weight)
    cell = WIDTH / max(1, min(ncols, len(filters)))
    fig, axes = _grid(len(filters), ncols, cell, cell, 0.4 if title else 0.0)
    for i, ax in enumerate(axes):
        _diverging(ax, filters[i])
        _bare(ax, f"{i}")
    if title:
        fig.suptitle(title, fontsize=12)
    return fig


def show_feature_maps(maps: Tensor, image: Tensor | None = None, ncols: int = 8, title: str | None = None) -> Figure:
    """Draw the maps a convolution layer makes of one digit, shape (C, H, W), in rows of ``ncols``,
    with the digit itself in an extra first column if ``image`` is given.

    All maps share one grey scale (black 0, white the largest value), so a
    bright map is one where its filter responded strongly.

    >>> fig = show_feature_maps(first_layer_maps(model, digit), image=digit)  # doctest: +SKIP
    """
    maps = _as_images(maps)
    ncols = max(1, min(ncols, len(maps)))
    nrows = math.ceil(len(maps) / ncols)
    first = 1 if image is not None else 0
    columns = ncols + first
    cell = WIDTH / columns
    fig, panels = _grid(nrows * columns, columns, cell, cell * 1.15, 0.4 if title else 0.0)
    axes = np.array(panels, dtype=object).reshape(nrows, columns)
    top = float(maps.max()) or 1.0
    for i, ax in enumerate(axes[:, first:].flat):
        if i < len(maps):
            ax.imshow(maps[i].numpy(), cmap="gray", vmin=0, vmax=top)
            _bare(ax, f"{i}")
        else:
            ax.remove()
    if image is not None:
        axes[0, 0].imshow(_as_images(image)[0].numpy(), cmap="gray", vmin=0, vmax=1)
        _bare(axes[0, 0], "input")
        for ax in axes[1:, 0]:
            ax.remove()
    if title:
        fig.suptitle(title, fontsize=12)
    return fig


def plot_shift_robustness(curves: Mapping[str, tuple[Sequence[float], Sequence[float]]],
                          xlabel: str = "Shift to the right (pixels)") -> Figure:
    """Accuracy (%) against how far the images were moved, one line per model.

    ``curves`` maps a label to ``(shifts, accuracies)``.

    >>> fig = plot_shift_robustness({"plain": ([0, 1, 2], [99.1, 98.8, 95.0])})  # doctest: +SKIP
    """
    use_style()
    fig, ax = plt.subplots(figsize=(WIDTH, 3.6), layout="constrained")
    for i, (label, (shifts, accuracies)) in enumerate(curves.items()):
        ax.plot(list(shifts), list(accuracies), marker="o", markersize=4, color=f"C{i}", label=label)
    ax.set(xlabel=xlabel, ylabel="Validation accuracy (%)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend()
    return fig


def first_layer_maps(model: nn.Module, image: Tensor) -> Tensor:
    """What the first block of a :class:`~mnist_lessons.models.ConvClassifier` makes of one image,
    before pooling: convolution, batch norm and ReLU, shape (C, 28, 28). Eval mode, no gradients.

    >>> maps = first_layer_maps(model, splits.val.x[0])  # doctest: +SKIP
    """
    first = model.features[0]  # type: ignore[index]
    layers = nn.Sequential(*[m for m in first if not isinstance(m, nn.MaxPool2d)])
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            device = next(model.parameters()).device
            return layers(image.reshape(1, 1, *image.shape[-2:]).to(device))[0].cpu()
    finally:
        model.train(was_training)
