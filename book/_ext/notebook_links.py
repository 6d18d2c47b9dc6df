"""Reader-ready notebooks and the links that open them (no Sphinx here).

The repository URL is named once, in ``_config.yml`` (``repository.url``);
everything below derives from it: the pip requirement of a downloaded
notebook's install cell (pinned to the commit built), the site's address, and the JupyterHub (nbgitpuller) and Colab links,
which open the executed notebooks that the Pages workflow publishes to the
``notebooks`` branch as ``<page>.ipynb`` (for example ``book/learning.ipynb``).
"""

from __future__ import annotations

import ast
import copy
from urllib.parse import urlencode, urlsplit

import nbformat

#: Cells the site hides (build checks, glue): left out of the download.
HIDDEN_TAG = "remove-cell"
#: Marks the cells this module adds, so they are never added twice.
ADDED = "mnist_lessons_install"


def github_parts(repo_url: str) -> tuple[str, str]:
    """``(owner, name)`` of a ``https://github.com/owner/name`` URL; ValueError otherwise."""
    parts = urlsplit(repo_url.strip())
    path = [p for p in parts.path.split("/") if p]
    if parts.scheme != "https" or parts.netloc != "github.com" or len(path) != 2:
        raise ValueError(
            f"repository.url in _config.yml must look like https://github.com/OWNER/NAME, not {repo_url!r}"
        )
    return path[0], path[1].removesuffix(".git")


def site_url(repo_url: str) -> str:
    """Where the Pages workflow publishes the site: ``https://OWNER.github.io/NAME/``."""
    owner, name = github_parts(repo_url)
    return f"https://{owner.lower()}.github.io/{name}/"


def pip_requirement(repo_url: str, ref: str) -> str:
    """What a reader's notebook installs: the package at ``ref``, the commit the notebook was built from."""
    owner, name = github_parts(repo_url)
    return f"mnist-lessons @ git+https://github.com/{owner}/{name}.git@{ref}"


def colab_link(colab_url: str, repo_url: str, branch: str, notebook: str) -> str:
    """Colab opens notebooks straight from GitHub: ``<colab>/github/OWNER/NAME/blob/BRANCH/PATH``."""
    owner, name = github_parts(repo_url)
    return f"{colab_url.rstrip('/')}/github/{owner}/{name}/blob/{branch}/{notebook}"


def jupyterhub_link(hub_url: str, repo_url: str, branch: str, notebook: str, interface: str = "classic") -> str:
    """An nbgitpuller link: the hub clones BRANCH into a folder NAME, then opens NAME/PATH."""
    owner, name = github_parts(repo_url)
    prefix = {"classic": "tree", "jupyterlab": "lab/tree"}[interface]
    query = urlencode(
        {"repo": f"https://github.com/{owner}/{name}", "branch": branch, "urlpath": f"{prefix}/{name}/{notebook}"},
        safe="/",
    )
    return f"{hub_url.rstrip('/')}/hub/user-redirect/git-pull?{query}"


def install_cell(requirement: str) -> str:
    """Source of the code cell that makes a downloaded notebook run anywhere: it installs the package
    (nothing else: the cells need nothing more) when it is missing, and says how to do so offline."""
    return f'''import importlib
import importlib.util
import subprocess
import sys

PACKAGE = "{requirement}"
if importlib.util.find_spec("mnist_lessons") is None:
    if subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", PACKAGE]).returncode != 0:
        raise RuntimeError(
            f"pip could not install {{PACKAGE}}. Without internet: on a machine that has it, run "
            f"`pip wheel --wheel-dir wheels '{{PACKAGE}}'` (with `--extra-index-url "
            f"https://download.pytorch.org/whl/cpu` for the small CPU-only PyTorch), copy the wheels folder "
            f"here, and run `pip install --no-index --find-links wheels mnist-lessons`."
        )
    importlib.invalidate_caches()'''


INSTALL_NOTE = (
    "**Running this notebook yourself?** The next cell installs the book's package, "
    "`mnist_lessons`, from {repo_url} at the commit this notebook was built from, when it is "
    "missing (it does nothing where the package is already installed); MNIST is then fetched "
    "and checked on first use into the folder named by `MNIST_DATA_DIR`, else `./data`."
)


def _merge_streams(outputs: list) -> list:
    """Each stream (stdout, stderr) once per cell, as the page shows it.

    With ``nb_merge_streams`` MyST-NB merges a cell's stream chunks into the
    first chunk in place, and the executed notebook keeps the later chunks as
    well; those are dropped. Unmerged chunks are joined.
    """
    first: dict[str, dict] = {}
    later: dict[str, list[str]] = {}
    for output in outputs:
        if output.get("output_type") == "stream":
            if output["name"] in first:
                later[output["name"]].append(output["text"])
            else:
                first[output["name"]] = output
                later[output["name"]] = []
    for name, texts in later.items():
        tail = "".join(t.rstrip() + "\n" for t in texts if t.rstrip())
        if texts and not first[name]["text"].endswith(tail):
            first[name]["text"] = first[name]["text"].rstrip() + "\n" + tail
    return [o for o in outputs if o.get("output_type") != "stream" or first[o["name"]] is o]


def _names(source: str) -> tuple[set[str], set[str]]:
    """(names a cell binds, names it reads); IPython syntax is translated first."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        source = TransformerManager().transform_cell(source)
    except ImportError:
        pass
    bound, read = set(), set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name):
            (bound if isinstance(node.ctx, ast.Store) else read).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
    return bound, read


def reader_notebook(executed: nbformat.NotebookNode, repo_url: str, ref: str,
                    markdown=None) -> nbformat.NotebookNode:
    """The executed notebook as a reader should get it.

    Every output once; the cells the site removes (build checks) left out;
    each markdown cell passed through ``markdown`` (a function of its text), if given;
    an explained install cell first, before the title, pinned to ``ref`` (a commit). Raises ValueError if a left-out cell
    defines a name a later cell uses (leaving it out would break the notebook).
    """
    nb = copy.deepcopy(executed)
    kept, dropped = [], {}
    for index, cell in enumerate(nb.cells):
        if cell.get("metadata", {}).get(ADDED):
            continue
        if cell.cell_type == "code":
            bound, read = _names(cell.source)
            hidden = HIDDEN_TAG in cell.get("metadata", {}).get("tags", [])
            needed = sorted((read - bound) & set(dropped)) if not hidden else []
            if needed:
                raise ValueError(
                    f"cell {dropped[needed[0]]} is tagged {HIDDEN_TAG} but defines {needed[0]!r}, which "
                    f"cell {index} uses: define it in a visible cell"
                )
            if hidden:
                dropped.update(dict.fromkeys(bound, index))
                continue
            for name in bound:
                dropped.pop(name, None)
            cell.outputs = _merge_streams(cell.get("outputs", []))
        elif cell.cell_type == "markdown" and markdown is not None:
            cell.source = markdown(cell.source)
        kept.append(cell)
    if any(c.cell_type == "code" for c in kept):
        note = nbformat.v4.new_markdown_cell(INSTALL_NOTE.format(repo_url=repo_url), id="install-note")
        code = nbformat.v4.new_code_cell(install_cell(pip_requirement(repo_url, ref)), id="install")
        for cell in (note, code):
            cell.metadata[ADDED] = True
        kept[:0] = [note, code]
    nb.cells = kept
    return nb
