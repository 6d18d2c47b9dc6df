"""Every plot of the book, in its style; each returns its Figure. Images: (N, 1, 28, 28) in [0, 1] or (X, y) batches."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

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

from ..checks import check_int
from ..config import NUM_CLASSES
from ..experiments.noise import SeedStudy
from ..experiments.polynomials import EXACT, PolynomialFits, true_curve
from ..models import Batches, as_batches, predict, predictions
from .style import WIDTH, use_style

WRONG = "#c62828"  # marks wrong predictions: a red with 5.6 : 1 contrast on the white figure background
ACTIVATION_TITLES = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "ReLU", "leaky_relu": "Leaky ReLU", "gelu": "GELU"}
DIVERGING = LinearSegmentedColormap.from_list("blue_white_red", ["#2196F3", "#ffffff", "#EF5350"])


def _line(i: int, label: str, marker: str | None = None) -> dict:
    return {"color": f"C{i}", "marker": marker or "osD^v"[i % 5], "markersize": 4, "label": label}


def _legend_below(fig: Figure, ax: Axes, n_lines: int, title: str | None = None) -> Figure:
    """``ax``'s legend below the panels (never over a curve), whole numbers on linear x axes, the title."""
    for panel in fig.axes:
        if panel.get_xscale() == "linear":
            panel.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=min(4, n_lines))
    if title:
        fig.suptitle(title)
    return fig


def _panels(n: int = 1, ncols: int | None = None, panel_width: float | None = None, panel_height: float = 3.6,
            title: str | None = None, **subplots) -> tuple[Figure, list[Axes]]:
    """``n`` panels in rows of ``ncols`` (by default one row, the book's width), sized per panel."""
    use_style()
    ncols = max(1, min(ncols or n, n))
    nrows = math.ceil(n / ncols)
    width = ncols * panel_width if panel_width else WIDTH
    height = nrows * panel_height + (0.4 if title else 0.0)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), squeeze=False, layout="constrained", **subplots)
    panels = list(axes.flat)
    for ax in panels[n:]:
        ax.remove()
    if title:
        fig.suptitle(title, fontsize=12)
    return fig, panels[:n]


def _bare(ax: Axes, title: str | None = None, **title_style) -> None:
    ax.set(xticks=[], yticks=[])
    ax.grid(False)
    if title:
        ax.set_title(title, fontsize=11, **title_style)


def _take(images: Tensor | Batches, labels: Tensor | Sequence[int] | None,
          n: int | None) -> tuple[Tensor, Tensor | None]:
    """The first ``n`` images and labels (all of a tensor when ``n`` is None; batches always get an ``n``)."""
    if isinstance(images, Tensor):
        return images[:n], None if labels is None else torch.as_tensor(labels)[:n]
    taken: list[tuple[Tensor, Tensor]] = []
    for batch in as_batches("show_digits()", images):
        taken.append(batch)
        if sum(len(x) for x, _ in taken) >= n:
            break
    xs, ys = zip(*taken)
    return torch.cat(xs)[:n], torch.cat(ys)[:n]


def _show_images(images: Tensor, titles: Sequence[str], ncols: int = 10, wrong: Sequence[bool] | None = None,
                 suptitle: str | None = None) -> Figure:
    if len(images) == 0:
        raise ValueError("there are no images to show: give at least one (n >= 1)")
    if len(titles) != len(images):
        raise ValueError(f"got {len(titles)} titles or labels for {len(images)} images; give one per image")
    cell = WIDTH / ncols
    fig, axes = _panels(len(images), ncols, cell, cell * 1.3, suptitle)
    for ax, image, title, bad in zip(axes, images.detach().cpu().float(), titles, wrong or [False] * len(images)):
        side = math.isqrt(image.numel())
        ax.imshow(image.reshape(side, side).numpy(), cmap="gray")
        _bare(ax, title, color=WRONG if bad else plt.rcParams["axes.titlecolor"])
        for spine in ax.spines.values():
            spine.set(visible=bad, color=WRONG, linewidth=2.5)
    return fig


def show_digits(images: Tensor | Batches, labels: Tensor | Sequence[int] | None = None, ncols: int = 10,
                titles: Sequence[str] | None = None, n: int | None = None) -> Figure:
    """Show digits in a grid, titled with their labels (or ``titles``); ``n``: all of a tensor, ``ncols`` of batches."""
    ncols = check_int("ncols", ncols, minimum=1)
    x, y = _take(images, labels, n if n is not None or isinstance(images, Tensor) else ncols)
    if titles is None:
        titles = [""] * len(x) if y is None else [str(int(label)) for label in y]
    return _show_images(x, titles, ncols)


