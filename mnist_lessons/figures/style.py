"""The book's matplotlib look: the *ambivalent* style, set in IBM Plex.

Call :func:`use_style` once per notebook (the plotting helpers in
:mod:`mnist_lessons.figures.plots` and :mod:`mnist_lessons.figures.diagrams` call it for you).

Why we do not ``import ambivalent``
-----------------------------------
Importing ambivalent 0.3.0 runs, every time, at import:

* ``update_fonts()``, which asks Google Fonts (through ``requests``) for each
  IBM Plex family, prints ``Failed to download font: ...`` to stdout when
  offline and, when online, unpacks the zips into ``<venv>/lib/fonts``
  (``ambivalent.core`` also creates that folder on import);
* ``reload_styles()``, which copies its eleven ``.mplstyle`` files into the
  user's matplotlib config folder (``~/.config/matplotlib/stylelib``);
* imports IPython, for an HTML helper we never use.

Neutralising that (patching ``requests.get``, faking the zip files it checks
for) would still import IPython, still write into the home folder, and rest on
private details that may change in any release.  Yet the style itself is one
plain text file, ``stylefiles/ambivalent.mplstyle``.  So we locate the
installed package with :func:`importlib.util.find_spec` (which finds a package
without executing it), apply that file with :func:`matplotlib.style.use`, and
register the fonts the ``fontpkg-ibm-plex-*`` wheels ship with
:meth:`matplotlib.font_manager.FontManager.addfont`, which only adds them to
the in-memory font list.  Nothing is downloaded, printed or written (the only
file matplotlib itself ever writes is its usual font-list cache).

Light and dark pages
--------------------
ambivalent draws on a transparent background with every text in mid grey
``#838383``: about 3.8 : 1 on a white page and 4.7 : 1 on the book's dark one
(``#14181e``), below the 4.5 : 1 that WCAG AA asks of text on the light page.
No grey reaches 4.5 : 1 on both white and near-black (its relative
luminance would have to be at most 0.18 for white and at least 0.22 for
``#14181e``), so a figure must carry its own light background.
:data:`BOOK_RC` therefore gives figures an opaque white background and dark
grey text (:data:`TEXT_COLOR`, 7 : 1 on white): readable on the book's light
and dark pages, in a dark notebook theme and in a saved file alike. The
book's ``figures.css`` puts every image on the same white in dark mode and
keeps the theme from dimming it. Everything else (fonts, no spines or tick
marks, colours of the data) stays ambivalent's, plus a figure size for an
8-inch book column.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import matplotlib as mpl
import matplotlib.style
from matplotlib import font_manager

#: Families the ambivalent style names (sans for text, serif and condensed for
#: authors who ask for them), each shipped as a wheel by ``fontpkg-ibm-plex-*``.
FONT_FAMILIES: tuple[str, ...] = ("IBM Plex Sans", "IBM Plex Sans Condensed", "IBM Plex Serif")

#: Width of every figure, in inches: one book column. The one place it is set.
WIDTH: float = 8.0

#: Colour of every text in a figure: 7 : 1 on its white background (WCAG AA asks 4.5 : 1).
TEXT_COLOR = "#595959"
#: The background every figure is drawn and saved on.
FIGURE_BACKGROUND = "#ffffff"

#: Settings applied on top of ambivalent's: a figure size for a book column
#: (its 12.8 x 9.6 in is too big) and text that stays readable on light and
#: dark pages (see the module's docstring).
BOOK_RC: dict[str, object] = {
    "figure.figsize": (WIDTH, 5.0),
    "figure.facecolor": FIGURE_BACKGROUND,
    "savefig.facecolor": FIGURE_BACKGROUND,
    "savefig.transparent": False,
    **{key: TEXT_COLOR for key in (
        "text.color", "axes.titlecolor", "axes.labelcolor", "xtick.labelcolor", "ytick.labelcolor", "legend.labelcolor",
    )},
}


def style_file() -> Path:
    """Path of ambivalent's ``ambivalent.mplstyle``, found without importing ambivalent.

    >>> style_file().name
    'ambivalent.mplstyle'
    """
    spec = importlib.util.find_spec("ambivalent")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("the 'ambivalent' package is needed: pip install 'ambivalent>=0.3,<0.4'")
    return Path(next(iter(spec.submodule_search_locations))) / "stylefiles" / "ambivalent.mplstyle"


@functools.cache
def register_fonts() -> None:
    """Add the IBM Plex fonts installed as Python packages to matplotlib (once, in memory)."""
    import fontpkg  # registry of the fontpkg-* wheels; reads local metadata only

    for name in FONT_FAMILIES:
        for font in fontpkg.family(name).files:
            font_manager.fontManager.addfont(str(font.path))


def use_style() -> None:
    """Apply the book's style to every figure made from now on.

    >>> use_style()
    >>> mpl.rcParams["font.sans-serif"][0]
    'IBM Plex Sans'
    """
    register_fonts()
    matplotlib.style.use(style_file())
    mpl.rcParams.update(BOOK_RC)
