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


def test_legible_on_light_and_dark_pages():
    use_style()
    rc = matplotlib.rcParams

    def luminance(color: str) -> float:
        channels = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in to_rgb(color)]
        return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]

    def contrast(a: str, b: str) -> float:
        high, low = sorted((luminance(a), luminance(b)), reverse=True)
        return (high + 0.05) / (low + 0.05)

    for key in ("text.color", "axes.labelcolor", "xtick.labelcolor", "ytick.labelcolor", "legend.labelcolor"):
        for page in ("white", "#1e1e1e"):
            assert contrast(rc[key], page) >= 3.5, (key, page)
    assert rc["savefig.transparent"] is True
    for key in ("figure.facecolor", "axes.facecolor", "savefig.facecolor"):
        assert rc[key] == "none", key
    assert rc["figure.figsize"] == pytest.approx([8.0, 5.0])


def test_use_style_is_repeatable():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        use_style()
        use_style()
    assert matplotlib.rcParams["font.sans-serif"][0] == "IBM Plex Sans"