def show_predictions(model: nn.Module, images: Tensor | Batches, labels: Tensor | Sequence[int] | None = None,
                     n: int = 10) -> Figure:
    """Show ``n`` digits titled "predicted (true)", wrong ones in red."""
    x, y = _take(images, labels, n)
    if y is None:
        raise ValueError("show_predictions needs labels: pass labels= or (X, y) batches")
    predicted, _ = predict(model, (x, y))
    wrong = (predicted != y).tolist()
    titles = [f"{int(p)} ({int(t)})" for p, t in zip(predicted, y)]
    return _show_images(x, titles, 10, wrong, f"predicted (true): {sum(wrong)} of {len(x)} wrong")


def show_failures(model: nn.Module, batches: Batches, n: int = 10) -> Figure:
    """Show the first ``n`` misclassified digits over all batches, titled "predicted (true)"."""
    images: list[Tensor] = []
    titles: list[str] = []
    seen = failed = 0
    for x, y, predicted in predictions(model, batches):
        misses = (predicted != y).nonzero().flatten()
        seen, failed = seen + len(y), failed + len(misses)
        for i in misses[: n - len(images)]:
            images.append(x[i])
            titles.append(f"{int(predicted[i])} ({int(y[i])})")
    summary = f"{failed:,} of {seen:,} images misclassified"
    if not images:
        use_style()
        fig = plt.figure(figsize=(WIDTH, 0.6), layout="constrained")
        fig.suptitle(summary, fontsize=12)
        return fig
    shown = f"first {len(images)}" if failed > len(images) else "all"
    return _show_images(torch.stack(images), titles, 10, [True] * len(images),
                        f"{summary} · {shown} shown as predicted (true)")


def label_colour(background: Any) -> str:
    """Black above a relative luminance of 0.179, where it contrasts more than white (>= 4.5 : 1), else white."""
    return "black" if sns.utils.relative_luminance(to_rgb(background)) > 0.179 else "white"


def plot_confusion_matrix(model: nn.Module, batches: Batches) -> Figure:
    """Heatmap of how often each true digit (rows) gets each predicted label (columns)."""
    predicted, true = predict(model, batches)
    k = max(NUM_CLASSES, int(torch.cat([predicted, true]).max()) + 1)
    counts = torch.bincount(true * k + predicted, minlength=k * k).reshape(k, k)
    fig, (ax,) = _panels(1, panel_height=6.4)
    blue = np.array(to_rgb("C0"))
    # Opaque cells, light to dark blue, so the counts read on any page; zeros are left out and show the page.
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
    """Accuracy (%) and loss per epoch: train and validation of one History, validation of a dict of them."""
    fig, (acc_ax, loss_ax) = _panels(2)
    if isinstance(history, Mapping):  # several runs: only validation curves are drawn, and the labels say so
        curves = [(str(label), run.epoch, run.val_acc, run.val_loss) for label, run in history.items()]
    else:
        curves = [("train", history.epoch, history.train_acc, history.train_loss),
                  ("validation", history.epoch, history.val_acc, history.val_loss)]
    for i, (label, epochs, acc, loss) in enumerate(curves):
        for ax, values in ((acc_ax, acc), (loss_ax, loss)):
            if len(values) == len(epochs) > 0:
                ax.plot(epochs, values, **_line(i, label, "o"))
    which = "Validation " if isinstance(history, Mapping) else ""
    acc_ax.set(xlabel="Epochs completed", ylabel=f"{which}accuracy (%)".capitalize())
    loss_ax.set(xlabel="Epochs completed", ylabel=f"{which}loss".capitalize())
    return _legend_below(fig, acc_ax, len(curves), title)


def plot_activations(names: Sequence[str] = ("sigmoid", "tanh", "relu", "leaky_relu", "gelu")) -> Figure:
    """Plot activation functions of ``torch.nn.functional`` and their derivatives (by autograd)."""
    if not names:
        raise ValueError("plot_activations() needs at least one activation name, e.g. ('relu', 'tanh')")
    fig, axes = _panels(len(names), 3, WIDTH / 3, 2.6)
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


def plot_schedules(histories: Mapping[str, Any]) -> Figure:
    """Learning rate (log scale) and validation accuracy per epoch, one colour per run."""
    if not histories:
        raise ValueError("give at least one run to plot")
    fig, (lr_ax, acc_ax) = _panels(2)
    for i, (label, h) in enumerate(histories.items()):
        lr_ax.plot(h.epoch, h.lr, **_line(i, label, "o"))
        acc_ax.plot(h.epoch, h.val_acc, **_line(i, label, "o"))
    lr_ax.set(xlabel="Epoch", ylabel="Learning rate used in the epoch", yscale="log")
    acc_ax.set(xlabel="Epochs completed", ylabel="Validation accuracy (%)")
    return _legend_below(fig, lr_ax, len(histories))


