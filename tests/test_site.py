"""The built site as readers see it, in a real (headless) Chromium.

For every page in ``_toc.yml`` (so a new chapter is covered as soon as it is
listed) the site is served from ``_build/html`` on 127.0.0.1 and checked:
HTTP 200; no JavaScript console errors; every image loaded; math typeset by
MathJax (no raw ``$$`` or ``\\(`` left, no MathJax errors); code cells and
their outputs present on executed chapters, without tracebacks; figures with
alt text; and no request anywhere but 127.0.0.1 (or data:, blob:, about:), so
the site works offline. The search page must find the linear-model chapter,
and every internal link (and anchor) must resolve. Each page is screenshotted
in light and dark mode into ``artifacts/screenshots/``, and the counts go to
``artifacts/site-report.json``. In both colour modes axe-core (staged from npm
by ``tests/stage_axe.py``) checks every page against WCAG 2.x A and AA: any
critical or serious violation fails; the moderate and minor ones are summed
up in ``artifacts/accessibility.json`` and printed with the report. At
1280 px the Learning chapter's training logs must fit their boxes (no
sideways scrolling).

Without Chromium and chromedriver, or without a built site, these tests skip
with the reason, unless ``MNIST_LESSONS_REQUIRE_BROWSER=1`` (CI), where they
fail. ``MNIST_LESSONS_SITE``, ``MNIST_LESSONS_TOC`` and ``MNIST_LESSONS_BOOK``
point them at another build, table of contents and source folder. Run them
with ``pytest -m browser``.
"""

from __future__ import annotations

import base64
import functools
import json
import math
import os
import re
import shutil
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
SITE = Path(os.environ.get("MNIST_LESSONS_SITE") or ROOT / "_build" / "html").resolve()
TOC = Path(os.environ.get("MNIST_LESSONS_TOC") or ROOT / "_toc.yml").resolve()
BOOK = Path(os.environ.get("MNIST_LESSONS_BOOK") or ROOT).resolve()  # what TOC paths are relative to
ARTIFACTS = ROOT / "artifacts"
SHOTS = ARTIFACTS / "screenshots"
REQUIRE = os.environ.get("MNIST_LESSONS_REQUIRE_BROWSER") == "1"
SEARCH_PAGE, SEARCH_QUERY = "book/linear-model", "cross-entropy"
LOCAL_SCHEMES = {"data", "blob", "about"}
SOURCE_SUFFIXES = (".md", ".ipynb", ".myst.md")
#: Tallest screenshot taken, in CSS pixels (Chromium's limit is about 16k).
MAX_SHOT_HEIGHT = 16000
#: Math left raw in the text: display and inline delimiters, environments,
#: and $...$ holding a TeX command.
RAW_MATH = re.compile(r"\$\$|\\\(|\\\)|\\\[|\\\]|\\begin\{|\$[^$\n]*\\[A-Za-z]+[^$\n]*\$")

REPORT: Counter = Counter()
#: axe-core findings: (mode, impact, rule) -> elements, over all pages.
AXE_FINDINGS: Counter = Counter()
#: Impacts that fail a page; the others are reported.
AXE_FAILING = ("critical", "serious")
#: The page width at which training logs must fit without scrolling sideways.
LOG_PAGE, LOG_WIDTH = "book/learning", 1280


def unavailable(reason: str):
    """Skip with ``reason``, or fail where CI requires the browser tests to run."""
    if REQUIRE:
        pytest.fail(f"{reason} (MNIST_LESSONS_REQUIRE_BROWSER=1, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


# --- the table of contents and the chapters' sources -------------------------------


def _strip_suffix(name: str) -> str:
    for suffix in SOURCE_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def toc_pages(toc: Path = TOC) -> list[str]:
    """Every page the table of contents lists (root first), as docnames like ``book/dataset``."""
    import yaml

    data = yaml.safe_load(toc.read_text(encoding="utf-8"))
    pages = [_strip_suffix(str(data["root"]))]

    def walk(node) -> None:
        if isinstance(node, list):
            for child in node:
                walk(child)
        elif isinstance(node, dict):
            if "file" in node:
                pages.append(_strip_suffix(str(node["file"])))
            if "glob" in node:
                matches = {_strip_suffix(p.relative_to(BOOK).as_posix()) for p in BOOK.glob(node["glob"] + "*")}
                pages.extend(sorted(matches))
            for key in ("parts", "chapters", "sections", "subtrees", "entries"):
                walk(node.get(key) or [])

    walk(data)
    return list(dict.fromkeys(pages))


try:
    PAGES, TOC_ERROR = toc_pages(), None
except Exception as err:  # reported by test_toc_lists_pages
    PAGES, TOC_ERROR = [], f"cannot read {TOC}: {type(err).__name__}: {err}"


def source_of(page: str) -> Path | None:
    for suffix in SOURCE_SUFFIXES:
        path = BOOK / (page + suffix)
        if path.is_file():
            return path
    return None


def _cell_tags(body: list[str]) -> set[str]:
    """Tags from a code cell's options: a ``---`` YAML block or ``:tags: [...]`` lines."""
    import itertools

    import yaml

    if body and body[0].strip() == "---":
        block = list(itertools.takewhile(lambda line: line.strip() != "---", body[1:]))
        options = yaml.safe_load("\n".join(block)) or {}
    else:
        lines = itertools.takewhile(lambda line: line.startswith(":"), body)
        options = {k: yaml.safe_load(v) for k, _, v in (line[1:].partition(":") for line in lines)}
    tags = options.get("tags") if isinstance(options, dict) else None
    return {str(t) for t in tags} if isinstance(tags, list) else set()


FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,}|:{3,})\s*(.*)$")


