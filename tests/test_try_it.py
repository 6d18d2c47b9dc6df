"""The "Try it" page in headless Chromium: the page's networks and preparation equal the package's.

Served and driven as in ``test_site.py`` (which also checks this page for
console errors, off-host requests and light/dark screenshots). Here:

- the page's probabilities for test-set images equal PyTorch's, for the same
  weights (the files the build exported), for all three networks;
- the page prepares pen strokes into the same 28 x 28 image as
  ``mnist_lessons.data.drawing``;
- drawing with (synthetic) pointer events, or from the keyboard, gives a
  prediction, and Delete clears it;
- the page's own files stay within their size budget;
- the page's SHA-256 equals hashlib's, the ``.bin`` URL carries the digest,
  and weights that do not match it (damaged, or a stale cached copy) are
  named on the page instead of run;
- opened from disk (``file://``, where ``fetch`` is refused), the page loads
  the weights from their ``.js`` copies and gives PyTorch's answers.

The time from navigation to the first prediction, the largest differences
and the asset sizes go to ``artifacts/try-it-report.json``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import shutil
import threading
import time
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import torch
from test_site import ARTIFACTS, SET_THEME, SHOTS, SITE, QuietHandler, driver, screenshot, site  # noqa: F401 (fixtures)

from mnist_lessons.data.drawing import prepare_strokes
from mnist_lessons.training.export import read_network, to_torch

pytestmark = pytest.mark.browser

PAGE = "book/try-it"
NETWORKS = ("linear", "multilayer", "cnn")
N_IMAGES = 24
TOLERANCE = 1e-4
ASSET_BUDGET = 15 * 2**20
REPORT: dict = {}

STROKES = [
    [[(20, 20), (70, 20), (40, 90)]],  # a small 7 in a corner
    [[(150, 40), (150, 240)]],  # a 1: tall and thin
    [[(60.3, 200.7)]],  # a dot
    [[(100, 60), (60, 140), (100, 220), (180, 220), (220, 140), (180, 60), (100, 60)]],
    [[(160, 50), (90, 170), (200, 170)], [(165, 100), (165, 235)]],  # two strokes
    [[(279, 279), (250, 0)], [(0, 0), (10.25, 5.5)]],  # at the edges
]

WAIT_READY = """
const done = arguments[arguments.length - 1];
const wait = () => window.mnistTryIt ? window.mnistTryIt.ready.then(() => done("ready"), e => done("failed: " + e))
                                     : setTimeout(wait, 50);
wait();
"""


@pytest.fixture(scope="module")
def page(site, driver):  # noqa: F811
    driver.get(site.url(PAGE))
    assert driver.execute_async_script(WAIT_READY) == "ready"
    first = driver.execute_script(
        "const t0 = performance.now(); const p = mnistTryIt.predict(new Array(784).fill(0.5));"
        "return {loaded: mnistTryIt.loadedAt, predicted: performance.now(), predictMs: performance.now() - t0};"
    )
    REPORT["weights_loaded_ms_after_navigation"] = round(first["loaded"], 1)
    REPORT["first_prediction_ms_after_navigation"] = round(first["predicted"], 1)
    REPORT["one_prediction_of_three_networks_ms"] = round(first["predictMs"], 2)
    yield driver
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "try-it-report.json").write_text(json.dumps(REPORT, indent=1) + "\n")
    print("\ntry-it:", json.dumps(REPORT))


@pytest.fixture(scope="module")
def exported():
    folder = SITE / "_static" / "try-it"
    return {name: read_network(folder / f"{name}.json") for name in NETWORKS}


def test_page_probabilities_equal_pytorch(page, exported):
    from mnist_lessons.data.batches import mnist_splits

    try:
        test = mnist_splits().test
    except Exception as err:  # noqa: BLE001 (the site was built, so the data should be there)
        pytest.skip(f"no MNIST test set: {err}")
    images = torch.cat([test.x[:N_IMAGES].reshape(N_IMAGES, 784),
                        torch.from_numpy(np.stack([prepare_strokes(s, 280, 280) for s in STROKES])).reshape(-1, 784)])
    page_p = page.execute_script(
        "return arguments[0].map(x => mnistTryIt.predict(x));", images.double().tolist()
    )
    for name, (meta, weights) in exported.items():
        with torch.no_grad():
            expected = torch.softmax(to_torch(meta, weights)(images), dim=1).double().numpy()
        got = np.array([p[name] for p in page_p])
        assert got.shape == expected.shape == (len(images), 10)
        error = float(np.abs(got - expected).max())
        REPORT[f"max_abs_prob_diff_{name}"] = error
        assert error < TOLERANCE, f"{name}: page and PyTorch differ by {error:.2e}"
        labels = test.y[:N_IMAGES].numpy()
        REPORT[f"{name}_right_of_first_{N_IMAGES}_test_images"] = int((got[:N_IMAGES].argmax(1) == labels).sum())


@pytest.mark.parametrize("index", range(len(STROKES)))
def test_page_prepares_strokes_as_the_package_does(page, index):
    strokes = STROKES[index]
    in_page = np.array(page.execute_script("return mnistTryIt.prepare(arguments[0], 280, 280, 9);", strokes))
    in_python = prepare_strokes(strokes, 280, 280, radius=9).reshape(-1)
    assert in_page.shape == (784,)
    assert np.abs(in_page - in_python).max() < 1e-6
    assert in_python.max() > 0.5


DRAW = """
const canvas = document.querySelector("#try-it .try-it-canvas");
canvas.scrollIntoView({block: "center"});
const rect = canvas.getBoundingClientRect();
const fire = (type, [x, y]) => canvas.dispatchEvent(new PointerEvent(type, {
  bubbles: true, cancelable: true, pointerId: 1, pointerType: "pen", isPrimary: true, buttons: type === "pointerup" ? 0 : 1,
  clientX: rect.left + x * rect.width / 280, clientY: rect.top + y * rect.height / 280}));