AXIS_TITLES = {"val_acc": "Validation accuracy (%)", "train_acc": "Training accuracy (%)",
               "val_loss": "Validation loss", "train_loss": "Training loss",
               "gap": "Training − validation accuracy (points)"}


def plot_seed_bands(studies: Mapping[str, SeedStudy], metrics: Sequence[str] = ("val_acc", "val_loss")) -> Figure:
    """One panel per metric: each study's mean per epoch (line) and mean ± one std over its seeds (band)."""
    if not studies:
        raise ValueError("plot_seed_bands() needs at least one SeedStudy")
    if not metrics or any(m not in AXIS_TITLES for m in metrics):
        raise ValueError(f"metrics must be some of {', '.join(AXIS_TITLES)}, got {list(metrics)}")
    fig, axes = _panels(len(metrics), panel_width=WIDTH / 2)
    for ax, metric in zip(axes, metrics):
        for i, (label, study) in enumerate(studies.items()):
            epochs, mean, std = study.curve(metric)
            ax.plot(list(epochs), mean, **_line(i, f"{label} ({len(study.seeds)} seeds)"))
            ax.fill_between(list(epochs), [m - s for m, s in zip(mean, std)], [m + s for m, s in zip(mean, std)],
                            color=f"C{i}", alpha=0.2, linewidth=0)
        ax.set(xlabel="Epochs completed", ylabel=AXIS_TITLES[metric])
    return _legend_below(fig, axes[0], min(3, len(studies)))


def plot_polynomial_fits(fits: PolynomialFits, degrees: Sequence[int] | None = None,
                         titles: Sequence[str] | None = None) -> Figure:
    """One panel per degree: the training points, the true curve and the fitted polynomial."""
    degrees = list(fits.degrees if degrees is None else degrees)
    missing = [d for d in degrees if d not in fits.fits]
    if missing:
        raise ValueError(f"degrees {missing} were not fitted; fitted: {fits.degrees}")
    fig, axes = _panels(len(degrees), panel_height=3.0, sharey=True)
    grid = np.linspace(0, 1, 400)
    for i, (ax, d) in enumerate(zip(axes, degrees)):
        ax.plot(grid, true_curve(grid), color="C2", linewidth=1.5, label="true curve")
        ax.plot(grid, fits.fits[d](grid), color="C0", linewidth=2, label="fitted polynomial")
        ax.plot(fits.x_train, fits.y_train, "o", color="C1", markersize=5, label="training points")
        ax.set(title=f"degree {d}" if titles is None else f"{titles[i]} (degree {d})", xlabel="x", ylim=(-2.0, 2.0))
    axes[0].set_ylabel("y")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=3)
    return fig


def plot_error_by_degree(fits: PolynomialFits) -> Figure:
    """Error (log scale) on the training points and on fresh points, against the degree of the polynomial."""
    fig, (ax,) = _panels(1, panel_height=3.4)
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


def plot_learning_curve(curve: Any) -> Figure:
    """A LearningCurve: train − validation gap and validation accuracy against training images (log axis)."""
    variants = list(getattr(curve, "variants", []))
    if not variants:
        raise ValueError("plot_learning_curve() needs a LearningCurve with at least one variant")
    fig, (gap_ax, acc_ax) = _panels(2)
    for ax, values, ylabel in ((gap_ax, curve.gaps, "Train − validation accuracy (points)"),
                               (acc_ax, curve.val_accs, "Validation accuracy (%)")):
        for i, variant in enumerate(variants):
            ax.plot(curve.sizes, values(variant), **_line(i, variant) | {"markersize": 5})
        ax.set(xscale="log", xlabel="Training images", ylabel=ylabel)
        ax.set_xticks(curve.sizes, [f"{n:,}" for n in curve.sizes])
        ax.minorticks_off()
    return _legend_below(fig, gap_ax, len(variants))


def _line_plot(curves: Mapping[str, tuple[Sequence[float], Sequence[float]]], height: float, **axes_settings) -> Figure:
    fig, (ax,) = _panels(1, panel_height=height)
    for i, (label, (x, y)) in enumerate(curves.items()):
        ax.plot(list(x), list(y), **_line(i, label))
    ax.set(**axes_settings)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend()
    return fig


def plot_gradient_norms(norms: Mapping[str, Sequence[float]]) -> Figure:
    """Gradient size per layer (log scale) for several networks, layer 1 next to the input."""
    if not norms:
        raise ValueError("give at least one list of gradient norms")
    curves = {label: (range(1, len(values) + 1), values) for label, values in norms.items()}
    return _line_plot(curves, 3.8, xlabel="Layer (1 = next to the input, last = output layer)",
                      ylabel="Size of the weight gradient", yscale="log")


