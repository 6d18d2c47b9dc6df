"""The claims ledger, and a report that says where and why a chapter failed.

Chapters record each verdict they glue into a sentence with
``mnist_lessons.experiments.verdicts.Ledger``, one JSON file per page in
``$MNIST_LESSONS_LEDGER``. This extension points that variable at
``_build/ledger`` before any chapter executes (unless it is set already), and
``{claims-ledger}`` puts every recorded claim in one table (page, claim,
verdict, margin and uncertainty), filled in once every chapter has been read,
so a page taken from the execution cache keeps the claims of the run that
made its outputs. ``.ci/compare_ledgers.py`` compares two builds' folders.

When a chapter fails to execute, the build still executes the others (and
fails at the end); this extension then writes
``_build/html/reports/execution-failures.md``: the chapter, the failing cell
and its error (assert messages carry their values), and the machine.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from docutils import nodes
from myst_nb.sphinx_ import NbMetadataCollector
from sphinx.addnodes import pending_xref
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from mnist_lessons.experiments.verdicts import LEDGER_ENV, read_ledger

logger = logging.getLogger(__name__)
KEY = "claims_ledger"


def ledger_folder(app) -> Path:
    return Path(os.environ[LEDGER_ENV])


def point_kernels_at_ledger(app, config) -> None:
    """Kernels inherit the environment: every chapter records into the build's ledger folder."""
    folder = os.environ.get(LEDGER_ENV) or str(Path(app.outdir).parent / "ledger")
    os.environ[LEDGER_ENV] = str(Path(folder).absolute())
    Path(folder).mkdir(parents=True, exist_ok=True)


class ClaimsLedgerNode(nodes.General, nodes.Element):
    """Placeholder, replaced once every chapter has been read."""


class ClaimsLedger(SphinxDirective):
    def run(self):
        NbMetadataCollector.set_doc_data(self.env, self.env.docname, KEY, True)
        return [ClaimsLedgerNode()]


def _cell(content) -> nodes.entry:
    return nodes.entry("", content if isinstance(content, nodes.paragraph) else nodes.paragraph(text=str(content)))


def claims(app, env) -> list:
    """The recorded ``(docname, verdict)`` pairs of pages that are in this book, in reading order."""
    docs = {docname.rsplit("/", 1)[-1]: docname for docname in env.found_docs}
    rows = [(docs[page], v) for page, v in read_ledger(ledger_folder(app)) if page in docs]
    order = {doc: i for i, doc in enumerate(env.toctree_includes.get(env.config.root_doc, []))}
    return sorted(rows, key=lambda row: order.get(row[0], len(order)))


def make_table(app, env, docname: str) -> nodes.Node:
    rows = claims(app, env)
    if not rows:
        return nodes.paragraph(text="No chapter recorded a claim in this build.")
    table = nodes.table(classes=["colwidths-auto", "claims-ledger"])
    group = nodes.tgroup(cols=5)
    table += group
    for _ in range(5):
        group += nodes.colspec(colwidth=1)
    head = nodes.thead()
    row = nodes.row()
    for title in ("Page", "Claim", "Verdict", "Margin ± uncertainty", "Robust"):
        row += _cell(title)
    head += row
    group += head
    body = nodes.tbody()
    group += body
    for doc, v in rows:
        link = pending_xref(refdoc=docname, reftarget="/" + doc, reftype="doc", refdomain="std",
                            refexplicit=False, refwarn=True)
        link += nodes.inline(text=env.titles[doc].astext() if doc in env.titles else doc)
        row = nodes.row()
        for content in (nodes.paragraph("", "", link), v.name, v.label, f"{v.text()} ({v.method}, n = {v.n})",
                        "yes" if v.robust else "no"):
            row += _cell(content)
        body += row
    return table


class ClaimsLedgerTransform(SphinxPostTransform):
    default_priority = 8  # before references are resolved

    def run(self, **kwargs) -> None:
        for node in list(self.document.findall(ClaimsLedgerNode)):
            node.replace_self(make_table(self.app, self.env, self.env.docname))


def refresh(app, env):
    """Re-write the page holding the ledger when any chapter ran again."""
    if NbMetadataCollector.new_exec_data(env):
        return [doc for doc, data in NbMetadataCollector.get_doc_data(env).items() if data.get(KEY)]
    return []


def machine_lines() -> list[str]:
    """Processor, instruction set, threads, torch and device, one per line."""
    import torch

    from mnist_lessons.buildinfo import environment

    lines = [f"- {key}: {value}" for key, value in environment().items() if key != "Built on (UTC)"]
    lines.append(f"- CPU instruction set PyTorch uses: {torch.backends.cpu.get_cpu_capability()}")
    lines.append(f"- OMP_NUM_THREADS: {os.environ.get('OMP_NUM_THREADS', 'unset')}")
    return lines


def failing_cell(traceback: str) -> str:
    """The part of an execution traceback from the failing cell on (the executor's own frames dropped), uncoloured."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", traceback)
    start = text.find("An error occurred while executing the following cell")
    return (text[start:] if start >= 0 else text).strip()


def report_failures(app, exception) -> None:
    """Write reports/execution-failures.md when any chapter failed to execute, and name it in the log."""
    if exception is not None or not hasattr(app, "env"):
        return
    failed = []
    for docname in sorted(app.env.found_docs):
        data = NbMetadataCollector.get_exec_data(app.env, docname)
        if data and not data.get("succeeded", True):
            failed.append((docname, data))
    report = Path(app.outdir) / "reports" / "execution-failures.md"
    if not failed:
        report.unlink(missing_ok=True)
        return
    parts = ["# Chapters that failed to execute", "", "Machine:", *machine_lines(), ""]
    for docname, data in failed:
        parts += [f"## {docname} ({app.env.doc2path(docname)})", "",
                  f"Error: {data.get('error')}. The failing cell and its message:", "", "```",
                  failing_cell(data.get("traceback") or ""), "```", ""]
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text("\n".join(parts), encoding="utf8")
    names = ", ".join(docname for docname, _ in failed)
    logger.warning(f"{len(failed)} chapter(s) failed to execute ({names}); see {report}", type="mnist", subtype="exec")


def setup(app):
    app.connect("config-inited", point_kernels_at_ledger)
    app.add_node(ClaimsLedgerNode)
    app.add_directive("claims-ledger", ClaimsLedger)
    app.add_post_transform(ClaimsLedgerTransform)
    app.connect("env-updated", refresh)
    app.connect("build-finished", report_failures)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