def code_cells(path: Path) -> list[set[str]]:
    """The tags of each notebook code cell in a chapter (MyST markdown or .ipynb).

    In MyST markdown only top-level ``{code-cell}`` blocks count: an example
    of one quoted inside another fence is skipped with that fence.
    """
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        return [set(c.get("metadata", {}).get("tags", [])) for c in cells if c["cell_type"] == "code"]
    lines = path.read_text(encoding="utf-8").splitlines()
    cells: list[set[str]] = []
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        fence, info = match.groups()
        closing = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        end = next((j for j in range(i + 1, len(lines)) if closing.match(lines[j])), len(lines))
        if info.startswith("{code-cell}"):
            cells.append(_cell_tags(lines[i + 1 : end]))
        i = end + 1
    return cells


# --- serving the site, driving the browser ------------------------------------------


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # no access log on stderr
        pass


@dataclass
class Site:
    root: Path
    base: str

    def url(self, page: str) -> str:
        return self.base + page + ".html"


@pytest.fixture(scope="session")
def site(request):
    """The built site, served on 127.0.0.1 at a free port for the whole session."""
    if not (SITE / "index.html").is_file():
        unavailable(f"no built site in {SITE}: run `make book` first")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(SITE)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    try:
        yield Site(SITE, f"http://127.0.0.1:{server.server_address[1]}/")
    finally:
        server.shutdown()
        server.server_close()
        write_report(request)


def find_chromium() -> tuple[str | None, str | None]:
    names = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
    browser = os.environ.get("CHROME_BIN") or next(filter(None, map(shutil.which, names)), None)
    driver = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver")
    return browser, driver


