"""Bias and variance with polynomials (NumPy only): fits of several degrees to a few noisy samples of a known curve."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.polynomial import Polynomial

from ..checks import check_int, check_number
from ..config import SEED

#: Errors below this count as an exact fit (zero up to rounding).
EXACT = 1e-6


def true_curve(x: np.ndarray) -> np.ndarray:
    """The curve the noisy samples come from: one period of a sine on [0, 1]."""
    return np.sin(2 * np.pi * x)


@dataclass
class PolynomialFits:
    """Polynomials of several degrees fitted to the same noisy training points, and their root-mean-square errors
    (one per degree) on those points and on fresh points from the same curve with the same noise."""

    degrees: list[int]
    x_train: np.ndarray
    y_train: np.ndarray
    noise: float
    n_test: int
    fits: dict[int, Polynomial]
    train_error: list[float]
    test_error: list[float]

    def best_degree(self) -> int:
        """The degree with the lowest held-out error."""
        return self.degrees[int(np.argmin(self.test_error))]

    def error(self, degree: int) -> tuple[float, float]:
        """``(train, held-out)`` error of one degree."""
        i = self.degrees.index(degree)
        return self.train_error[i], self.test_error[i]


def _noisy_samples(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points with x uniform on [0, 1] and y = true_curve(x) plus Gaussian noise of std ``noise``."""
    x = np.sort(rng.uniform(0.0, 1.0, n))
    return x, true_curve(x) + rng.normal(0.0, noise, n)


def _rmse(poly: Polynomial, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.sqrt(np.mean((poly(x) - y) ** 2)))


def fit_polynomials(degrees: Sequence[int], n_train: int = 12, n_test: int = 1000, noise: float = 0.25,
                    seed: int = SEED) -> PolynomialFits:
    """Fit a least-squares polynomial of each degree to ``n_train`` noisy points of :func:`true_curve`.

    A degree-d polynomial has d + 1 coefficients: it needs d + 1 points, and passes through exactly that many.

    >>> fits = fit_polynomials([1, 3, 9])
    >>> fits.best_degree()
    3
    """
    degrees = [check_int("degrees", d) for d in degrees]
    if not degrees:
        raise ValueError("give at least one degree")
    n_train = check_int("n_train", n_train, minimum=2)
    n_test = check_int("n_test", n_test, minimum=1)
    check_number("noise", noise, minimum=0.0)
    for d in degrees:
        if d < 0 or d >= n_train:
            raise ValueError(f"degree {d} needs at least {d + 1} training points (have {n_train}); "
                             "use 0 <= degree < n_train")
    rng = np.random.default_rng(seed)
    x_train, y_train = _noisy_samples(n_train, noise, rng)
    x_test, y_test = _noisy_samples(n_test, noise, rng)
    fits = {d: Polynomial.fit(x_train, y_train, d) for d in degrees}  # each rescales x to [-1, 1]: well conditioned
    train_error = [_rmse(fits[d], x_train, y_train) for d in degrees]
    test_error = [_rmse(fits[d], x_test, y_test) for d in degrees]
    return PolynomialFits(degrees, x_train, y_train, noise, n_test, fits, train_error, test_error)
