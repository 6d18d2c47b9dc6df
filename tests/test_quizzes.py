"""The ``{quiz}`` and ``{predict}`` directives (book/_ext/quizzes.py, book/_static/quiz.js and quiz.css).

- the body parser: a good body gives its options; each kind of mistake its own one-line message;
- a tiny real Jupyter Book build (-W) of a page with both widgets: fieldset, legend, labels tied
  to radios, the live region, roles and math inside; a malformed quiz fails the -W build with the
  file, the line and the fix;
- in headless Chromium, served on 127.0.0.1 with no other host reached: answered with the keyboard
  only (wrong, then right; a guess locked in), then axe-core in light and dark mode, with
  screenshots in artifacts/screenshots/. The browser is test_site.py's ``driver`` fixture (it skips
  without Chromium and chromedriver unless ``MNIST_LESSONS_REQUIRE_BROWSER=1``), pointed at the
  tiny build by this module's ``site``.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from test_site import (AXE_FAILING, SET_THEME, SHOTS, QuietHandler, Site, axe_script, drain_logs,  # noqa: F401
                       driver, is_local, network, run_axe, screenshot, unavailable)

ROOT = Path(__file__).resolve().parents[1]
JB = Path(sys.executable).with_name("jupyter-book")
sys.path.insert(0, str(ROOT / "book" / "_ext"))

from quizzes import QuizSyntaxError, parse_body  # noqa: E402

# --- the body parser ------------------------------------------------------------------

GOOD = """
- To have more data for training.
  : No: the validation images are never trained on;
    they only choose settings.

+ So that choosing settings does not use the images that give the final score.
  : Yes: every choice made by looking at a set fits the settings to it.
- Because PyTorch
  requires three splits.
  : No: PyTorch has no notion of splits.
"""


def lines(text: str) -> list[str]:
    return textwrap.dedent(text).strip("\n").splitlines()


def test_a_good_body_gives_its_options_and_explanations():
    choices = parse_body(lines(GOOD))
    assert [(c.text, c.right, c.line) for c in choices] == [
        ("To have more data for training.", False, 0),
        ("So that choosing settings does not use the images that give the final score.", True, 4),
        ("Because PyTorch requires three splits.", False, 6)]
    assert choices[0].explanation == "No: the validation images are never trained on; they only choose settings."
    assert [c.explanation_line for c in choices] == [1, 5, 8]


BAD = {
    "no right option": ("- One.\n  : No.\n- Two.\n  : No.", "no option is marked right: start the right option's "
                        "line with '+ '", None),
    "two right options": ("+ One.\n  : Yes.\n- Two.\n  : No.\n+ Three.\n  : Yes.",
                          "2 options are marked right, (A), (C): mark exactly one with '+ '", 4),
    "no explanation": ("+ One.\n  : Yes.\n- Two.\n- Three.\n  : No.",
                       "option (B) 'Two.' has no explanation: add an indented line '  : ...'", 2),
    "one option": ("+ Only.\n  : Yes.", "it has 1 option, at least 2 are needed: add options", None),
    "no options": ("", "it has 0 options, at least 2 are needed", None),
    "stray line": ("+ One.\n  : Yes.\nThis line belongs nowhere.\n- Two.\n  : No.",
                   "'This line belongs nowhere.' is neither an option nor an explanation: start an option "
                   "with '- ' (wrong) or '+ ' (right)", 2),
    "explanation first": ("  : Why?\n+ One.\n  : Yes.\n- Two.\n  : No.", "': Why?' is neither an option", 0),
    "two explanations": ("+ One.\n  : Yes.\n  : And yes.\n- Two.\n  : No.",
                         "option (A) has a second ': ' line: give it one explanation", 2),
}


@pytest.mark.parametrize("case", BAD)
def test_each_mistake_gets_its_own_one_line_message(case):
    body, message, line = BAD[case]
    with pytest.raises(QuizSyntaxError) as raised:
        parse_body(body.splitlines())
    assert message in str(raised.value) and "\n" not in str(raised.value)
    assert raised.value.line == line


# --- a tiny real build ----------------------------------------------------------------

CONFIG = """
title: tiny
only_build_toc_files: true
execute: {execute_notebooks: force, timeout: 120}
parse: {myst_enable_extensions: [dollarmath, colon_fence]}
sphinx:
  local_extensions: {quizzes: _ext, sphinx_dedupe_scripts: _ext}  # the second as in the book (a JS error)
  config:
    html_static_path: [_static]
    html_css_files: [quiz.css]
    html_js_files: [quiz.js]
    html_context: {default_mode: auto}
    templates_path: [_templates]  # the book's theme fixes for axe-core