@pytest.fixture(scope="session")
def driver(site):
    """Headless Chromium through chromedriver, logging the console and the network."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        unavailable("selenium is not installed (pip install -e '.[test]')")
    browser, chromedriver = find_chromium()
    if not browser or not chromedriver:
        unavailable("Chromium and chromedriver are not installed (e.g. apt-get install chromium chromium-driver)")
    profile = tempfile.mkdtemp(prefix="mnist-lessons-chromium-")
    options = Options()
    options.binary_location = browser
    for arg in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--no-default-browser-check", "--disable-sync",
        "--disable-extensions", "--disable-dev-shm-usage", "--hide-scrollbars", "--force-device-scale-factor=1",
        "--window-size=1280,900", f"--user-data-dir={profile}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    try:
        chrome = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    except Exception as err:
        shutil.rmtree(profile, ignore_errors=True)
        unavailable(f"Chromium would not start: {' '.join(str(err).split())[:300]}")
    chrome.set_page_load_timeout(90)
    chrome.set_script_timeout(120)  # axe-core on the longest chapters
    chrome.get("about:blank")  # let the start-up tab's own requests finish, then drop them
    time.sleep(1)
    drain_logs(chrome)
    if not REPORT["browsers_started"]:  # test_try_it.py imports this fixture: it starts a second browser
        shutil.rmtree(SHOTS, ignore_errors=True)
    REPORT["browsers_started"] += 1
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield chrome
    finally:
        chrome.quit()
        shutil.rmtree(profile, ignore_errors=True)


def write_report(request) -> None:
    """Save the counts to artifacts/site-report.json and print them on one line."""
    report = {"site": str(SITE), "toc": str(TOC), "pages_in_toc": len(PAGES), **dict(sorted(REPORT.items()))}
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "site-report.json").write_text(json.dumps(report, indent=2) + "\n")
    line = ", ".join(f"{k} {v}" for k, v in report.items() if isinstance(v, int))
    message = f"\nsite report ({ARTIFACTS / 'site-report.json'}): {line}"
    if AXE_FINDINGS:
        findings = [
            {"mode": mode, "impact": impact, "rule": rule, "elements": n}
            for (mode, impact, rule), n in sorted(AXE_FINDINGS.items())
        ]
        (ARTIFACTS / "accessibility.json").write_text(json.dumps(findings, indent=2) + "\n")
        message += f"\naxe-core findings ({ARTIFACTS / 'accessibility.json'}), elements over all pages:"
        message += "".join(f"\n  {f['mode']:5} {f['impact']:8} {f['rule']}: {f['elements']}" for f in findings)
    capture = request.config.pluginmanager.getplugin("capturemanager")
    if capture is None:
        print(message)
        return
    with capture.global_and_fixture_disabled():
        print(message)


WAIT_FOR_IMAGES = """
const done = arguments[arguments.length - 1];
const images = Array.from(document.images);
images.forEach(img => { if (img.loading === "lazy") img.loading = "eager"; });
const report = () => done(images.map(img => ({
  src: img.getAttribute("src"), alt: img.getAttribute("alt"), width: img.naturalWidth,
  inContent: !!img.closest("article, main"), inFigure: !!img.closest("figure"),
})));
setTimeout(report, 30000);
Promise.all(images.map(img => img.complete ? null : new Promise(ok => {
  img.addEventListener("load", ok); img.addEventListener("error", ok);
}))).then(report);
"""

WAIT_FOR_MATHJAX = """
const done = arguments[arguments.length - 1];
const start = Date.now();
(function wait() {
  const mj = window.MathJax;
  if (!mj) return done("absent");
  if (mj.startup && mj.startup.promise) {
    return mj.startup.promise.then(() => done("typeset"), e => done("failed: " + e));
  }
  if (Date.now() - start > 30000) return done("never loaded");
  setTimeout(wait, 100);
})();
"""

COLLECT = """
const content = document.querySelector("article") || document.querySelector("main") || document.body;
const clone = content.cloneNode(true);
clone.querySelectorAll("pre, code, .highlight, script, style, mjx-container, .cell_input").forEach(e => e.remove());
return {
  mathjax: document.querySelectorAll("mjx-container").length,
  mathErrors: Array.from(document.querySelectorAll("mjx-merror")).map(e => e.textContent.slice(0, 80)),
  text: clone.textContent,
  cells: document.querySelectorAll("div.cell").length,
  inputs: document.querySelectorAll("div.cell_input").length,
  outputs: document.querySelectorAll("div.cell_output").length,
  tracebacks: Array.from(document.querySelectorAll(".output.traceback, .output.error")).map(e => e.textContent.slice(0, 200)),
};
"""

SET_THEME = """
const mode = arguments[0];
localStorage.setItem("mode", mode);
localStorage.setItem("theme", mode);
document.documentElement.dataset.mode = mode;
document.documentElement.dataset.theme = mode;
"""

#: Relative luminance (0 black .. 1 white) of the page background.
BACKGROUND = """
const rgb = getComputedStyle(document.body).backgroundColor.match(/[0-9.]+/g).map(Number);
return (0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]) / 255;
"""


@pytest.fixture(scope="session")
def axe_script() -> tuple[str | None, str]:
    """axe-core's source, or None and why it could not be staged."""
    from stage_axe import StageError, stage

    try:
        return stage().read_text(encoding="utf-8"), ""
    except StageError as err:
        return None, str(err)


AXE_RUN = """
const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ["violations"]})  // every rule but the experimental ones
  .then(r => done(r.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.join(" "), html: n.html.slice(0, 160),
                              summary: (n.failureSummary || "").split("\\n").slice(1, 3).join(" ")})),
  }))), e => done("axe failed: " + e));
"""


def run_axe(chrome, script: str) -> list[dict] | str:
    """axe-core's violations on the current page (or why it could not run)."""
    if not chrome.execute_script("return !!window.axe"):
        chrome.execute_script(script)
    return chrome.execute_async_script(AXE_RUN)


#: How each content image is shown: its computed background and filter.
IMAGE_LOOK = """
return Array.from(document.querySelectorAll("article img, main img")).map(img => {
  const style = getComputedStyle(img);
  return {src: img.getAttribute("src"), background: style.backgroundColor, filter: style.filter};
});
"""


