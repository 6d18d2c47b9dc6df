"""Verdicts: what a build's own runs say when two settings are compared.

A result is not portable (other hardware rounds differently, and a run drifts as if it had another seed), so the
book trains both settings from the same seeds and :func:`verdict` reports the **margin** (mean of the paired
differences), its **uncertainty** (95 % half-width ``t * std / sqrt(n)``) and the **outcome** (``"a"``, ``"b"``, or
``None`` when the interval holds zero). A hidden ``assert`` may guard only a :attr:`Verdict.robust` verdict.

>>> v = verdict("lr", "0.5", "0.1", [96.2, 96.3, 96.1], [95.6, 95.5, 95.7])
>>> v.outcome, v.text()
('a', '+0.60 ± 0.50 points')
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from ..checks import check_int
from ..outputs import write_atomically
from .paired import mcnemar_exact

#: Student's t, 97.5 % quantile, for 1 to 30 degrees of freedom (beyond: the normal 1.96).
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
         2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)

#: Environment variable naming the folder where a build records its verdicts (one file per page).
LEDGER_ENV: str = "MNIST_LESSONS_LEDGER"


def t_quantile(df: int) -> float:
    """Student's t 97.5 % quantile for ``df`` degrees of freedom (two-sided 95 %)."""
    df = check_int("degrees of freedom df", df, minimum=1)
    return _T975[df - 1] if df <= len(_T975) else 1.96


def mean_and_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (n - 1 in the denominator) of at least two values."""
    mean = math.fsum(values) / len(values)
    return mean, math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1))


@dataclass(frozen=True)
class Verdict:
    """A comparison of A with B: margin (A minus B, positive when A is better), its uncertainty, the outcome."""

    name: str
    a: str
    b: str
    margin: float
    uncertainty: float
    n: int
    unit: str = "points"
    method: str = "paired by seed"

    @property
    def outcome(self) -> Literal["a", "b"] | None:
        """``"a"`` or ``"b"`` when the 95 % interval excludes zero; ``None`` when the runs cannot tell them apart."""
        return "a" if self.margin > self.uncertainty else "b" if self.margin < -self.uncertainty else None

    @property
    def winner(self) -> str | None:
        return {"a": self.a, "b": self.b, None: None}[self.outcome]

    @property
    def robust(self) -> bool:
        """A decided verdict whose margin spans at least three uncertainties: safe to assert."""
        return self.outcome is not None and abs(self.margin) >= 3 * self.uncertainty

    def says(self, better: str = "beats", worse: str = "falls short of", tie: str = "cannot be told apart from") -> str:
        """The verb phrase for "A ... B" that this verdict supports."""
        return {"a": better, "b": worse, None: tie}[self.outcome]

    def text(self, decimals: int = 2) -> str:
        """``"+0.60 ± 0.25 points"``: the margin and its uncertainty."""
        return f"{self.margin:+.{decimals}f} ± {self.uncertainty:.{decimals}f} {self.unit}".rstrip()

    @property
    def label(self) -> str:
        """One word for tables: ``"A better"``, ``"B better"`` or ``"not told apart"``."""
        return {"a": f"{self.a} better", "b": f"{self.b} better", None: "not told apart"}[self.outcome]


def _finite(values: Iterable[float], what: str) -> list[float]:
    out = [float(v) for v in values]
    if any(not math.isfinite(v) for v in out):
        raise ValueError(f"{what} holds a value that is not finite (a diverged run?): {out}")
    return out


def verdict(name: str, a: str, b: str, a_values: Sequence[float], b_values: Sequence[float],
            higher_is_better: bool = True, unit: str = "points") -> Verdict:
    """Compare two settings from values paired by seed; ``higher_is_better=False`` (a loss) turns the sign."""
    av, bv = _finite(a_values, f"values of {a!r}"), _finite(b_values, f"values of {b!r}")
    if len(av) != len(bv):
        raise ValueError(f"{name}: {a!r} has {len(av)} values and {b!r} {len(bv)}; pair them by seed")
    if len(av) < 2:
        raise ValueError(f"{name}: a verdict needs at least 2 seeds to size its uncertainty, got {len(av)}")
    sign = 1.0 if higher_is_better else -1.0
    n = len(av)
    mean, std = mean_and_std([sign * (x - y) for x, y in zip(av, bv)])
    return Verdict(name, a, b, mean, t_quantile(n - 1) * std / math.sqrt(n), n, unit)


def compare_studies(name: str, a, b, higher_is_better: bool = True, unit: str = "points") -> Verdict:
    """:func:`verdict` for two :class:`~mnist_lessons.experiments.noise.SeedStudy`, paired on the seeds they share."""
    shared = [s for s in a.seeds if s in b.seeds]
    if len(shared) < 2:
        raise ValueError(f"{name}: {a.label!r} and {b.label!r} share {len(shared)} seeds; "
                         "train both from the same seeds")
    av, bv = dict(zip(a.seeds, a.values)), dict(zip(b.seeds, b.values))
    return verdict(name, a.label, b.label, [av[s] for s in shared], [bv[s] for s in shared], higher_is_better, unit)


def mcnemar_verdict(name: str, a: str, b: str, pred_a, pred_b, y) -> Verdict:
    """Two models on the same images: images only A gets right minus those only B does, ± ``1.96 * sqrt(b + c)``."""
    test = mcnemar_exact(pred_a, pred_b, y)
    return Verdict(name, a, b, float(test.b - test.c), 1.96 * math.sqrt(test.b + test.c), len(y), "images",
                   "McNemar, same images")


class Ledger:
    """The verdicts of one page, written to ``$MNIST_LESSONS_LEDGER`` when set (creating it empties the page's)."""

    def __init__(self, page: str, folder: str | os.PathLike | None = None) -> None:
        if not page or "/" in page or page.startswith("."):
            raise ValueError(f"page must be a plain name such as 'multilayer', got {page!r}")
        folder = folder if folder is not None else os.environ.get(LEDGER_ENV) or None
        self.page = page
        self.path = Path(folder) / f"{page}.json" if folder is not None else None
        self.verdicts: list[Verdict] = []
        self._write()

    def add(self, v: Verdict) -> Verdict:
        """Record ``v`` (its name must be new on this page) and return it."""
        if any(old.name == v.name for old in self.verdicts):
            raise ValueError(f"page {self.page!r} already has a claim named {v.name!r}; give each claim its own name")
        self.verdicts.append(v)
        self._write()
        return v

    def _write(self) -> None:
        if self.path is None:
            return
        text = json.dumps({"page": self.page, "claims": [asdict(v) for v in self.verdicts]}, indent=1)
        write_atomically(self.path, lambda tmp: tmp.write_text(text + "\n"))


def read_ledger(folder: str | os.PathLike) -> list[tuple[str, Verdict]]:
    """Every ``(page, verdict)`` recorded in ``folder``, pages in name order."""
    rows = []
    for path in sorted(Path(folder).glob("*.json")):
        try:
            entry = json.loads(path.read_text())
            rows += [(entry["page"], Verdict(**claim)) for claim in entry["claims"]]
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"{path} is not a claims ledger file ({err}); delete it and rebuild the page") from err
    return rows
