"""The welcome page's chapter list and each page's time line, measured by this build.

``{chapter-times}`` lists the chapters in reading order with the minutes each
takes to read (its words at ``mnist_words_per_minute``), to run (MyST-NB's
execution record, the one ``{nb-exec-table}`` shows) and to do its exercises
(``mnist_exercise_minutes`` for each code cell tagged ``exercise``), and
totals the core path, the chapters named in ``mnist_core_pages``. A section
whose title starts with "Going further" is left out of the core's reading
time. Every chapter also shows its own line of times under its title. A core
whose reading and exercises leave less than ``mnist_core_run_allowance`` of
``mnist_core_minutes`` for running is a build warning (an error under -W).

Nothing in it is typed: chapters come from the table of contents, titles from
their headings. A chapter taken from the execution cache keeps the time and
date of the build that ran it, so the table prints that date too.
"""

from __future__ import annotations

import math
import re
from datetime import datetime

from docutils import nodes
from myst_nb.sphinx_ import NbMetadataCollector
from sphinx.addnodes import pending_xref
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

KEY = "chapter_times"
WORDS = "reading_words"
FURTHER = "Going further"
WORD = re.compile(r"[\w'’.-]*\w")
LOGGER = logging.getLogger(__name__)


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


def _going_further(node: nodes.Node) -> bool:
    """Whether ``node`` lies in a section titled "Going further …"."""
    while node is not None:
        if isinstance(node, nodes.section) and node.children and isinstance(node[0], nodes.title) \
                and node[0].astext().startswith(FURTHER):
            return True
        node = node.parent
    return False


#: Classes of what a reader does not read through: cell outputs, and the explanations of a quiz's wrong options.
NOT_READ = {"cell_output", "not-counted-in-reading"}


def _not_read(node: nodes.Node) -> bool:
    while node is not None:
        if isinstance(node, nodes.Element) and NOT_READ & set(node.get("classes", [])):
            return True
        node = node.parent
    return False


def count_words(app, doctree: nodes.document) -> None:
    """Record the words a reader reads on this page (prose and shown code, not outputs), and its exercises.

    Of a quiz, the question, its options and the right option's explanation count."""
    core = further = 0
    for text in doctree.findall(nodes.Text):
        if isinstance(text.parent, (nodes.comment, nodes.raw)) or _not_read(text):
            continue
        n = len(WORD.findall(text.astext()))
        if _going_further(text):
            further += n
        else:
            core += n
    exercises = sum(1 for node in doctree.findall(nodes.container)
                    if "tag_exercise" in node.get("classes", []) and not _going_further(node))
    NbMetadataCollector.set_doc_data(app.env, app.env.docname, WORDS,
                                     {"core": core, "further": further, "exercises": exercises})


def page_times(env, doc: str) -> dict:
    """Minutes to read the core of ``doc``, seconds to run it, minutes of exercises (None: not executed)."""
    config = env.config
    data = NbMetadataCollector.get_doc_data(env).get(doc) or {}
    words = data.get(WORDS) or {"core": 0, "further": 0, "exercises": 0}
    runs = data.get("exec_data") or {}
    return {"read": math.ceil(words["core"] / config.mnist_words_per_minute),
            "further": math.ceil(words["further"] / config.mnist_words_per_minute),
            "run": runs.get("runtime"), "mtime": runs.get("mtime"),
            "exercises": words["exercises"] * config.mnist_exercise_minutes}


def _seconds(runtime: float | None) -> str:
    return "not executed" if runtime is None else f"{runtime:.0f} s" if runtime >= 1 else "under 1 s"


def core_minutes(env, with_running: bool = True) -> int:
    """The core path's total in minutes: reading, running and exercises, summed exactly and rounded up."""
    data = NbMetadataCollector.get_doc_data(env)
    total = 0.0
    for doc in env.config.mnist_core_pages:  # exact minutes, rounded once, at the end
        words = (data.get(doc) or {}).get(WORDS) or {"core": 0, "exercises": 0}
        runtime = ((data.get(doc) or {}).get("exec_data") or {}).get("runtime") or 0
        total += words["core"] / env.config.mnist_words_per_minute + (runtime / 60 if with_running else 0)
        total += words["exercises"] * env.config.mnist_exercise_minutes
    return math.ceil(total)


def _row(cells: list, header: bool = False) -> nodes.row:
    row = nodes.row()
    for cell in cells:
        row += nodes.entry("", cell if isinstance(cell, nodes.paragraph) else nodes.paragraph(text=str(cell)))
    return row