#: Code and text outputs in cells that scroll sideways at the window's width.
WIDE_PRE = """
return Array.from(document.querySelectorAll("div.cell_input pre, div.cell_output pre"))
  .filter(pre => pre.scrollWidth > pre.clientWidth)
  .map(pre => pre.textContent.split("\\n").reduce((a, b) => (b.length > a.length ? b : a), "").slice(0, 100));
"""


@dataclass
class Visit:
    """What one page did in the browser."""

    page: str
    mathjax_state: str = ""
    images: list[dict] = field(default_factory=list)
    dom: dict = field(default_factory=dict)
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    background: dict[str, float] = field(default_factory=dict)
    screenshots: dict[str, Path] = field(default_factory=dict)
    axe: dict[str, list[dict] | str] = field(default_factory=dict)
    image_look: dict[str, list[dict]] = field(default_factory=dict)
    wide_pre: list[str] = field(default_factory=list)


def drain_logs(chrome) -> tuple[list[dict], list[dict]]:
    return chrome.get_log("browser"), chrome.get_log("performance")


def network(perf_log: list[dict]) -> tuple[list[str], list[str]]:
    """URLs requested, and those that failed or answered >= 400, from a performance log."""
    requested, failed = [], []
    for entry in perf_log:
        message = json.loads(entry["message"])["message"]
        method, params = message.get("method"), message.get("params", {})
        if method == "Network.requestWillBeSent":
            requested.append(params["request"]["url"])
        elif method == "Network.responseReceived" and params["response"].get("status", 0) >= 400:
            failed.append(f"{params['response']['status']} {params['response']['url']}")
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            failed.append(f"{params.get('errorText')} (request {params.get('requestId')})")
    return requested, failed


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in LOCAL_SCHEMES or (parts.scheme in ("http", "https") and parts.hostname == "127.0.0.1")


def screenshot(chrome, path: Path) -> None:
    """A full-page PNG (up to MAX_SHOT_HEIGHT pixels tall)."""
    size = chrome.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": math.ceil(size["width"]), "height": min(math.ceil(size["height"]), MAX_SHOT_HEIGHT), "scale": 1}
    shot = chrome.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip})
    path.write_bytes(base64.b64decode(shot["data"]))


def load(chrome, url: str) -> Visit:
    """Open ``url``, wait for images and MathJax, and record what happened."""
    drain_logs(chrome)
    visit = Visit(page=url)
    chrome.get(url)
    deadline = time.monotonic() + 60
    while chrome.execute_script("return document.readyState") != "complete" and time.monotonic() < deadline:
        time.sleep(0.1)
    visit.images = chrome.execute_async_script(WAIT_FOR_IMAGES)
    visit.mathjax_state = chrome.execute_async_script(WAIT_FOR_MATHJAX)
    visit.dom = chrome.execute_script(COLLECT)
    return visit


def browser_noise(message: str) -> bool:
    """Chromium asks every host for /favicon.ico by itself; no page requested it."""
    return "/favicon.ico" in message


@contextmanager
def viewport(chrome, width: int, height: int = 900):
    """Emulate a window ``width`` CSS pixels wide (a phone below 600 px), then restore the window."""
    before = chrome.get_window_size()
    chrome.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
    try:
        yield
    finally:
        chrome.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        chrome.set_window_size(before["width"], before["height"])


def finish(chrome, visit: Visit) -> Visit:
    console, perf = drain_logs(chrome)
    visit.console_errors = [e["message"] for e in console if e.get("level") == "SEVERE" and not browser_noise(e["message"])]
    visit.requests, failed = network(perf)
    visit.failed_requests = [f for f in failed if not browser_noise(f)]
    REPORT["requests_checked"] += len(visit.requests)
    return visit


@pytest.fixture(scope="session")
def visits(site, driver, axe_script):
    """Each TOC page, visited once (lazily) and shared by the tests below."""
    axe_source = axe_script[0]
    done: dict[str, Visit] = {}

    def get(page: str) -> Visit:
        if page not in done:
            visit = load(driver, site.url(page))
            visit.page = page
            visit.wide_pre = driver.execute_script(WIDE_PRE)
            stem = page.replace("/", "__")
            for mode in ("light", "dark"):
                driver.execute_script(SET_THEME, mode)
                time.sleep(0.3)  # let colour transitions settle
                visit.background[mode] = driver.execute_script(BACKGROUND)
                visit.screenshots[mode] = SHOTS / f"{stem}-{mode}.png"
                screenshot(driver, visit.screenshots[mode])
                visit.image_look[mode] = driver.execute_script(IMAGE_LOOK)
                if axe_source:
                    visit.axe[mode] = run_axe(driver, axe_source)
            driver.execute_script(SET_THEME, "light")
            done[page] = finish(driver, visit)
            REPORT["pages_visited"] += 1
            REPORT["images"] += len(visit.images)
            REPORT["images_loaded"] += sum(1 for i in visit.images if i["width"] > 0)
            REPORT["math_typeset"] += visit.dom["mathjax"]
            REPORT["screenshots"] += len(visit.screenshots)
        return done[page]

    return get