def plot_shift_robustness(curves: Mapping[str, tuple[Sequence[float], Sequence[float]]],
                          xlabel: str = "Shift to the right (pixels)") -> Figure:
    """Accuracy (%) against how far the images were moved; ``curves`` maps a label to ``(shifts, accuracies)``."""
    return _line_plot(curves, 3.6, xlabel=xlabel, ylabel="Validation accuracy (%)")


def _as_images(t: Tensor) -> Tensor:
    """A (K, H, W) float CPU tensor from (H, W), (C, H, W) or (N, C, H, W) with one of N or C equal to 1."""
    if t.dim() not in (2, 3, 4):
        raise ValueError(f"expected images (H, W), (C, H, W) or (N, 1, H, W), got shape {tuple(t.shape)}")
    return t.detach().cpu().float().reshape(-1, *t.shape[-2:])


def _diverging(ax: Axes, image: Tensor, limit: float | None = None, title: str | None = None):
    """Show ``image`` blue-white-red around zero, framed so that white values stand out on a white page."""
    limit = limit if limit is not None else float(image.abs().max()) or 1.0
    for spine in ax.spines.values():
        spine.set(visible=True, color=plt.rcParams["text.color"], linewidth=0.8)
    _bare(ax, title)
    return ax.imshow(image.numpy(), cmap=DIVERGING, vmin=-limit, vmax=limit)


def show_convolution(image: Tensor, kernel: Tensor, output: Tensor, kernel_title: str = "filter") -> Figure:
    """Three panels: a digit, the filter slid over it (values written in), and what came out."""
    image, kernel, output = (_as_images(t)[0] for t in (image, kernel, output))
    fig, axes = _panels(3, panel_height=3.2, gridspec_kw={"width_ratios": [1, 1, 1.15]})
    axes[0].imshow(image.numpy(), cmap="gray", vmin=0, vmax=1)
    _bare(axes[0], "input digit")
    _diverging(axes[1], kernel, title=kernel_title)
    for (row, col), value in zip(torch.cartesian_prod(*map(torch.arange, kernel.shape)).tolist(), kernel.flatten()):
        axes[1].text(col, row, f"{value:g}", ha="center", va="center", fontsize=12, color="#1e1e1e")
    fig.colorbar(_diverging(axes[2], output, title="output"), ax=axes[2], shrink=0.8)
    return fig


def show_filters(weight: Tensor, ncols: int = 8, title: str | None = None, shared: bool = False) -> Figure:
    """Draw a first convolution's filters, (out, 1, k, k), each on its own scale (``shared``: one, and a colour bar)."""
    images = _as_images(weight)
    limit = (float(images.abs().max()) or 1.0) if shared else None
    cell = WIDTH / (min(ncols, len(images)) + (0.6 if shared else 0))
    fig, axes = _panels(len(images), ncols, cell, cell, title)
    for i, ax in enumerate(axes):
        shown = _diverging(ax, images[i], limit, f"{i}")
    if shared:
        fig.colorbar(shown, ax=axes, shrink=0.8, label="weight")
    return fig


def show_templates(weight: Tensor, ncols: int = 5) -> Figure:
    """A linear classifier's weights as one 28 × 28 image per class, on one colour scale centred at zero."""
    return show_filters(weight.reshape(len(weight), 28, 28) if weight.dim() == 2 else weight, ncols, shared=True)


def show_feature_maps(maps: Tensor, image: Tensor | None = None, ncols: int = 8, title: str | None = None) -> Figure:
    """A convolution layer's maps of one digit, (C, H, W), on one grey scale; ``image``: the digit in front."""
    maps = _as_images(maps)
    ncols = max(1, min(ncols, len(maps)))
    first = 0 if image is None else 1  # the digit's column
    columns = ncols + first
    cell = WIDTH / columns
    fig, panels = _panels(len(maps) + math.ceil(len(maps) / ncols) * first, columns, cell, cell * 1.15, title)
    if image is not None:
        digit_ax, *below = panels[::columns]
        digit_ax.imshow(_as_images(image)[0].numpy(), cmap="gray", vmin=0, vmax=1)
        _bare(digit_ax, "input")
        for ax in below:
            ax.remove()
        del panels[::columns]
    top = float(maps.max()) or 1.0
    for i, (ax, feature_map) in enumerate(zip(panels, maps)):
        ax.imshow(feature_map.numpy(), cmap="gray", vmin=0, vmax=top)
        _bare(ax, f"{i}")
    return fig