def make_table(env, docname: str) -> list[nodes.Node]:
    columns = ["Chapter", "Reading", "Running", "Exercises", "Executed"]
    table = nodes.table(classes=["colwidths-auto", "chapter-times"])
    group = nodes.tgroup(cols=len(columns))
    table += group
    for _ in columns:
        group += nodes.colspec(colwidth=1)
    head = nodes.thead()
    head += _row(columns)
    group += head
    body = nodes.tbody()
    group += body
    core = set(env.config.mnist_core_pages)
    for chapter in reading_order(env, env.config.root_doc):
        t = page_times(env, chapter)
        link = pending_xref(refdoc=docname, reftarget="/" + chapter, reftype="doc", refdomain="std",
                            refexplicit=False, refwarn=True)
        link += nodes.inline(text=env.titles[chapter].astext() if chapter in env.titles else chapter)
        title = nodes.paragraph("", "", link)
        if chapter in core:
            title += nodes.Text(" (core)")
        when = datetime.fromtimestamp(t["mtime"]).strftime("%Y-%m-%d %H:%M") if t["mtime"] else "-"
        reading = f"{t['read']} min" + (f" + {t['further']} going further" if t["further"] else "")
        exercises = f"{t['exercises']} min" if t["exercises"] else "-"
        body += _row([title, reading, _seconds(t["run"]), exercises, when])
    total = nodes.paragraph(classes=["core-path-total"])
    total += nodes.strong(text=f"The core path, {len(core)} chapters marked (core): about {core_minutes(env)} minutes")
    total += nodes.Text(f" of reading at {env.config.mnist_words_per_minute} words a minute, running on the build "
                        "machine, and exercises; the Going further sections and the other chapters come after.")
    return [table, total]


def time_line(env, doc: str) -> nodes.paragraph:
    """One line under a chapter's title: its reading, running and exercise times."""
    t = page_times(env, doc)
    parts = [f"About {t['read']} min to read"]
    if t["further"]:
        parts.append(f"{t['further']} more in Going further")
    if t["run"] is not None:
        parts.append(f"{_seconds(t['run'])} to run on the build machine")
    if t["exercises"]:
        parts.append(f"{t['exercises']} min of exercises")
    if doc in env.config.mnist_core_pages:
        parts.append("part of the core path")
    return nodes.paragraph(text=", ".join(parts) + ".", classes=["page-times"])


class ChapterTimesTransform(SphinxPostTransform):
    default_priority = 8  # before references are resolved

    def run(self, **kwargs) -> None:
        env, doc = self.env, self.env.docname
        for node in list(self.document.findall(ChapterTimesNode)):
            node.replace_self(make_table(env, doc))
        if doc != env.config.root_doc and doc in reading_order(env, env.config.root_doc):
            section = next(self.document.findall(nodes.section), None)
            if section is not None and isinstance(section[0], nodes.title):
                section.insert(1, time_line(env, doc))


def refresh(app, env):
    """Re-write the pages holding the table: any chapter may have been read or run again."""
    return [doc for doc, data in NbMetadataCollector.get_doc_data(env).items() if data.get(KEY)]


def check_core(app, env) -> None:
    """Warn when the core's reading and exercises leave less than ``mnist_core_run_allowance`` minutes to run it.

    The running time is this machine's: another machine may be slower, so the check guards what the text
    decides (words and exercises) and leaves the allowance for running."""
    budget = app.config.mnist_core_minutes - app.config.mnist_core_run_allowance
    minutes = core_minutes(env, with_running=False)
    unknown = [doc for doc in app.config.mnist_core_pages if doc not in env.all_docs]
    if unknown:
        LOGGER.warning(f"mnist_core_pages names {unknown}, which the book does not have: fix _config.yml")
    if minutes > budget:
        LOGGER.warning(f"the core path's reading and exercises take about {minutes} minutes, over the {budget} "
                       f"that mnist_core_minutes leaves after {app.config.mnist_core_run_allowance} min for "
                       "running: move a section into Going further or a later chapter")


def setup(app):
    app.add_config_value("mnist_core_pages", [], "env")
    app.add_config_value("mnist_words_per_minute", 200, "env")
    app.add_config_value("mnist_exercise_minutes", 5, "env")
    app.add_config_value("mnist_core_minutes", 90, "env")
    app.add_config_value("mnist_core_run_allowance", 5, "env")
    app.add_node(ChapterTimesNode)
    app.add_directive("chapter-times", ChapterTimes)
    app.add_post_transform(ChapterTimesTransform)
    app.connect("doctree-read", count_words)
    app.connect("env-updated", refresh)
    app.connect("env-check-consistency", check_core)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
