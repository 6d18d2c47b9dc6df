"""Sphinx extension: folded code cells whose toggle is named by its own text.

MyST-NB writes ``<summary aria-label="Toggle hidden content">`` above a cell
tagged ``hide-input``, ``hide-output`` or ``hide-cell``, while the visible text
says "Show code cell output". A screen reader then announces words the reader
does not see, which axe-core reports as a serious ``label-content-name-mismatch``.
This extension draws the same ``<details>`` without the ``aria-label``, so the
summary's name is its visible prompt. Loaded through ``sphinx.local_extensions``.
"""

from __future__ import annotations

from html import escape

from myst_nb.sphinx_ import HideCodeCellNode


def visit_hidden_cell(self, node: HideCodeCellNode) -> None:
    classes = " ".join(node["classes"])
    self.body.append(f'<details class="admonition hide {classes}">\n<summary>\n')
    self.body.append(f'<p class="collapsed admonition-title">{escape(node["prompt_show"])}</p>\n')
    self.body.append(f'<p class="expanded admonition-title">{escape(node["prompt_hide"])}</p>\n')
    self.body.append("</summary>\n")


def depart_hidden_cell(self, node: HideCodeCellNode) -> None:
    self.body.append("</details>\n")


def setup(app):
    app.setup_extension("myst_nb")
    app.add_node(HideCodeCellNode, override=True, html=(visit_hidden_cell, depart_hidden_cell))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
