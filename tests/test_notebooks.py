"""The notebooks readers download or launch, and the links that launch them.

Fast tests check the cleaning, the install cell and the link builders in
``book/_ext/notebook_links.py`` against ``_config.yml``. Tests on the built site
(skipped without ``_build/html``, failed instead under
``MNIST_LESSONS_REQUIRE_BROWSER=1``, as in CI) check every chapter's download
and launch links. The ``notebooks`` group copies chapters' downloads out of
the repository and runs them with ``mnist_lessons`` installed from a freshly
built wheel, in a kernel that cannot import the repository's copy.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import site
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import nbformat
import pytest
import yaml

from test_site import PAGES, SITE, code_cells, source_of, unavailable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book" / "_ext"))

from notebook_links import (  # noqa: E402
    ADDED, HIDDEN_TAG, colab_link, github_parts, install_cell, jupyterhub_link, pip_requirement, reader_notebook,
    site_url,
)
from notebook_markdown import LEFTOVER  # noqa: E402

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
REPO_URL = CONFIG["repository"]["url"]
BRANCH = CONFIG["repository"].get("branch", "main")
LAUNCH = CONFIG["launch_buttons"]
NOTEBOOKS_BRANCH = CONFIG["sphinx"]["config"]["notebooks_branch"]
#: Chapters run outside the repository by the ``notebooks`` group.
RUN_OUTSIDE = ["book/learning", "book/prediction"]
CHAPTERS = [p for p in PAGES if (src := source_of(p)) is not None and code_cells(src)]


def stream(name: str, text: str) -> dict:
    return nbformat.v4.new_output("stream", name=name, text=text)


def code(source: str, outputs=(), tags=()) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source, outputs=list(outputs))
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def notebook(*cells) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Title"), *cells])


# --- cleaning a notebook for readers ------------------------------------------------


def test_streams_merged_in_place_by_myst_nb_appear_once():
    # MyST-NB merges the chunks into the first and leaves the rest behind.
    merged = stream("stdout", "epoch 1\nepoch 2\nepoch 3\n")
    nb = notebook(code("fit()", [merged, stream("stdout", "epoch 2\n"), stream("stdout", "epoch 3\n")]))
    out = reader_notebook(nb, REPO_URL, BRANCH).cells[-1].outputs
    assert [o["text"] for o in out] == ["epoch 1\nepoch 2\nepoch 3\n"]


def test_unmerged_chunks_are_joined_and_other_outputs_kept():
    figure = nbformat.v4.new_output("display_data", data={"text/plain": "<Figure>"})
    nb = notebook(code("fit()", [stream("stdout", "a\n"), figure, stream("stdout", "b\n"), stream("stderr", "w\n")]))
    out = reader_notebook(nb, REPO_URL, BRANCH).cells[-1].outputs
    assert [(o["output_type"], o.get("text")) for o in out] == [
        ("stream", "a\nb\n"), ("display_data", None), ("stream", "w\n")]


def test_hidden_build_checks_are_left_out():
    nb = notebook(code("x = 1"), code("assert x == 1\nglue('x', x)", tags=[HIDDEN_TAG]), code("print(x)"))
    sources = [c.source for c in reader_notebook(nb, REPO_URL, BRANCH).cells if c.cell_type == "code"]
    assert sources[1:] == ["x = 1", "print(x)"]


def test_a_hidden_cell_that_later_cells_need_is_an_error():
    nb = notebook(code("from myst_nb import glue", tags=[HIDDEN_TAG]), code("glue('n', 1)"))
    with pytest.raises(ValueError, match="defines 'glue'"):
        reader_notebook(nb, REPO_URL, BRANCH)


def test_install_cell_comes_first_once_and_explained():
    nb = reader_notebook(notebook(code("import mnist_lessons")), REPO_URL, BRANCH)
    again = reader_notebook(nb, REPO_URL, BRANCH)
    for cleaned in (nb, again):
        kinds = [(c.cell_type, bool(c.metadata.get(ADDED))) for c in cleaned.cells]
        assert kinds == [("markdown", True), ("code", True), ("markdown", False), ("code", False)]
        assert REPO_URL in cleaned.cells[0].source and "MNIST_DATA_DIR" in cleaned.cells[0].source
    nbformat.validate(again)


# --- the install cell -----------------------------------------------------------------


def run_install_cell(monkeypatch, importable: bool, pip_exit: int = 0) -> list[list[str]]:
    """Execute the install cell with importability and pip's exit faked; return pip's commands."""
    import importlib.util

    calls: list[list[str]] = []
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object() if importable else None)
    monkeypatch.setattr(subprocess, "run", lambda cmd, *a, **k: calls.append(cmd) or subprocess.CompletedProcess(cmd, pip_exit))
    exec(install_cell(pip_requirement(REPO_URL, BRANCH)), {})
    return calls


def test_install_cell_is_a_no_op_where_the_package_is_importable(monkeypatch):
    assert run_install_cell(monkeypatch, importable=True) == []


def test_install_cell_installs_from_the_configured_repository(monkeypatch):
    owner, name = github_parts(REPO_URL)
    calls = run_install_cell(monkeypatch, importable=False)
    assert calls == [[sys.executable, "-m", "pip", "install", "--quiet",
                      f"mnist-lessons @ git+https://github.com/{owner}/{name}.git@{BRANCH}"]]


def test_install_cell_says_what_to_do_offline(monkeypatch):
    with pytest.raises(RuntimeError, match=r"pip wheel --wheel-dir wheels .* --no-index --find-links wheels mnist-lessons"):
        run_install_cell(monkeypatch, importable=False, pip_exit=1)


@pytest.mark.slow
def test_the_offline_recipe_makes_a_wheel_folder_that_installs_and_runs_without_an_index(tmp_path):
    """P93: `pip download` of the git requirement saved a source archive, which then would not build offline.
    The cell's advice, `pip wheel` of this commit with its dependencies, gives a folder from which a fresh
    venv installs everything with --no-index; the command line then runs there, outside the repository.
    (The folder holds PyTorch's CUDA wheels, about 5 GB: they come from this machine's pip cache.)"""
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    requirement = f"mnist-lessons @ git+file://{ROOT}@{commit}"
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(wheels), requirement],
                   check=True, timeout=1200)
    names = sorted(p.name for p in wheels.iterdir())
    assert "mnist_lessons-0.1.0-py3-none-any.whl" in names and any(n.startswith("torch-") for n in names), names
    assert all(n.endswith(".whl") for n in names), f"not all wheels (an offline install would have to build): {names}"
    fresh = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", str(fresh)], check=True, timeout=300)
    python = fresh / "bin" / "python"
    offline = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    offline.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1")
    done = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-index", "--find-links", str(wheels),
                           "mnist-lessons"], env=offline, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr
    ran = subprocess.run([str(python), "-c", "import mnist_lessons, torch; print(mnist_lessons.__file__); "
                          "from mnist_lessons.models import build_model; print(build_model('mlp'))"],
                         cwd=tmp_path, env=offline, capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr
    assert str(fresh) in ran.stdout.splitlines()[0], ran.stdout
    shutil.rmtree(tmp_path)  # 10 GB of wheels and venv


def test_the_notebook_extra_exists():
    tomllib = pytest.importorskip("tomllib")

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert any(dep.startswith("myst-nb") for dep in project["optional-dependencies"]["notebook"])


# --- launch links -----------------------------------------------------------------


def test_repository_url_must_be_github():
    with pytest.raises(ValueError, match="https://github.com/OWNER/NAME"):
        github_parts("https://example.org/owner/name")


def test_launch_links_from_the_repository_url():
    fork = "https://github.com/someone/my-fork"
    assert colab_link("https://colab.research.google.com/", fork, "notebooks", "book/learning.ipynb") == (
        "https://colab.research.google.com/github/someone/my-fork/blob/notebooks/book/learning.ipynb")
    hub = urlsplit(jupyterhub_link("https://hub.example.edu/", fork, "notebooks", "book/learning.ipynb"))
    assert (hub.scheme, hub.netloc, hub.path) == ("https", "hub.example.edu", "/hub/user-redirect/git-pull")
    assert parse_qs(hub.query) == {"repo": [fork], "branch": ["notebooks"], "urlpath": ["tree/my-fork/book/learning.ipynb"]}


# --- the built site: downloads and launch links ---------------------------------------------


@pytest.fixture(scope="module")
def built():
    if not (SITE / "index.html").is_file():
        unavailable(f"no built site at {SITE}: run `make book` first")
    return SITE


def hrefs(page_html: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'href="([^"]+)"', page_html)]


def test_there_are_chapters():
    assert {"book/learning", "book/prediction"} <= set(CHAPTERS)


@pytest.mark.parametrize("page", CHAPTERS)
def test_chapter_has_launch_links_from_the_repository_url(built, page):
    links = hrefs((built / f"{page}.html").read_text(encoding="utf-8"))
    notebook = f"{page}.ipynb"
    colab = colab_link(LAUNCH["colab_url"], REPO_URL, NOTEBOOKS_BRANCH, notebook)
    hub = jupyterhub_link(LAUNCH["jupyterhub_url"], REPO_URL, NOTEBOOKS_BRANCH, notebook, LAUNCH["notebook_interface"])
    assert links.count(colab) == 1, f"{page}: no Colab link {colab}"
    assert links.count(hub) == 1, f"{page}: no JupyterHub link {hub}"
    assert REPO_URL in links, f"{page}: the repository button does not link {REPO_URL}"
    for link in (colab, hub):
        parts = urlsplit(link)
        assert parts.scheme == "https" and parts.netloc and " " not in link


@pytest.mark.parametrize("page", CHAPTERS)
def test_download_is_clean_and_complete(built, page):
    page_html = (built / f"{page}.html").read_text(encoding="utf-8")
    assert f"_sources/{page}.ipynb" in page_html, f"{page}: no .ipynb download button"
    nb = nbformat.read(built / "_sources" / f"{page}.ipynb", as_version=4)
    nbformat.validate(nb)
    cells = [c for c in nb.cells if c.cell_type == "code"]
    pinned = re.search(r'PACKAGE = "mnist-lessons @ git\+https://github\.com/\S+\.git@([0-9a-f]{40})"', cells[0].source)
    assert pinned, f"{page}: the first code cell is not the install cell pinned to a commit"
    assert not [c for c in cells if HIDDEN_TAG in c.metadata.get("tags", [])], f"{page}: hidden cells downloaded"
    assert any(c.outputs for c in cells[1:]), f"{page}: the download carries no outputs"
    text = html.unescape(re.sub(r"<[^>]+>", "", page_html))
    for index, cell in enumerate(cells):
        names = [o["name"] for o in cell.outputs if o["output_type"] == "stream"]
        assert len(names) == len(set(names)), f"{page} code cell {index}: a stream appears twice"
        for output in cell.outputs:
            if output["output_type"] == "stream":
                for line in filter(str.strip, output["text"].splitlines()):
                    # each printed line as often as the page shows it, never more
                    assert output["text"].count(line) <= max(1, text.count(line.strip())), (
                        f"{page} code cell {index} repeats {line!r}")


#: Code each chapter teaches, which its download must show as code (the page includes it from the package).
TAUGHT = {
    "book/learning": ["def train_one_epoch(", "def evaluate("],
    "book/multilayer": ["layers: list[nn.Module] = []"],  # the part of NonlinearClassifier the page shows
    "book/data-parallel": ["def setup("],
}


@pytest.mark.parametrize("page", CHAPTERS)
def test_download_reads_like_the_page(built, page):
    """No MyST left in the markdown: glued values are numbers, included code is code, references are links."""
    nb = nbformat.read(built / "_sources" / f"{page}.ipynb", as_version=4)
    markdown = "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    leftovers = sorted({m.group(0).strip() for m in LEFTOVER.finditer(markdown)})
    assert not leftovers, f"{page}: MyST syntax left in the download: {leftovers[:5]}"
    code = markdown + "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    for taught in TAUGHT.get(page, []):
        assert taught in code, f"{page}: the download does not show {taught!r}"
    links = re.findall(r"\]\((https?://[^)]+)\)", markdown)
    site = site_url(REPO_URL)
    for link in (link for link in links if link.startswith(site)):
        local = built / urlsplit(link).path.removeprefix(urlsplit(site).path)
        assert local.is_file(), f"{page}: link {link} names no page of the site"


# --- running downloads outside the repository -----------------------------------------------


def build_wheel(work: Path) -> Path:
    """A wheel of the package built from a copy of its sources (nothing written into the clone)."""
    src = work / "src"
    shutil.copytree(ROOT / "mnist_lessons", src / "mnist_lessons", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, src / name)
    wheels = work / "wheels"
    # Offline-friendly: use the installed setuptools when it is new enough for pyproject.toml.
    try:
        isolation = [] if int(version("setuptools").split(".")[0]) >= 77 else None
    except PackageNotFoundError:
        isolation = None
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    *(["--no-build-isolation"] if isolation is not None else []),
                    "--wheel-dir", str(wheels), str(src)], check=True)
    (wheel,) = wheels.glob("mnist_lessons-*.whl")
    return wheel


def isolated_kernel(work: Path, target: Path, data: Path) -> dict[str, str]:
    """A kernelspec whose Python skips site processing (so no editable install)
    and finds the installed libraries plus ``target``, nothing from the clone."""
    env = {
        "PYTHONPATH": os.pathsep.join([str(target), *site.getsitepackages()]),
        "PYTHONNOUSERSITE": "1",
        "MNIST_DATA_DIR": str(data),
        "OMP_NUM_THREADS": "1",
        "PIP_NO_INDEX": "1",  # the install cell must not run; if it did, it would fail
    }
    spec = work / "jupyter" / "kernels" / "outside"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-S", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "outside the clone", "language": "python", "env": env,
    }))
    return env


@pytest.mark.notebooks
def test_downloaded_chapters_run_outside_the_repository(built, tmp_path_factory, monkeypatch):
    from nbclient import NotebookClient

    data = Path(os.environ.get("MNIST_DATA_DIR") or ROOT / "data").resolve()
    raw = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    if not all((data / "MNIST" / "raw" / name).is_file() for name in raw):
        unavailable(f"MNIST is not in {data}: run `make data` (or set MNIST_DATA_DIR)")
    work = tmp_path_factory.mktemp("outside")
    assert ROOT not in work.parents
    target = work / "site-packages"
    wheel = build_wheel(work)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    "--target", str(target), str(wheel)], check=True)
    env = isolated_kernel(work, target, data)
    monkeypatch.setenv("JUPYTER_PATH", str(work / "jupyter"))

    # Proof of isolation: in the kernel's interpreter, without the wheel's folder
    # the package does not import at all (the clone's editable install is unseen) ...
    blocked = {**os.environ, **env, "PYTHONPATH": os.pathsep.join(site.getsitepackages())}
    probe = subprocess.run([sys.executable, "-S", "-c", "import mnist_lessons"], cwd=work, env=blocked,
                           capture_output=True, text=True)
    assert probe.returncode != 0 and "No module named 'mnist_lessons'" in probe.stderr, probe.stderr

    readers = work / "reader"
    readers.mkdir()
    for page in RUN_OUTSIDE:
        nb_path = readers / Path(page).with_suffix(".ipynb").name
        shutil.copy2(built / "_sources" / f"{page}.ipynb", nb_path)
        nb = nbformat.read(nb_path, as_version=4)
        # ... and with it, the package comes from the wheel.
        nb.cells.append(nbformat.v4.new_code_cell("import mnist_lessons\nprint(mnist_lessons.__file__)"))
        NotebookClient(nb, kernel_name="outside", timeout=600,
                       resources={"metadata": {"path": str(readers)}}).execute()
        install = next(c for c in nb.cells if c.metadata.get(ADDED) and c.cell_type == "code")
        assert install.outputs == [], f"{page}: the install cell did something: {install.outputs}"
        where = Path(nb.cells[-1].outputs[0]["text"].strip())
        assert target in where.parents, f"{page} imported mnist_lessons from {where}, not the wheel in {target}"


# --- the welcome page: chapters timed by the build, credits -------------------------------


def test_welcome_lists_every_chapter_with_its_run_time(built):
    welcome = (built / f"{PAGES[0]}.html").read_text(encoding="utf-8")
    table = welcome[welcome.index("chapter-times"):]
    table = table[: table.index("</table>")]
    rows = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, flags=re.S):
        link = re.search(r'href="([^"#]+)', row)
        if link:
            cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)]
            rows[Path(link.group(1)).stem] = cells
    assert list(rows) == [Path(page).name for page in PAGES[1:]], "the chapter table does not follow _toc.yml"
    for page in (p for p in CHAPTERS if p != PAGES[0]):
        _, reading, took, _, when = rows[Path(page).name]
        assert re.fullmatch(r"\d+ min( \+ \d+ going further)?", reading), f"{page}: no reading time ({reading!r})"
        assert re.fullmatch(r"\d+ s|under 1 s", took), f"{page}: no run time ({took!r})"
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", when), f"{page}: no date ({when!r})"


def test_welcome_credits_the_original_lesson(built):
    text = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", (built / f"{PAGES[0]}.html").read_text("utf-8"))))
    assert "Intro to NNs: MNIST" in text and "ALCF 2025 Intro to HPC Bootcamp" in text
    for author in ("Sam Foreman", "Marieme Ngom", "Huihuo Zheng", "Bethany Lusch", "Taylor Childers", "Asad Khan",
                   "Prasanna Balaprakash", "Corey Adams", "Kyle Felker", "Tanwi Mallick"):
        assert author in text, f"{author} is not credited"
    assert "https://github.com/saforem2/intro-hpc-bootcamp-2025" in hrefs((built / f"{PAGES[0]}.html").read_text("utf-8"))


# --- the Sphinx glue, on a fake page ------------------------------------------------------


def test_buttons_point_at_the_clean_notebook_and_the_notebooks_branch(tmp_path):
    from types import SimpleNamespace

    import ipynb_download

    outdir = tmp_path / "html"
    executed = tmp_path / "jupyter_execute" / "book" / "ch.ipynb"
    executed.parent.mkdir(parents=True)
    nbformat.write(notebook(code("fit()", [stream("stdout", "a\nb\n"), stream("stdout", "b\n")])), executed)
    options = {"repository_url": REPO_URL, "repository_branch": BRANCH, "launch_buttons": LAUNCH}
    app = SimpleNamespace(
        outdir=str(outdir), confdir=str(tmp_path), srcdir=str(tmp_path), config=SimpleNamespace(html_theme_options=options, notebooks_branch="nb"),
        env=SimpleNamespace(mystnb_config=SimpleNamespace(execution_mode="off", execution_cache_path="")),
    )
    # As the theme leaves them, minus the .ipynb entry (as if it stopped reading ipynb_source).
    context = {"pathto": lambda *a: "../_sources", "header_buttons": [
        {"type": "group", "label": "launch-buttons", "buttons": [
            {"type": "link", "text": "JupyterHub", "url": "theme"}, {"type": "link", "text": "Colab", "url": "theme"}]},
        {"type": "group", "label": "download-buttons", "buttons": [{"type": "link", "label": "download-source-button"}]},
    ]}
    ipynb_download.announce_ipynb(app, "book/ch", "page.html", context, None)
    assert context["ipynb_source"] == "book/ch.ipynb"
    ipynb_download.finish_buttons(app, "book/ch", "page.html", context, None)
    launch, download = context["header_buttons"]
    assert [b["url"] for b in launch["buttons"]] == [
        jupyterhub_link(LAUNCH["jupyterhub_url"], REPO_URL, "nb", "book/ch.ipynb", LAUNCH["notebook_interface"]),
        colab_link(LAUNCH["colab_url"], REPO_URL, "nb", "book/ch.ipynb")]
    assert download["buttons"][0]["url"] == "../_sources/book/ch.ipynb"
    written = nbformat.read(outdir / "_sources" / "book" / "ch.ipynb", as_version=4)
    assert [o["text"] for o in written.cells[-1].outputs] == ["a\nb\n"]  # merged in place by MyST-NB
    assert [p.name for p in (outdir / "_sources" / "book").iterdir()] == ["ch.ipynb"]  # no temporary file left
