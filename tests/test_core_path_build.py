"""The core path's times in a real (tiny) Jupyter Book build: each chapter's reading time counts its
words (a "Going further" section apart), its exercises count their minutes, the welcome page totals
the core, and a core over its budget fails a -W build naming the budget."""

from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path

import pytest
from test_claims_ledger_build import HEADER, JB, ROOT, build


def make_book(tmp_path: Path, budget: int) -> Path:
    book = tmp_path / "book"
    (book / "_ext").mkdir(parents=True)
    shutil.copy(ROOT / "book" / "_ext" / "chapter_times.py", book / "_ext")
    (book / "_config.yml").write_text(textwrap.dedent(f"""
        title: tiny
        only_build_toc_files: true
        execute: {{execute_notebooks: cache, timeout: 120}}
        sphinx:
          local_extensions: {{chapter_times: _ext}}
          config: {{mnist_core_pages: [alpha], mnist_words_per_minute: 200, mnist_exercise_minutes: 5,
                    mnist_core_minutes: {budget}, mnist_core_run_allowance: 1}}
        """))
    (book / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n- file: alpha\n- file: beta\n")
    (book / "intro.md").write_text("# Intro\n\n```{chapter-times}\n```\n")
    # 1 + 600 + 2 words in the core (title, prose, the code x = 1): 4 minutes; 3 + 400 going further: 3.
    (book / "alpha.md").write_text(HEADER + "\n# Alpha\n\n" + "word " * 600 + "\n\n```{code-cell} ipython3\n"
                                   ":tags: [exercise]\nx = 1\n```\n\n## Going further: more\n\n" + "more " * 400 + "\n")
    (book / "beta.md").write_text(HEADER + "\n# Beta\n\nShort.\n")
    return book


def cells(html: str) -> dict[str, list[str]]:
    table = html[html.index("chapter-times"):]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table[: table.index("</table>")], flags=re.S)
    texts = [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, flags=re.S)]
             for r in rows]
    return {t[0]: t[1:] for t in texts if t}


@pytest.mark.slow
@pytest.mark.skipif(not JB.exists(), reason="jupyter-book is not installed (pip install -e '.[book]')")
def test_the_welcome_page_totals_the_core_path(tmp_path):
    book = make_book(tmp_path, budget=90)
    done = build(book)
    assert done.returncode == 0, done.stdout + done.stderr
    html = book / "_build" / "html"
    rows = cells((html / "intro.html").read_text())
    assert rows["Alpha (core)"][:1] == ["4 min + 3 going further"] and rows["Alpha (core)"][2] == "5 min", rows
    assert rows["Beta"][0] == "1 min" and rows["Beta"][2] == "-", rows
    total = re.search(r'class="core-path-total">(.*?)</p>', (html / "intro.html").read_text(), flags=re.S).group(1)
    assert "about 9 minutes" in total, total  # 603 words (3.0 min) + 5 + a second of running, rounded up once
    line = re.search(r'class="page-times">(.*?)</p>', (html / "alpha.html").read_text(), flags=re.S).group(1)
    assert line.startswith("About 4 min to read, 3 more in Going further,") and "5 min of exercises" in line, line


@pytest.mark.slow
@pytest.mark.skipif(not JB.exists(), reason="jupyter-book is not installed (pip install -e '.[book]')")
def test_a_core_over_its_budget_fails_the_build(tmp_path):
    done = build(make_book(tmp_path, budget=5))
    log = done.stdout + done.stderr
    assert done.returncode != 0, log
    assert ("the core path's reading and exercises take about 9 minutes, over the 4 that mnist_core_minutes "
            "leaves after 1 min for running") in log, log[-3000:]