const points = arguments[0];
fire("pointerdown", points[0]);
points.slice(1).forEach(p => fire("pointermove", p));
fire("pointerup", points[points.length - 1]);
"""

STATE = """
const root = document.getElementById("try-it");
return {predicted: root.dataset.predicted, strokes: mnistTryIt.strokes(),
        answers: Array.from(root.querySelectorAll(".try-it-answer"), e => e.textContent),
        values: Array.from(root.querySelectorAll(".try-it-value"), e => e.textContent),
        status: root.querySelector(".try-it-status").textContent};
"""


def test_drawing_with_a_pen_gives_predictions(page):
    stroke = [(90 + 4 * i, 60) for i in range(26)] + [(190 - 3 * i, 60 + 8 * i) for i in range(1, 22)]  # a 7
    page.execute_script(DRAW, stroke)
    state = page.execute_script(STATE)
    assert state["predicted"] == "yes", state
    assert all(a in "0123456789" and len(a) == 1 for a in state["answers"]), state["answers"]
    assert len(state["values"]) == 30 and all(v.endswith("%") for v in state["values"])
    assert state["status"].startswith("Predictions: Linear"), state["status"]
    (drawn,) = state["strokes"]
    assert np.allclose(drawn, stroke, atol=1.0)  # the page recorded what was drawn, in its 280 x 280 grid
    shown = page.execute_script("return mnistTryIt.prepare(mnistTryIt.strokes(), 280, 280, 9);")
    assert np.abs(np.array(shown) - prepare_strokes([drawn], 280, 280).reshape(-1)).max() < 1e-6
    REPORT["pen_stroke_answers"] = state["answers"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.execute_script("window.scrollTo(0, 0);")
    for mode in ("light", "dark"):
        page.execute_script(SET_THEME, mode)
        time.sleep(0.3)
        screenshot(page, SHOTS / f"book__try-it-drawn-{mode}.png")
    page.execute_script(SET_THEME, "light")


def test_keyboard_draws_an_example_and_clears(page):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    root = page.find_element(By.ID, "try-it")
    root.find_element(By.CSS_SELECTOR, ".try-it-clear").send_keys(Keys.ENTER)
    assert page.execute_script(STATE)["predicted"] == "no"
    root.find_element(By.CSS_SELECTOR, ".try-it-example").send_keys(Keys.ENTER)
    state = page.execute_script(STATE)
    assert state["predicted"] == "yes" and state["strokes"], state
    REPORT["example_7_answers"] = state["answers"]
    root.find_element(By.CSS_SELECTOR, ".try-it-canvas").send_keys(Keys.DELETE)
    state = page.execute_script(STATE)
    assert state["predicted"] == "no" and not state["strokes"]
    assert state["status"] == "The drawing area is empty."


def test_page_assets_within_budget(site):  # noqa: F811
    files = [SITE / "_static" / "try-it.js", SITE / "_static" / "try-it.css", *(SITE / "_static" / "try-it").iterdir()]
    sizes = {f.relative_to(SITE).as_posix(): f.stat().st_size for f in files if f.is_file()}
    REPORT["asset_bytes"] = sizes
    REPORT["asset_bytes_total"] = sum(sizes.values())
    assert {"_static/try-it/cnn.bin", "_static/try-it/linear.json"} <= set(sizes)
    assert sum(sizes.values()) <= ASSET_BUDGET, sizes


# --- the weights' SHA-256, and the page opened from disk -----------------------------
# These tests navigate away from the page, so they come last.


def test_page_sha256_equals_hashlib(page):
    rng = np.random.default_rng(256)
    for n in (0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 82_000):
        data = rng.integers(0, 256, n, dtype=np.uint8)
        got = page.execute_script("return mnistTryIt.sha256(new Uint8Array(arguments[0]));", data.tolist())
        assert got == hashlib.sha256(data.tobytes()).hexdigest(), n


def test_the_weights_url_carries_their_digest(page, exported):
    fetched = page.execute_script("return performance.getEntriesByType('resource').map(e => e.name);")
    for name, (meta, _) in exported.items():
        assert any(url.endswith(f"/_static/try-it/{name}.bin?sha256={meta['sha256']}") for url in fetched), fetched


def page_state(driver, url: str) -> tuple[str, str]:
    """Open ``url``; what the page's loading gave (``ready`` or ``failed: ...``) and its status line."""
    driver.get(url)
    outcome = driver.execute_async_script(WAIT_READY)
    return outcome, driver.execute_script("return document.querySelector('#try-it .try-it-status').textContent;")


