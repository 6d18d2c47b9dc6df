"""The book's matplotlib look: the *ambivalent* style file (never imported: that downloads fonts), in IBM Plex."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import matplotlib as mpl
import matplotlib.style
from matplotlib import font_manager

#: Width of every figure, in inches: one book column. The one place it is set.
WIDTH: float = 8.0

#: On top of ambivalent's (mid-grey text, too faint, on no background): a white background and text at 7 : 1 on it.
BOOK_RC: dict[str, object] = {
    "figure.figsize": (WIDTH, 5.0), "figure.facecolor": "#ffffff", "savefig.facecolor": "#ffffff",
    "savefig.transparent": False,
    **{key: "#595959" for key in (
        "text.color", "axes.titlecolor", "axes.labelcolor", "xtick.labelcolor", "ytick.labelcolor", "legend.labelcolor",
    )},
}


@functools.cache
def register_fonts() -> None:
    """Add the IBM Plex fonts installed as Python packages to matplotlib (once, in memory)."""
    import fontpkg  # registry of the fontpkg-* wheels; reads local metadata only
    for name in ("IBM Plex Sans", "IBM Plex Sans Condensed", "IBM Plex Serif"):
        for font in fontpkg.family(name).files:
            font_manager.fontManager.addfont(str(font.path))


def use_style() -> None:
    """Apply the book's style to every figure made from now on."""
    spec = importlib.util.find_spec("ambivalent")  # finds the package without running it
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("the 'ambivalent' package is needed: pip install 'ambivalent>=0.3,<0.4'")
    register_fonts()
    matplotlib.style.use(Path(next(iter(spec.submodule_search_locations))) / "stylefiles" / "ambivalent.mplstyle")
    mpl.rcParams.update(BOOK_RC)