def static_math_count(page: str) -> int:
    """Math elements Sphinx wrote into the page, before MathJax."""
    html = (SITE / f"{page}.html").read_text(encoding="utf-8")
    return len(re.findall(r'<(?:span|div)[^>]*\bclass="math\b', html))


# --- tests ---------------------------------------------------------------------------


def test_toc_lists_pages():
    assert TOC_ERROR is None, TOC_ERROR
    assert PAGES, f"{TOC} lists no pages"


@pytest.mark.parametrize("page", PAGES)
def test_page_is_served(site, page):
    with urllib.request.urlopen(site.url(page), timeout=30) as response:
        assert response.status == 200
        assert b"</html>" in response.read()


def test_landing_page_is_served(site):
    with urllib.request.urlopen(site.base, timeout=30) as response:
        assert response.status == 200
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(site.base + "no-such-page.html", timeout=30)
    assert missing.value.code == 404


@pytest.mark.parametrize("page", PAGES)
def test_no_console_errors(visits, page):
    errors = visits(page).console_errors
    assert not errors, f"{page}: JavaScript console errors:\n" + "\n".join(errors)


@pytest.mark.parametrize("page", PAGES)
def test_only_local_requests_and_all_succeed(visits, page):
    visit = visits(page)
    outside = sorted({url for url in visit.requests if not is_local(url)})
    assert not outside, f"{page} reaches beyond 127.0.0.1 (the site must work offline):\n" + "\n".join(outside)
    failed = visit.failed_requests
    assert not failed, f"{page}: failed requests:\n" + "\n".join(failed)


@pytest.mark.parametrize("page", PAGES)
def test_every_image_loads(visits, page):
    broken = [i["src"] for i in visits(page).images if not i["width"] > 0]
    assert not broken, f"{page}: images that did not load: {broken}"


@pytest.mark.parametrize("page", PAGES)
def test_figures_have_alt_text(visits, page):
    missing = [i["src"] for i in visits(page).images if i["inContent"] and not (i["alt"] or "").strip()]
    assert not missing, f"{page}: images without alt text: {missing}"
    REPORT["images_with_alt"] += sum(1 for i in visits(page).images if (i["alt"] or "").strip())


@pytest.mark.parametrize("page", PAGES)
def test_math_is_typeset(visits, page):
    visit = visits(page)
    expected = static_math_count(page)
    REPORT["math_elements"] += expected
    raw = sorted(set(RAW_MATH.findall(visit.dom["text"])))
    assert not raw, f"{page}: raw TeX left in the text: {raw}"
    if expected:
        assert visit.mathjax_state == "typeset", f"{page}: MathJax {visit.mathjax_state}"
        assert visit.dom["mathjax"] >= expected, (
            f"{page}: {expected} math elements but {visit.dom['mathjax']} typeset by MathJax"
        )
    assert not visit.dom["mathErrors"], f"{page}: MathJax errors: {visit.dom['mathErrors']}"


@pytest.mark.parametrize("page", PAGES)
def test_executed_chapters_show_cells_and_outputs(visits, page):
    source = source_of(page)
    assert source is not None, f"no source for {page} in {BOOK}"
    cells = [tags for tags in code_cells(source) if not tags & {"remove-cell", "remove_cell"}]
    if not cells:
        pytest.skip(f"{page} has no code cells")
    dom = visits(page).dom
    shown = [tags for tags in cells if not tags & {"remove-input", "remove_input"}]
    REPORT["code_cells"] += len(cells)
    assert dom["inputs"] == len(shown), f"{page}: {len(shown)} code cells in {source.name}, {dom['inputs']} on the page"
    assert dom["outputs"] >= 1, f"{page}: no cell outputs: was the chapter executed?"
    assert not dom["tracebacks"], f"{page}: error outputs: {dom['tracebacks']}"


