"""Experiments behind the chapter on over- and underfitting, regularisation and gradients.

Three small, self-contained experiments, each with a plot that returns its
:class:`~matplotlib.figure.Figure` in the book's style:

* **Bias and variance with polynomials** (NumPy only): fit polynomials of
  several degrees to a few noisy samples of a known curve, and measure the
  error on those samples and on fresh ones (:func:`fit_polynomials`,
  :func:`plot_polynomial_fits`, :func:`plot_error_by_degree`).
* **Comparing how runs generalise**: the gap between training and validation
  accuracy, and the validation loss, per epoch for several runs
  (:func:`plot_generalisation`).
* **Vanishing and exploding gradients**: the size of the gradient of every
  weight matrix of a deep, freshly initialised network, layer by layer
  (:func:`deep_network`, :func:`gradient_norms`, :func:`plot_gradient_norms`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from numpy.polynomial import Polynomial
from torch import nn

from .config import NUM_CLASSES, NUM_PIXELS, SEED
from .models import ActivationSpec, make_activation
from .style import use_style

#: Width of every figure, in inches: one book column (as in :mod:`mnist_lessons.viz`).
WIDTH = 8.0


# ---------------------------------------------------------------------------
# Bias and variance with polynomials


#: Errors below this count as an exact fit (zero up to rounding).
EXACT = 1e-6


def true_curve(x: np.ndarray) -> np.ndarray:
    """The curve the noisy samples come from: one period of a sine on [0, 1]."""
    return np.sin(2 * np.pi * x)


@dataclass
class PolynomialFits:
    """Polynomials of several degrees fitted to the same noisy training points.

    ``train_error`` and ``test_error`` are root-mean-square errors, one per
    degree, on the training points and on fresh points from the same curve
    with the same noise.
    """

    degrees: list[int]
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    noise: float
    fits: dict[int, Polynomial] = field(default_factory=dict)
    train_error: list[float] = field(default_factory=list)
    test_error: list[float] = field(default_factory=list)

    def best_degree(self) -> int:
        """The degree with the lowest held-out error."""
        return self.degrees[int(np.argmin(self.test_error))]

    def error(self, degree: int) -> tuple[float, float]:
        """``(train, held-out)`` error of one degree."""
        i = self.degrees.index(degree)
        return self.train_error[i], self.test_error[i]


def noisy_samples(
    n: int, noise: float, rng: np.random.Generator, curve: Callable[[np.ndarray], np.ndarray] = true_curve
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points with x uniform on [0, 1] and y = curve(x) plus Gaussian noise of std ``noise``."""
    x = np.sort(rng.uniform(0.0, 1.0, n))
    return x, curve(x) + rng.normal(0.0, noise, n)


def _rmse(poly: Polynomial, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.sqrt(np.mean((poly(x) - y) ** 2)))


def fit_polynomials(
    degrees: Sequence[int],
    n_train: int = 12,
    n_test: int = 1000,
    noise: float = 0.25,
    seed: int = SEED,
) -> PolynomialFits:
    """Fit a least-squares polynomial of each degree to ``n_train`` noisy points of :func:`true_curve`.

    A degree-d polynomial has d + 1 coefficients, so it needs at least d + 1
    points; with exactly that many it passes through every one of them.

    >>> fits = fit_polynomials([1, 3, 9])
    >>> fits.best_degree()
    3
    """
    degrees = [int(d) for d in degrees]
    if not degrees:
        raise ValueError("give at least one degree")
    if n_train < 2 or n_test < 1:
        raise ValueError(f"need n_train >= 2 and n_test >= 1, got {n_train} and {n_test}")
    if not noise >= 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    for d in degrees:
        if d < 0 or d >= n_train:
            raise ValueError(
                f"degree {d} needs at least {d + 1} training points (have {n_train}); use 0 <= degree < n_train"
            )
    rng = np.random.default_rng(seed)
    x_train, y_train = noisy_samples(n_train, noise, rng)
    x_test, y_test = noisy_samples(n_test, noise, rng)
    result = PolynomialFits(degrees, x_train, y_train, x_test, y_test, noise)
    for d in degrees:
        poly = Polynomial.fit(x_train, y_train, d)  # rescales x to [-1, 1] for a well-conditioned fit
        result.fits[d] = poly
        result.train_error.append(_rmse(poly, x_train, y_train))
        result.test_error.append(_rmse(poly, x_test, y_test))
    return result


