"""Figures for the convolution chapter: filters, feature maps and robustness.

Like :mod:`mnist_lessons.viz`, every function applies
:func:`mnist_lessons.style.use_style` first and returns its
:class:`~matplotlib.figure.Figure`. Filters and filter outputs can be
negative, so they are drawn with a diverging colour map centred on zero
(blue below, red above, white at zero); images and ReLU outputs, which are
never negative, in grey levels.

>>> fig = show_filters(model.features[0][0].weight)  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from torch import Tensor, nn

from .style import use_style

#: Width of every figure, in inches: one book column (as in ``viz``).
WIDTH = 8.0
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


def show_filters(weight: Tensor, ncols: int = 8, title: str | None = None) -> Figure:
    """Draw the filters of a first convolution layer, weight shape (out, 1, k, k), each on its own scale.

    >>> fig = show_filters(model.features[0][0].weight)  # doctest: +SKIP
    """
    filters = _as_images(weight)
    n = len(filters)
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    use_style()
    cell = WIDTH / ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(WIDTH, nrows * cell + (0.4 if title else 0)),
                             squeeze=False, layout="constrained")
    for i, ax in enumerate(axes.flat):
        if i < n:
            _diverging(ax, filters[i])
            _bare(ax, f"{i}")
        else:
            ax.remove()
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
    use_style()
    cell = WIDTH / (ncols + first)
    fig, axes = plt.subplots(nrows, ncols + first, figsize=(WIDTH, nrows * cell * 1.15 + (0.4 if title else 0)),
                             squeeze=False, layout="constrained")
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
