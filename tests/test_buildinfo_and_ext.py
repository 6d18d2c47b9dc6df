"""The build-information page's helpers and the book's Sphinx extensions (book/_ext)."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from mnist_lessons import buildinfo

EXT = Path(__file__).resolve().parents[1] / "book" / "_ext"
sys.path.insert(0, str(EXT))

import ipynb_download  # noqa: E402
import sphinx_dedupe_scripts  # noqa: E402


def test_environment_names_versions_device_and_processor(monkeypatch):
    import torch

    monkeypatch.delenv("MNIST_LESSONS_DEVICE", raising=False)

    info = buildinfo.environment()
    assert info["PyTorch"] == torch.__version__
    assert info["Device the chapters ran on"] == "cpu"  # the default, whatever hardware is present
    assert f"{os.cpu_count()} cores" in info["Processor"]
    assert buildinfo.cpu_name()  # never empty


def test_environment_table_is_one_row_per_entry(monkeypatch):
    monkeypatch.setattr(buildinfo, "environment", lambda: {"Python": "3.x", "Device the chapters ran on": "cpu"})
    html = buildinfo.environment_table().data
    assert html.count("<tr>") == 2 and "<th>Python</th><td>3.x</td>" in html


def test_ipynb_download_points_chapters_at_the_configured_data(monkeypatch, tmp_path):
    connected, values = [], {}
    app = SimpleNamespace(confdir=str(tmp_path), connect=lambda *args, **kwargs: connected.append(args),
                          add_config_value=lambda name, default, *args, **kwargs: values.setdefault(name, default))
    assert ipynb_download.setup(app)["parallel_read_safe"] is True
    assert values["mnist_data_dir"] == "data"
    assert ("config-inited", ipynb_download.point_chapters_at_the_data) in connected
    assert "html-page-context" in {args[0] for args in connected}
    monkeypatch.setenv("MNIST_DATA_DIR", "restored after the test")  # records the value to restore
    monkeypatch.delenv("MNIST_DATA_DIR")
    ipynb_download.point_chapters_at_the_data(app, SimpleNamespace(mnist_data_dir="mnist"))
    assert os.environ["MNIST_DATA_DIR"] == str(tmp_path / "mnist")
    ipynb_download.point_chapters_at_the_data(app, SimpleNamespace(mnist_data_dir="elsewhere"))
    assert os.environ["MNIST_DATA_DIR"] == str(tmp_path / "mnist")  # the reader's (here: the first) setting wins


def script(filename, priority=500, **attributes):
    return SimpleNamespace(filename=filename, priority=priority, attributes=attributes)


def test_dedupe_scripts_keeps_the_first_of_each_script_in_order():
    inline_a, inline_b = script(None, body="const X = 1"), script("", body="const X = 1")
    keep = [script("a.js"), inline_a, script("b.js", defer="defer")]
    context = {"script_files": [*keep, inline_b, script("a.js")]}
    sphinx_dedupe_scripts._dedupe(None, "index", None, context, None)
    assert context["script_files"] == keep


@pytest.mark.parametrize("context", [{}, {"script_files": []}])
def test_dedupe_scripts_ignores_pages_without_scripts(context):
    before = dict(context)
    sphinx_dedupe_scripts._dedupe(None, "index", None, context, None)
    assert context == before


def test_the_package_docstring_lists_every_module():
    import pkgutil

    import mnist_lessons

    names = {m.name.removeprefix("mnist_lessons.") for m in pkgutil.walk_packages(mnist_lessons.__path__, "mnist_lessons.")}
    listed = set(re.findall(r"``([a-z_.]+)``", mnist_lessons.__doc__))
    missing = {n for n in names if not n.endswith("__main__") and n not in listed}
    assert not missing, f"add these to mnist_lessons/__init__.py's module list: {sorted(missing)}"