def test_the_page_opened_from_disk_gives_pytorchs_answers(driver, exported):  # noqa: F811
    if not (SITE / f"{PAGE}.html").is_file():
        pytest.skip(f"no {PAGE}.html in {SITE}")
    outcome, status = page_state(driver, (SITE / f"{PAGE}.html").as_uri())
    assert outcome == "ready" and status == "The networks are loaded: draw a digit.", (outcome, status)
    loaded = driver.execute_script("return Array.from(document.scripts, s => s.src);")  # file:// has no resource timing
    assert all(any(url.endswith(f"/_static/try-it/{name}.js") for url in loaded) for name in NETWORKS), loaded
    images = torch.cat([torch.rand(4, 784), torch.from_numpy(np.stack([prepare_strokes(s, 280, 280) for s in STROKES])).reshape(-1, 784)])
    page_p = driver.execute_script("return arguments[0].map(x => mnistTryIt.predict(x));", images.double().tolist())
    for name, (meta, weights) in exported.items():
        with torch.no_grad():
            expected = torch.softmax(to_torch(meta, weights)(images), dim=1).double().numpy()
        assert np.abs(np.array([p[name] for p in page_p]) - expected).max() < TOLERANCE, name
    state = driver.execute_script(STATE)
    assert state["answers"] == ["–"] * 3  # nothing drawn yet
    driver.execute_script("document.querySelector('#try-it .try-it-example').click();")
    assert driver.execute_script(STATE)["predicted"] == "yes"


def flip_first_layer_signs(data: bytes, meta: dict) -> bytes:
    """The same weights with the sign of every number of the first layer flipped: same length, other answers."""
    start, count = meta["layers"][0]["weight"]
    damaged = bytearray(data)
    for i in range(start, start + count):
        damaged[4 * i + 3] ^= 0x80  # little-endian float32: the sign is the top bit of the last byte
    return bytes(damaged)


def site_with_damaged_cnn(folder: Path) -> Path:
    """A copy of the site (links to its files) whose cnn.bin and cnn.js hold damaged weights, cnn.json unchanged."""
    folder.mkdir()
    for entry in SITE.iterdir():
        if entry.name != "_static":
            (folder / entry.name).symlink_to(entry)
    (folder / "_static").mkdir()
    for entry in (SITE / "_static").iterdir():
        if entry.name != "try-it":
            (folder / "_static" / entry.name).symlink_to(entry)
    weights = shutil.copytree(SITE / "_static" / "try-it", folder / "_static" / "try-it")
    meta = json.loads((weights / "cnn.json").read_text())
    (weights / "cnn.bin").write_bytes(flip_first_layer_signs((weights / "cnn.bin").read_bytes(), meta))
    prefix, files = (weights / "cnn.js").read_text().split("] = ", 1)
    files = json.loads(files.rstrip().removesuffix(";"))
    files["weights"] = base64.b64encode(flip_first_layer_signs(base64.b64decode(files["weights"]), meta)).decode()
    (weights / "cnn.js").write_text(f"{prefix}] = {json.dumps(files)};\n")
    return folder


@contextmanager
def serve(folder: Path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_damaged_weights_are_named_not_run(driver, tmp_path):  # noqa: F811
    if not (SITE / f"{PAGE}.html").is_file():
        pytest.skip(f"no {PAGE}.html in {SITE}")
    damaged = site_with_damaged_cnn(tmp_path / "site")
    with serve(damaged) as base:
        outcome, status = page_state(driver, f"{base}{PAGE}.html")
    assert outcome.startswith("failed") and status == (
        "The trained networks could not be loaded (cnn.bin does not match the SHA-256 in cnn.json (a damaged or "
        "outdated copy): reload without the cache (Shift+reload) or rebuild the book)."), status
    outcome, status = page_state(driver, (damaged / f"{PAGE}.html").as_uri())
    assert outcome.startswith("failed") and status == (
        "The trained networks could not be loaded (try-it/cnn.js is damaged (its weights do not match their "
        "SHA-256): rebuild the book)."), status