@pytest.mark.parametrize("page", PAGES)
def test_screenshots_light_and_dark(visits, page):
    visit = visits(page)
    assert visit.background["light"] > 0.5 and visit.background["dark"] < 0.5, (
        f"{page}: page background luminance light {visit.background['light']:.2f}, dark {visit.background['dark']:.2f}"
    )
    for path in visit.screenshots.values():
        assert path.stat().st_size > 1000, f"{path} is empty"


@pytest.mark.parametrize("page", PAGES)
def test_accessibility_light_and_dark(visits, axe_script, page):
    """axe-core in both colour modes: no critical or serious violation; the rest is reported."""
    if axe_script[0] is None:
        unavailable(axe_script[1])
    failing = []
    for mode, violations in visits(page).axe.items():
        assert not isinstance(violations, str), f"{page} ({mode}): {violations}"
        for v in violations:
            AXE_FINDINGS[(mode, v["impact"], v["id"])] += len(v["nodes"])
            if v["impact"] in AXE_FAILING:
                examples = "; ".join(f"{n['target']} ({n['summary']})" for n in v["nodes"][:3])
                failing.append(f"{mode}: {v['impact']} {v['id']} on {len(v['nodes'])} elements ({v['help']}): {examples}")
    REPORT["axe_checks"] += len(visits(page).axe)
    assert len(visits(page).axe) == 2, f"{page}: axe ran in {sorted(visits(page).axe)}, not light and dark"
    assert not failing, f"{page}: accessibility violations:\n" + "\n".join(failing)


#: Each training-log output block's width and the width it scrolls to, at LOG_WIDTH.
LOG_OVERFLOW = """
return Array.from(document.querySelectorAll("div.cell_output .output"))
  .filter(out => /\\[[IWE]\\]/.test(out.textContent))
  .flatMap(out => [out, ...out.querySelectorAll("div.highlight, pre")])
  .map(el => ({tag: el.tagName, cls: el.className, client: el.clientWidth, scroll: el.scrollWidth,
               text: el.textContent.trim().split("\\n")[0].slice(0, 80)}));
"""


def test_training_logs_fit_the_page_width(site, driver):
    """At 1280 px the Learning chapter's log lines wrap inside their box: no sideways scrolling."""
    if LOG_PAGE not in PAGES:
        pytest.skip(f"{TOC.name} does not list {LOG_PAGE}")
    with viewport(driver, LOG_WIDTH):
        finish(driver, load(driver, site.url(LOG_PAGE)))
        assert driver.execute_script("return window.innerWidth") == LOG_WIDTH
        blocks = driver.execute_script(LOG_OVERFLOW)
    assert blocks, f"{LOG_PAGE}: no training log output (lines with [I], [W] or [E]) found"
    wide = [b for b in blocks if b["scroll"] > b["client"]]
    REPORT["log_blocks_checked"] = len(blocks)
    assert not wide, f"{LOG_PAGE} at {LOG_WIDTH} px: log output scrolls sideways:\n" + "\n".join(
        f"<{b['tag'].lower()} class={b['cls']!r}> {b['scroll']} > {b['client']} px: {b['text']}" for b in wide
    )


@pytest.mark.parametrize("page", PAGES)
def test_code_and_outputs_wrap_instead_of_scrolling(visits, page):
    wide = visits(page).wide_pre
    assert not wide, f"{page}: code or output blocks scroll sideways at 1280 px; longest lines: {wide}"


@pytest.mark.parametrize("page", PAGES)
def test_figures_sit_on_white_in_dark_mode(visits, page):
    """Figure text is dark grey for a white background (style.py): dark mode must show each image on white, undimmed."""
    looks = visits(page).image_look["dark"]
    if not looks:
        pytest.skip(f"{page} has no images")
    wrong = [i for i in looks if i["background"] != "rgb(255, 255, 255)" or i["filter"] != "none"]
    assert not wrong, f"{page}: images not on a plain white card in dark mode: {wrong[:5]}"


def test_search_finds_the_linear_model_chapter(site, driver):
    if SEARCH_PAGE not in PAGES:
        pytest.skip(f"{TOC.name} does not list {SEARCH_PAGE}")
    visit = load(driver, site.base + f"search.html?q={SEARCH_QUERY}")
    deadline = time.monotonic() + 60
    summary = ""
    while time.monotonic() < deadline:
        summary = driver.execute_script(
            "const s = document.querySelector('#search-results .search-summary'); return s ? s.textContent : ''"
        )
        if "finished" in summary or "did not match" in summary:
            break
        time.sleep(0.2)
    hits = driver.execute_script(
        "return Array.from(document.querySelectorAll('#search-results ul.search li a')).map(a => a.getAttribute('href'))"
    )
    finish(driver, visit)
    REPORT["search_hits"] = len(hits)
    assert any(SEARCH_PAGE + ".html" in (href or "") for href in hits), (
        f"searching {SEARCH_QUERY!r} gave {summary!r} and {hits}, not {SEARCH_PAGE}"
    )
    assert not [u for u in visit.requests if not is_local(u)], f"search reached beyond 127.0.0.1: {visit.requests}"
    assert not visit.console_errors, f"search page console errors: {visit.console_errors}"


