"""The book style: silent, offline, writes nothing, IBM Plex everywhere, legible on light and dark pages."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import warnings
from pathlib import Path

import matplotlib
import pytest
from matplotlib import font_manager
from matplotlib.colors import to_rgb

from mnist_lessons.figures.style import use_style

ROOT = Path(__file__).resolve().parents[1]

# Imports the style, applies it and draws text with the glyphs the figures use.
DRAW = """
import io
import mnist_lessons.figures.style as style
style.use_style()
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
fig = plt.figure()
fig.text(0.1, 0.5, "x₁ … x₇₈₄ → 10 outputs · W (10 × 784) f′(x)")
fig.savefig(io.BytesIO(), format="png")
"""


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter with the project importable; output goes to this process's fds."""
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]), **env}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment, check=True)


def test_import_and_use_style_print_nothing(capfd):
    run_python("import matplotlib.font_manager")  # a first matplotlib run may announce its font cache
    capfd.readouterr()
    run_python(DRAW)
    out, err = capfd.readouterr()
    assert out == ""
    assert err == ""


def test_no_network_and_no_ambivalent_import(capfd):
    probe = """
import json, socket, sys
attempts = []
def refuse(name):
    def fake(*args, **kwargs):
        attempts.append(name)
        raise OSError("network disabled by the test")
    return fake
socket.socket.connect = refuse("connect")
socket.socket.connect_ex = refuse("connect_ex")
socket.create_connection = refuse("create_connection")
socket.getaddrinfo = refuse("getaddrinfo")
""" + DRAW + """
print(json.dumps({"attempts": attempts, "modules": sorted(m for m in ("ambivalent", "requests", "IPython") if m in sys.modules)}))
"""
    run_python(probe)
    report = json.loads(capfd.readouterr().out)
    assert report == {"attempts": [], "modules": []}


def test_writes_nothing_outside_matplotlib_cache(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    run_python(DRAW, HOME=str(home), MPLCONFIGDIR=str(home / "mpl"),
               XDG_CONFIG_HOME=str(home / "config"), XDG_CACHE_HOME=str(home / "cache"))
    written = [p.relative_to(home).as_posix() for p in home.rglob("*") if p.is_file()]
    # matplotlib's own font-list cache is the only file allowed (no fonts, no copied style sheets).
    assert all(name.startswith("mpl/fontlist-") and name.endswith(".json") for name in written), written


def test_fonts_resolve_to_ibm_plex_without_warnings(caplog):
    use_style()
    with caplog.at_level(logging.WARNING, logger="matplotlib"):
        sans = font_manager.findfont(font_manager.FontProperties(family=["sans-serif"]))
        serif = font_manager.findfont(font_manager.FontProperties(family=["serif"]))
    assert "IBMPlexSans" in Path(sans).name
    assert "IBMPlexSerif" in Path(serif).name
    assert not caplog.records


TEXT_KEYS = ("text.color", "axes.titlecolor", "axes.labelcolor", "xtick.labelcolor", "ytick.labelcolor", "legend.labelcolor")
#: Page backgrounds of the book's theme (pydata-sphinx-theme --pst-color-background).
LIGHT_PAGE, DARK_PAGE = "#ffffff", "#14181e"
FIGURES_CSS = ROOT / "book" / "_static" / "figures.css"


def luminance(color) -> float:
    """WCAG 2 relative luminance."""
    channels = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in to_rgb(color)]
    return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]


def contrast(a, b) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def dark_mode_card() -> str:
    """The background figures.css gives images in dark mode."""
    import re

    rule = re.search(r'html\[data-theme="dark"\] \.bd-content img \{([^}]*)\}', FIGURES_CSS.read_text())
    assert rule, f"{FIGURES_CSS} has no dark-mode rule for images"
    background = re.search(r"background(?:-color)?:\s*(#[0-9a-fA-F]{6})", rule.group(1))
    assert background, f"the dark-mode image rule in {FIGURES_CSS} sets no background colour"
    return background.group(1)


def test_contrast_helper_matches_wcag():
    assert contrast("black", "white") == pytest.approx(21.0)
    assert contrast("#838383", "white") == pytest.approx(3.8, abs=0.05)  # ambivalent's grey: too light


def test_no_single_grey_reads_on_both_pages():
    # Why figures need their own background: every grey fails 4.5:1 on white or on the dark page.
    greys = [f"#{v:02x}{v:02x}{v:02x}" for v in range(256)]
    assert not [g for g in greys if contrast(g, LIGHT_PAGE) >= 4.5 and contrast(g, DARK_PAGE) >= 4.5]


def test_figure_text_meets_wcag_aa_on_every_background_it_is_shown_on():
    use_style()
    rc = matplotlib.rcParams
    # A figure is drawn and saved on an opaque background ...
    assert rc["savefig.transparent"] is False
    figure_background = rc["savefig.facecolor"]
    assert to_rgb(rc["figure.facecolor"]) == to_rgb(figure_background)
    # ... and shown on the light page, or on figures.css's card in dark mode.
    backgrounds = {"figure": figure_background, "light page": LIGHT_PAGE, "dark-mode card": dark_mode_card()}
    for key in TEXT_KEYS:
        for where, background in backgrounds.items():
            ratio = contrast(rc[key], background)
            assert ratio >= 4.5, f"{key} {rc[key]} on the {where} {background}: {ratio:.2f}:1 < 4.5:1"
    assert rc["figure.figsize"] == pytest.approx([8.0, 5.0])


def test_saved_figure_is_opaque_with_readable_text(tmp_path):
    """Draw and save a real figure: its background pixels are white and its text pixels dark."""
    import numpy as np
    from matplotlib.figure import Figure
    from matplotlib.image import imread

    use_style()
    fig = Figure(figsize=(2, 1), dpi=100)
    fig.text(0.05, 0.2, "MW", fontsize=40, weight="bold")  # stems wide enough to hold pure text colour
    fig.savefig(tmp_path / "f.png")
    pixels = imread(tmp_path / "f.png")
    assert pixels.shape[2] == 4 and np.all(pixels[..., 3] == 1.0), "the saved figure has transparent pixels"
    corner = pixels[1, -2, :3]
    darkest = pixels[..., :3].sum(axis=2).min() / 3
    assert np.allclose(corner, 1.0)
    assert contrast((darkest,) * 3, tuple(corner)) >= 4.5


def test_use_style_is_repeatable():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        use_style()
        use_style()
    assert matplotlib.rcParams["font.sans-serif"][0] == "IBM Plex Sans"