"""

#: The page the browser visits: no math in it or below it in the toctree, so Sphinx loads no MathJax
#: (from its CDN), and every request stays on 127.0.0.1.
WIDGETS = """
# Widgets

Read this first.

```{quiz} Why does the book keep a validation set apart from the test set?
- To have more data for training.
  : No: the validation images are never trained on;
    they only choose settings.
+ So that choosing settings does not use the images that give the final score.
  : Yes: every choice made by looking at a set fits the settings to it (see {doc}`roles`).
- Because `torch` requires three splits.
  : No: PyTorch has no notion of splits.
```

:::{predict} What will the loss be before any training?
- About 0.
  : No: an untrained network is no better than chance.
+ About 2.3, the logarithm of 10.
  : Yes: ten classes at equal probability cost ln 10 each.
- About 10.
  : No: that would be far worse than guessing.
:::

The output would come here.
"""

#: An executed page: a glued value and math inside a quiz.
ROLES = """---
jupytext:
  text_representation: {extension: .md, format_name: myst}
kernelspec: {display_name: Python 3, language: python, name: python3}
---

# Roles

```{code-cell} ipython3
from myst_nb import glue
glue("loss", 2.302585, display=False)
```

:::{quiz} Is {glue:text}`loss:.2f` the loss of a uniform guess over $10$ classes?
+ Yes, it is $\\ln 10$.
  : Right: $-\\log(1/10) = $ {glue:text}`loss:.3f`.
- No.
  : It is.
:::
"""

#: Malformed widgets, each reported at its line: two right options (line 6), a stray line (14), no
#: question (18), and backticks in a backtick fence's question (25: CommonMark reads it as a paragraph).
BROKEN = """# Broken

```{quiz} Which one?
+ One.
  : Yes.
+ Two.
  : Yes.
```

:::{predict} Which?
- One.
  : No.
+ Two.
this line is stray
  : Yes.
:::

:::{quiz}
+ One.
  : Yes.
- Two.
  : No.
:::