# --- internal links (static: reads the files, no browser) -----------------------------


class LinkParser(HTMLParser):
    """Collect the ids a page defines and the local URLs it refers to."""

    REFS = {("a", "href"), ("link", "href"), ("img", "src"), ("script", "src"), ("source", "src"), ("iframe", "src")}

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.refs: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs) -> None:
        for name, value in attrs:
            if name in ("id", "name") and value:
                self.ids.add(value)
            elif (tag, name) in self.REFS and value is not None:
                self.refs.append((tag, value))


@functools.lru_cache(maxsize=None)
def parsed(path: Path) -> LinkParser:
    parser = LinkParser()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser


def test_internal_links_resolve(site):
    """Crawl every HTML page reachable from the TOC pages; every local URL and anchor must exist."""
    queue = [SITE / "index.html", *(SITE / f"{page}.html" for page in PAGES)]
    seen: set[Path] = set()
    broken: list[str] = []
    links = anchors = 0
    while queue:
        page = queue.pop()
        if page in seen or not page.is_file():
            continue
        seen.add(page)
        for tag, ref in parsed(page).refs:
            parts = urlsplit(ref)
            if parts.scheme or parts.netloc or ref.startswith("javascript:"):
                continue  # external: the browser tests make sure none is loaded
            links += 1
            where = f"{page.relative_to(SITE)}: {tag} {ref!r}"
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if parts.path.endswith("/") or target.is_dir():
                target = target / "index.html"
            if SITE not in target.parents and target != SITE:
                broken.append(f"{where} leaves the site")
                continue
            if not target.is_file():
                broken.append(f"{where} -> {target.relative_to(SITE)} does not exist")
                continue
            if target.suffix == ".html":
                queue.append(target)
                if tag == "a" and parts.fragment:
                    anchors += 1
                    if unquote(parts.fragment) not in parsed(target).ids:
                        broken.append(f"{where} -> no id {parts.fragment!r} in {target.relative_to(SITE)}")
    REPORT["html_files_crawled"] = len(seen)
    REPORT["links_checked"] = links
    REPORT["anchors_checked"] = anchors
    assert not broken, f"{len(broken)} broken internal links:\n" + "\n".join(sorted(set(broken))[:50])


#: The page's sideways overflow, and each table's box: its width, the width it scrolls to, its tab stop,
#: and how far apart the first two numeric cells' texts sit (padding, in CSS pixels).
TABLE_LAYOUT = """
const NUMBER = /^-?[\\d,]+(\\.\\d+)?( ± [\\d.,]+)?( %)?$/;
return {page: document.documentElement.scrollWidth - window.innerWidth,
        tables: Array.from(document.querySelectorAll(".cell_output .output.text_html")).filter(b => b.querySelector("table"))
          .map(box => {
            const cells = Array.from(box.querySelectorAll("tbody tr:first-child td"));
            const gaps = cells.slice(1).map((td, i) => {
              const range = document.createRange();
              range.selectNodeContents(cells[i]); const left = range.getBoundingClientRect().right;
              range.selectNodeContents(td); return range.getBoundingClientRect().left - left;});
            return {client: box.clientWidth, scroll: box.scrollWidth, tabindex: box.getAttribute("tabindex"),
                    role: box.getAttribute("role"), name: box.getAttribute("aria-label"),
                    minGap: gaps.length ? Math.min(...gaps) : null,
                    align: cells.map(td => getComputedStyle(td).textAlign), texts: cells.map(td => td.textContent.trim()),
                    numericColumn: cells.map((td, i) => Array.from(box.querySelectorAll("tbody tr"))
                      .every(tr => tr.children[i] && NUMBER.test(tr.children[i].textContent.trim())))};
          })};
"""
TABLE_PAGES = [p for p in PAGES if (SITE / f"{p}.html").is_file()
               and "<table" in (SITE / f"{p}.html").read_text(encoding="utf-8").split('class="cell_output', 1)[-1]]


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("page", TABLE_PAGES)
def test_tables_read_well_at_desktop_and_phone_width(site, driver, page, width):
    """Padded cells, numbers right-aligned; a wide table scrolls in its own box, which the keyboard reaches."""
    with viewport(driver, width):
        finish(driver, load(driver, site.url(page)))
        layout = driver.execute_script(TABLE_LAYOUT)
        SHOTS.mkdir(parents=True, exist_ok=True)
        screenshot(driver, SHOTS / f"{page.replace('/', '-')}-tables-{width}px.png")
    assert layout["tables"], f"{page}: no table found"
    assert layout["page"] <= 1, f"{page} at {width} px: the page itself scrolls sideways by {layout['page']} px"
    for table in layout["tables"]:
        if table["scroll"] > table["client"] + 1:  # wider than the page: it scrolls in its own box
            assert table["tabindex"] == "0" and table["role"] == "region" and table["name"], (
                f"{page} at {width} px: a table that scrolls sideways cannot be reached by keyboard: {table}")
        assert table["minGap"] is None or table["minGap"] >= 8, (
            f"{page} at {width} px: cell texts {table['texts']} sit {table['minGap']:.1f} px apart")
        for align, text, numeric in zip(table["align"], table["texts"], table["numericColumn"]):
            if numeric:  # a column of numbers (a column of labels may hold one that looks like a number)
                assert align == "right", f"{page} at {width} px: the number {text} is aligned {align}"