def plot_polynomial_fits(
    fits: PolynomialFits, degrees: Sequence[int] | None = None, titles: Sequence[str] | None = None
) -> Figure:
    """One panel per degree: the training points, the true curve and the fitted polynomial.

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
    """Training and held-out error (log scale) against the degree of the polynomial."""
    use_style()
    fig, ax = plt.subplots(figsize=(WIDTH, 3.4), layout="constrained")
    errors = np.array(fits.train_error + fits.test_error)
    floor = errors[errors > EXACT].min() / 3  # exact fits (error ~0) would squash a log scale
    train = np.maximum(fits.train_error, floor)
    ax.plot(fits.degrees, train, marker="o", color="C0", linestyle="--", label="training points")
    ax.plot(fits.degrees, fits.test_error, marker="o", color="C1", label="held-out points")
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


# ---------------------------------------------------------------------------
# Comparing how runs generalise


def plot_generalisation(histories: Mapping[str, object], title: str | None = None) -> Figure:
    """Compare runs by how well they generalise: accuracy gap and validation loss per epoch.

    Left, training minus validation accuracy (percentage points); right, the
    validation loss, zoomed on the range where runs differ. ``histories`` maps a label to a
    :class:`mnist_lessons.train.History` (anything with lists ``epoch,
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
    gap_ax.set(xlabel="Epoch", ylabel="Train − validation accuracy (points)")
    loss_ax.set(xlabel="Epoch", ylabel="Validation loss")
    for ax in (gap_ax, loss_ax):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.legend(*gap_ax.get_legend_handles_labels(), loc="outside lower center", ncols=min(4, len(histories)))
    if title:
        fig.suptitle(title)
    return fig


# ---------------------------------------------------------------------------
# Vanishing and exploding gradients

#: Weight initialisations by name: PyTorch's default for ``nn.Linear``, Glorot
#: (Xavier) normal, meant for sigmoid and tanh, and He (Kaiming) normal, meant for ReLU.
INITS: tuple[str, ...] = ("default", "xavier", "he")


def deep_network(
    activation: ActivationSpec = "relu",
    depth: int = 10,
    width: int = 128,
    init: str = "default",
    scale: float = 1.0,
    seed: int = SEED,
) -> nn.Sequential:
    """A plain deep network: ``depth`` hidden layers of ``width`` units, then 10 outputs.

    ``init`` picks how weights are drawn (see :data:`INITS`; biases start at
    zero except with ``"default"``); ``scale`` then multiplies every weight,
    so ``scale=2`` is an initialisation twice too large.

    >>> [m.out_features for m in deep_network(depth=2, width=8) if isinstance(m, nn.Linear)]
    [8, 8, 10]
    """
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise ValueError(f"depth must be an integer >= 1, got {depth!r}")
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise ValueError(f"width must be an integer >= 1, got {width!r}")
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}; choose one of: {', '.join(INITS)}")
    if not (scale > 0 and math.isfinite(scale)):
        raise ValueError(f"scale must be a positive number, got {scale!r}")
    torch.manual_seed(seed)
    layers: list[nn.Module] = [nn.Flatten()]
    sizes = [NUM_PIXELS] + [width] * depth
    for fan_in, fan_out in zip(sizes, sizes[1:]):
        layers += [nn.Linear(fan_in, fan_out), make_activation(activation)]
    layers.append(nn.Linear(width, NUM_CLASSES))
    with torch.no_grad():
        for layer in layers:
            if not isinstance(layer, nn.Linear):
                continue
            if init == "xavier":
                nn.init.xavier_normal_(layer.weight)
                nn.init.zeros_(layer.bias)
            elif init == "he":
                nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
                nn.init.zeros_(layer.bias)
            layer.weight.mul_(scale)
    return nn.Sequential(*layers)


def gradient_norms(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> list[float]:
    """Size (Frobenius norm) of the cross-entropy gradient of each ``nn.Linear`` weight, input side first.

    One forward and backward pass on the batch ``(x, y)``; the model's
    parameters are not changed and their gradients are cleared afterwards.

    >>> norms = gradient_norms(deep_network("sigmoid"), x, y)  # doctest: +SKIP
    >>> norms[0] < norms[-1]                                   # doctest: +SKIP
    True
    """
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError("the model has no nn.Linear layers to measure")
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"x and y must be a non-empty batch of the same length, got {len(x)} and {len(y)}")
    model.zero_grad()
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    norms = [layer.weight.grad.norm().item() for layer in linears]
    model.zero_grad(set_to_none=True)
    return norms


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


__all__ = [
    "INITS",
    "PolynomialFits",
    "deep_network",
    "fit_polynomials",
    "gradient_norms",
    "noisy_samples",
    "plot_error_by_degree",
    "plot_gradient_norms",
    "plot_polynomial_fits",
    "plot_generalisation",
    "true_curve",
]
