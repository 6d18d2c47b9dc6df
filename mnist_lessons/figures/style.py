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
ambivalent already suits a book with a dark mode, and we keep its choices:
transparent figure, axes, legend and saved-image backgrounds, no spines or
tick marks, and every text in mid grey ``#838383``, which contrasts with both a
white page (about 3.8 : 1) and a near-black one (about 4.4 : 1 on ``#1e1e1e``).
We only add :data:`BOOK_RC`: a figure size for an 8-inch book column.
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

#: Settings applied on top of ambivalent's: its 12.8 x 9.6 in default is too
#: big for a book column.
BOOK_RC: dict[str, object] = {"figure.figsize": (WIDTH, 5.0)}


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
