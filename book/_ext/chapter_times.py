"""The ``{chapter-times}`` directive: the book's chapters, in reading order, with their run times.

Nothing in it is typed: the chapters come from the table of contents, their
titles from their headings, and each time from MyST-NB's execution record,
the same one ``{nb-exec-table}`` shows. A chapter taken from the execution
cache keeps the time and date of the build that ran it, so the table prints
that date next to each time.
"""

from __future__ import annotations

from datetime import datetime

from docutils import nodes
from myst_nb.sphinx_ import NbMetadataCollector
from sphinx.addnodes import pending_xref
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.docutils import SphinxDirective

KEY = "chapter_times"


class ChapterTimesNode(nodes.General, nodes.Element):
    """Placeholder, replaced once every chapter has been read."""


class ChapterTimes(SphinxDirective):
    def run(self):
        NbMetadataCollector.set_doc_data(self.env, self.env.docname, KEY, True)
        return [ChapterTimesNode()]


def reading_order(env, root: str) -> list[str]:
    """Documents in the order the table of contents lists them, the root excluded."""
    order: list[str] = []

    def walk(doc: str) -> None:
        for child in env.toctree_includes.get(doc, []):
            if child not in order and child != root:
                order.append(child)
                walk(child)

    walk(root)
    return order


def _row(cells: list) -> nodes.row:
    row = nodes.row()
    for cell in cells:
        row += nodes.entry("", cell if isinstance(cell, nodes.paragraph) else nodes.paragraph(text=str(cell)))
    return row


def make_table(env, docname: str) -> nodes.table:
    data = NbMetadataCollector.get_doc_data(env)
    table = nodes.table(classes=["colwidths-auto"])
    group = nodes.tgroup(cols=3)
    table += group
    for _ in range(3):
        group += nodes.colspec(colwidth=1)
    head = nodes.thead()
    head += _row(["Chapter", "Time to run", "Executed"])
    group += head
    body = nodes.tbody()
    group += body
    for chapter in reading_order(env, env.config.root_doc):
        runs = (data.get(chapter) or {}).get("exec_data") or {}
        link = pending_xref(refdoc=docname, reftarget="/" + chapter, reftype="doc", refdomain="std",
                            refexplicit=False, refwarn=True)
        link += nodes.inline(text=env.titles[chapter].astext() if chapter in env.titles else chapter)
        runtime = runs.get("runtime")
        took = "not executed" if runtime is None else f"{runtime:.0f} s" if runtime >= 1 else "under 1 s"
        when = datetime.fromtimestamp(runs["mtime"]).strftime("%Y-%m-%d %H:%M") if runs.get("mtime") else "-"
        body += _row([nodes.paragraph("", "", link), took, when])
    return table


class ChapterTimesTransform(SphinxPostTransform):
    default_priority = 8  # before references are resolved

    def run(self, **kwargs) -> None:
        for node in list(self.document.findall(ChapterTimesNode)):
            node.replace_self(make_table(self.env, self.env.docname))


def refresh(app, env):
    """Re-write the pages holding the table when any chapter ran again."""
    if NbMetadataCollector.new_exec_data(env):
        return [doc for doc, data in NbMetadataCollector.get_doc_data(env).items() if data.get(KEY)]
    return []


def setup(app):
    app.add_node(ChapterTimesNode)
    app.add_directive("chapter-times", ChapterTimes)
    app.add_post_transform(ChapterTimesTransform)
    app.connect("env-updated", refresh)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