#: Each wrapped code line in a cell: where its code starts, where each row it wraps onto starts (CSS px from
#: the box's content edge), and where the hang is capped (half the box).
WRAPPED_CODE = """
return Array.from(document.querySelectorAll("div.cell_input pre")).flatMap(pre => {
  const box = pre.getBoundingClientRect(), pad = parseFloat(getComputedStyle(pre).paddingLeft);
  const origin = box.left + pad, cap = (pre.clientWidth - 2 * pad) / 2;
  return Array.from(pre.querySelectorAll(".code-line")).map(line => {
    const range = document.createRange(); range.selectNodeContents(line);
    const rows = {};
    Array.from(range.getClientRects()).filter(r => r.width > 0).forEach(r => {
      const top = Math.round(r.top); rows[top] = Math.min(rows[top] ?? Infinity, r.left - origin); });
    const tops = Object.keys(rows).map(Number).sort((a, b) => a - b);
    const lead = line.textContent.length - line.textContent.trimStart().length;
    const ch = lead ? (() => { const r = document.createRange(); const t = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
      let node = t.nextNode(), seen = 0; while (node && seen + node.length <= lead) { seen += node.length; node = t.nextNode(); }
      r.setStart(node, lead - seen); r.setEnd(node, lead - seen + 1); return r.getBoundingClientRect(); })() : null;
    // Where the code starts on the first row: the indent's width. (A word too long to sit beside its
    // indent starts a row lower, on the hang.)
    const code = ch ? lead * ch.width : 0;
    return {text: line.textContent.slice(0, 70), code: code, cap: cap, rows: tops.slice(1).map(t => rows[t])};
  }).filter(l => l.rows.length);
});
"""


CODE_PAGES = [p for p in PAGES if (SITE / f"{p}.html").is_file()
              and 'class="cell_input' in (SITE / f"{p}.html").read_text(encoding="utf-8")]


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("page", CODE_PAGES)
def test_wrapped_code_lines_hang_right_of_their_indent(site, driver, page, width):
    """A long code line wraps onto rows that start right of its own indentation (capped at half the box)."""
    with viewport(driver, width):
        finish(driver, load(driver, site.url(page)))
        lines = driver.execute_script(WRAPPED_CODE)
        copied = driver.execute_script("return document.querySelector('div.cell_input pre').textContent")
        SHOTS.mkdir(parents=True, exist_ok=True)
        screenshot(driver, SHOTS / f"{page.replace('/', '-')}-code-{width}px.png")
    REPORT[f"wrapped_code_lines_{width}px"] += len(lines)
    source = (BOOK / f"{page}.md").read_text(encoding="utf-8")
    assert copied.rstrip("\n") in source, f"{page}: the first code cell's text is not its source as written"
    low = [(line["text"], min(line["rows"]), line["code"]) for line in lines
           if (min(line["rows"]) < line["code"] + 1 if line["code"] + 1 < line["cap"]
               else min(line["rows"]) < line["cap"] - 1)]
    assert not low, f"{page} at {width} px: wrapped rows start at or left of their line's code: {low[:5]}"