```{quiz} Is `x` read?
+ No.
  : Backticks in the question end a backtick fence.
- Yes.
  : No.
```
"""
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def build(folder: Path, pages: dict[str, str]) -> tuple[Path, subprocess.CompletedProcess]:
    """Write a book of ``pages`` (the first is the root) using the quizzes extension and build it with -W."""
    (folder / "_ext").mkdir(parents=True)
    (folder / "_static").mkdir()
    shutil.copytree(ROOT / "book" / "_templates", folder / "_templates")
    for name in ("quizzes.py", "sphinx_dedupe_scripts.py"):
        shutil.copy(ROOT / "book" / "_ext" / name, folder / "_ext")
    for name in ("quiz.js", "quiz.css"):
        shutil.copy(ROOT / "book" / "_static" / name, folder / "_static")
    (folder / "_config.yml").write_text(CONFIG)
    root, *chapters = pages
    toc = [f"root: {root}", *(["chapters:"] if chapters else []), *(f"- file: {c}" for c in chapters)]
    (folder / "_toc.yml").write_text("format: jb-book\n" + "\n".join(toc) + "\n")
    for name, text in pages.items():
        (folder / f"{name}.md").write_text(text.lstrip("\n"))
    done = subprocess.run([str(JB), "build", str(folder), "-W", "-n", "--keep-going"], capture_output=True,
                          text=True, timeout=600)
    return folder / "_build" / "html", done


needs_jb = pytest.mark.skipif(not JB.exists(), reason="jupyter-book is not installed (pip install -e '.[book]')")


@pytest.fixture(scope="session")
def tiny_book(tmp_path_factory) -> Path:
    html, done = build(tmp_path_factory.mktemp("quizbook") / "book", {"roles": ROLES, "widgets": WIDGETS})
    assert done.returncode == 0, done.stdout + done.stderr
    return html


def soup(path: Path):
    from bs4 import BeautifulSoup

    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


@pytest.mark.slow
@needs_jb
def test_the_widgets_are_fieldsets_of_labelled_radios_with_a_live_region(tiny_book):
    page = soup(tiny_book / "widgets.html")
    quizzes = page.select("div.quiz")
    assert [q["data-quiz"] for q in quizzes] == ["quiz", "predict"]
    names = set()
    for quiz, kind, button, question in zip(
            quizzes, ["Check yourself", "Predict, then run"], ["Check", "Lock in my guess"],
            ["Why does the book keep a validation set apart from the test set?",
             "What will the loss be before any training?"]):
        assert quiz.select_one(".quiz-kind").get_text(strip=True) == kind
        fieldset = quiz.find("fieldset")
        assert fieldset.find(True).name == "legend" and fieldset.legend.get_text(strip=True) == question
        radios = fieldset.select("input[type=radio]")
        assert len(radios) == 3 and len({r["name"] for r in radios}) == 1 and len({r["id"] for r in radios}) == 3
        names.add(radios[0]["name"])
        for radio in radios:
            label = page.find("label", attrs={"for": radio["id"]})
            assert label is not None and label.find_parent("fieldset") is fieldset and label.get_text(strip=True)
        control = quiz.select_one("button.quiz-button")
        assert control["type"] == "button" and control.get_text(strip=True) == button
        assert control.has_attr("hidden")  # quiz.js shows it; without JavaScript the list below is the answer
        assert quiz.select_one(".quiz-feedback")["aria-live"] == "polite"
        details = quiz.select_one("details.quiz-explanations")
        assert details.summary.get_text(strip=True) == "Show the explanations"
        assert [li["data-right"] for li in details.select("li")] == ["false", "true", "false"]
    assert len(names) == 2
    first = quizzes[0]
    assert first.select("label")[2].find("code").get_text() == "torch"
    assert "never trained on; they only choose settings" in first.select(".quiz-explanation")[0].get_text()
    assert first.select(".quiz-explanation")[1].find("a", href="roles.html")  # {doc} resolved


@pytest.mark.slow
@needs_jb
def test_glued_values_and_math_render_inside_a_quiz(tiny_book):
    quiz = soup(tiny_book / "roles.html").select_one("div.quiz")
    assert "2.30" in quiz.legend.get_text() and quiz.legend.select_one("span.math")
    assert quiz.select_one("label span.math")
    assert "2.303" in quiz.select(".quiz-explanation")[0].get_text()


@pytest.mark.slow
@needs_jb
def test_a_malformed_quiz_fails_the_build_naming_file_line_and_fix(tmp_path):
    _, done = build(tmp_path / "book", {"broken": BROKEN})
    log = done.stdout + done.stderr
    assert done.returncode != 0, log
    errors = {line.split("broken.md:", 1)[1] for line in ANSI.sub("", log).splitlines() if "broken.md:" in line}
    assert errors >= {
        "6: ERROR: quiz: 2 options are marked right, (A), (B): mark exactly one with '+ ' and the others with '- '",
        "14: ERROR: predict: 'this line is stray' is neither an option nor an explanation: start an option with "
        "'- ' (wrong) or '+ ' (right) and put its explanation under it as an indented ': ' line",
        "18: ERROR: quiz: it has no question: write it on the fence line, after {quiz}",
        "25: ERROR: quiz: its question holds backticks, so this fence is read as text: open it with :::{quiz} "
        "and close it with :::"}, log


# --- in the browser -------------------------------------------------------------------


@pytest.fixture(scope="session")
def site(tiny_book):
    """The tiny build on 127.0.0.1, at a free port (test_site's ``driver`` fixture browses it)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(tiny_book)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield Site(tiny_book, f"http://127.0.0.1:{server.server_address[1]}/")
    server.shutdown()
    server.server_close()


def press(driver, *keys) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(*keys).perform()


def back(driver) -> None:
    """Shift+Tab."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT).perform()


def tab_to(driver, selector: str, limit: int = 100) -> None:
    """Press Tab until the focused element matches ``selector``."""
    from selenium.webdriver.common.keys import Keys

    for _ in range(limit):
        press(driver, Keys.TAB)
        if driver.execute_script("return document.activeElement.matches(arguments[0])", selector):
            return
    raise AssertionError(f"{limit} presses of Tab never reached {selector}")


def state(driver, quiz: str) -> dict:
    return driver.execute_script("""
        const q = document.querySelector(arguments[0]);
        return {feedback: q.querySelector(".quiz-feedback").innerText.replace(/\\s+/g, " ").trim(),
                checked: Array.from(q.querySelectorAll("input")).map(i => i.checked),
                disabled: Array.from(q.querySelectorAll("input")).map(i => i.disabled),
                button: q.querySelector("button").textContent, locked: q.querySelector("button").ariaDisabled,
                details: !q.querySelector("details").hidden,
                focus: document.activeElement.id || document.activeElement.tagName};""", quiz)


@pytest.mark.browser
@pytest.mark.slow
@needs_jb
def test_answered_by_keyboard_offline_and_accessible_in_light_and_dark(site, driver, axe_script):  # noqa: F811
    from selenium.webdriver.common.keys import Keys

    drain_logs(driver)
    driver.get(site.url("widgets"))
    quiz, predict = "#quiz-1", "#predict-2"
    tab_to(driver, f"{quiz} input[type=radio]")
    assert state(driver, quiz)["details"] is False  # quiz.js hides the answers until the reader has answered
    press(driver, Keys.SPACE, Keys.TAB, Keys.ENTER)  # (A), wrong
    wrong = state(driver, quiz)
    assert wrong["checked"] == [True, False, False] and wrong["focus"] == "BUTTON"
    assert wrong["feedback"].startswith("Wrong. No: the validation images are never trained on")
    assert wrong["feedback"].endswith("(A) is not the answer: try another option.") and not wrong["details"]
    back(driver)
    press(driver, Keys.ARROW_DOWN, Keys.TAB, Keys.SPACE)  # (B), right
    right = state(driver, quiz)
    assert right["checked"] == [False, True, False]
    assert right["feedback"].startswith("Right. Yes: every choice made by looking at a set") and right["details"]

    tab_to(driver, f"{predict} input[type=radio]")
    press(driver, Keys.TAB, Keys.ENTER)  # lock in with nothing chosen
    assert state(driver, predict)["feedback"] == "Choose your guess first."
    back(driver)
    press(driver, Keys.SPACE, Keys.TAB, Keys.ENTER)  # guess (A), lock it in
    locked = state(driver, predict)
    assert locked["feedback"] == ("You guessed (A): About 0. Wrong. No: an untrained network is no better than "
                                  "chance. The output below refutes your guess.")
    assert locked["disabled"] == [True, True, True] and locked["button"] == "Guess locked in"
    assert locked["locked"] == "true" and locked["details"] and locked["focus"] == "BUTTON"
    press(driver, Keys.ENTER)  # locked: nothing changes
    assert state(driver, predict)["feedback"] == locked["feedback"]

    driver.execute_script("document.querySelectorAll('details').forEach(d => d.open = true); window.scrollTo(0, 0)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    failing = []
    for mode in ("light", "dark"):
        driver.execute_script(SET_THEME, mode)
        time.sleep(0.3)
        screenshot(driver, SHOTS / f"quizzes-{mode}.png")
        if axe_script[0] is None:
            continue
        violations = run_axe(driver, axe_script[0])
        assert not isinstance(violations, str), violations
        failing += [f"{mode}: {v['impact']} {v['id']}: {[n['target'] for n in v['nodes']]}"
                    for v in violations if v["impact"] in AXE_FAILING]
    console, perf = drain_logs(driver)
    requested, failed = network(perf)
    assert requested and not [url for url in requested if not is_local(url)], requested
    assert not [f for f in failed if "favicon" not in f], failed
    assert not [e["message"] for e in console if e["level"] == "SEVERE" and "favicon" not in e["message"]]
    assert not failing, "\n".join(failing)
    if axe_script[0] is None:
        unavailable(axe_script[1])
    assert (SHOTS / "quizzes-dark.png").stat().st_size > 1000
