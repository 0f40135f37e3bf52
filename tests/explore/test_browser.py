"""The explorer in a real browser: Playwright driving Debian's Chromium (``apt-get install chromium``).

Skipped when the ``playwright`` package or the Chromium binary is missing (set GLASSNET_CHROMIUM to use
another binary; browsers are never downloaded). The main views' screenshots in docs/explore.md are
taken here, so they cannot drift from the page: with GLASSNET_WRITE_SCREENSHOTS=1 into docs/images,
otherwise into a temporary folder (a test run leaves the checkout as it was).
"""

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = os.environ.get("GLASSNET_CHROMIUM", "/usr/bin/chromium")
if not os.path.exists(CHROMIUM):
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
IMAGES = DOCS_IMAGES  # set by the fixture below
VIEW = {"width": 1400, "height": 900}


@pytest.fixture(scope="module", autouse=True)
def _screenshot_folder(tmp_path_factory):
    """docs/images when GLASSNET_WRITE_SCREENSHOTS=1, else a temporary folder."""
    global IMAGES
    write = os.environ.get("GLASSNET_WRITE_SCREENSHOTS") == "1"
    IMAGES = DOCS_IMAGES if write else tmp_path_factory.mktemp("screenshots")
    yield IMAGES
    IMAGES = DOCS_IMAGES


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Page:
    """A page that records console errors and failed requests; ``check()`` asserts there were none."""

    def __init__(self, browser, offline=False):
        self.context = browser.new_context(viewport=VIEW)
        self.errors, self.blocked = [], []
        if offline:
            def route(r):
                if r.request.url.startswith(("file:", "data:")):
                    r.continue_()
                else:
                    self.blocked.append(r.request.url)
                    r.abort()
            self.context.route("**/*", route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def open(self, url):
        self.page.goto(url)
        self.ready()
        return self.page

    def ready(self):
        self.page.wait_for_selector('body[data-ready="1"][data-busy="0"]', timeout=60_000)

    def settle(self):
        until(lambda: self.page.get_attribute("body", "data-busy") == "0")

    def check(self):
        assert self.errors == [], self.errors
        self.context.close()


def until(check, timeout=60.0):
    """Poll ``check()`` from Python until it is true (page.wait_for_function would need 'unsafe-eval' under the
    page's Content-Security-Policy)."""
    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, "timed out waiting for the page"
        time.sleep(0.05)


def serve_model(name):
    from explore_helpers import serve

    from glassnet.explore import open_explorer
    from glassnet.explore.server import App

    return serve(App(open_explorer(model=name)))


def data_v(page, selector):
    return [float(v) for v in page.eval_on_selector_all(selector, "els => els.map(e => e.dataset.v)")]


def click_map(page, selector, y, x):
    box = page.locator(selector).bounding_box()
    h, w = page.eval_on_selector(selector, "c => [c.height, c.width]")
    page.mouse.click(box["x"] + (x + 0.5) * box["width"] / w, box["y"] + (y + 0.5) * box["height"] / h)


def check_lecture_sum(page):
    products = data_v(page, "#pane-lecture td.prod")
    sums = data_v(page, "#pane-lecture .chsum")
    bias, total, value = (data_v(page, s)[0] for s in ("#lecture-bias", "#lecture-total", "#lecture-value"))
    assert products and sum(products) + bias == pytest.approx(total, rel=1e-9, abs=1e-12)
    assert sum(sums) == pytest.approx(sum(products), rel=1e-9, abs=1e-12)
    assert total == pytest.approx(value, rel=1e-5, abs=1e-6)
    return value


def test_lenet_views_lecture_backward_replay(browser, live):
    url, app = live
    p = Page(browser)
    page = p.open(url + "/")
    assert page.locator("#graph-svg .node").count() == 12
    assert page.locator("#pane-activations canvas[data-channel]").count() == 6
    assert page.locator("#pred").get_attribute("data-class") == "7"  # test image 0 is a 7
    page.screenshot(path=str(IMAGES / "explore-activations.png"))

    click_map(page, '#pane-activations canvas[data-channel="2"]', 9, 17)       # a conv output pixel
    page.wait_for_selector("#lecture-value")
    p.settle()
    assert "output [2, 9, 17]" in page.inner_text("#pane-lecture h2")
    value = check_lecture_sum(page)
    act = np.frombuffer(__import__("base64").b64decode(
        app.explorer.activation("test:0", "features.0")["array"]["data"]), "<f4").reshape(6, 28, 28)
    assert value == act[2, 9, 17]
    page.screenshot(path=str(IMAGES / "explore-lecture.png"))
    page.click("#step-right")                                                   # the window moves by the stride
    until(lambda: "[2, 9, 18]" in page.inner_text("#pane-lecture h2"))
    p.settle()
    assert check_lecture_sum(page) == act[2, 9, 18]
    assert "x=18" in page.url and "layer=features.0" in page.url

    page.click("#pane-lecture .next-layer")                                                  # ReLU: what it cut
    until(lambda: "ReLU cut" in page.inner_text("#pane-lecture"))
    page.click("#pane-lecture .next-layer")                                                  # max pooling: the routing
    page.wait_for_selector("#pane-lecture td.max")

    page.click('#graph-svg .node[data-name="features.3"]')
    page.click('#tabs button[data-tab="backward"]')
    page.wait_for_selector("#wgrad-rule")
    p.settle()
    rule, lib = data_v(page, "#wgrad-rule td"), data_v(page, "#wgrad-library td")
    assert len(rule) == 25 and np.allclose(rule, lib, rtol=1e-4, atol=1e-9)
    page.locator("#wgrad-rule").scroll_into_view_if_needed()
    page.screenshot(path=str(IMAGES / "explore-backward.png"))

    page.click('#tabs button[data-tab="looks"]')
    page.wait_for_selector("#gradcam")
    p.settle()
    page.screenshot(path=str(IMAGES / "explore-looks.png"))

    page.click('#tabs button[data-tab="training"]')
    before = data_v(page, "#prediction .prob")
    page.locator("#epoch").fill("0")                                           # the weights after epoch 1
    until(lambda: page.inner_text("#epoch-label") == "epoch 1")
    p.settle()
    until(lambda: data_v(page, "#prediction .prob")[0] != before[0])
    assert "epoch=1" in page.url
    page.screenshot(path=str(IMAGES / "explore-training.png"))
    p.check()


def test_url_state_opens_the_same_view(browser, live):
    url, _ = live
    p = Page(browser)
    page = p.open(url + "/#input=test:3&layer=features.3&c=2&y=4&x=5&tab=lecture")
    assert "features.3" in page.inner_text("#pane-lecture h2") and "[2, 4, 5]" in page.inner_text("#pane-lecture h2")
    assert page.inner_text("#input-name").startswith("test:3")
    check_lecture_sum(page)
    p.check()


def test_drawing_a_digit_changes_the_prediction(browser, live):
    url, _ = live
    p = Page(browser)
    page = p.open(url + "/")
    assert page.locator("#pred").get_attribute("data-class") == "7"
    page.locator("#draw").scroll_into_view_if_needed()
    box = page.locator("#draw").bounding_box()
    cx, cy, r = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, box["width"] * 0.3
    page.mouse.move(cx + r, cy)
    page.mouse.down()
    for t in np.linspace(0, 2 * np.pi, 40):                                     # a "0"
        page.mouse.move(cx + r * np.cos(t), cy + 1.3 * r * np.sin(t))
    page.mouse.up()
    until(lambda: page.inner_text("#input-name").startswith("upload:"))
    p.settle()
    until(lambda: page.get_attribute("#pred", "data-class") != "7")
    assert page.locator("#pred").get_attribute("data-class") == "0"
    page.locator("#inputs").screenshot(path=str(IMAGES / "explore-drawing.png"))
    p.check()


def test_an_upload_that_is_not_an_image_is_refused_in_the_page(browser, live, tmp_path):
    url, _ = live
    p = Page(browser)
    page = p.open(url + "/")
    bad = tmp_path / "notes.png"
    bad.write_text("this is not a picture")
    page.set_input_files("#upload", str(bad))
    until(lambda: "not an image" in page.inner_text("#upload-msg"))
    assert page.inner_text("#input-name").startswith("test:0")
    p.errors = [e for e in p.errors if "status of 400" not in e]  # the refusal itself
    p.check()


@pytest.mark.parametrize("model,node,frames", [("resnet20", "layer2.0.conv1", 9), ("googlenet", "inception3a.branch2.1.conv", 9)])
def test_branching_models_load(browser, model, node, frames):
    server, url = serve_model(model)
    try:
        p = Page(browser)
        page = p.open(url + "/")
        assert page.locator("#graph-svg .frame").count() == frames      # residual blocks / inception modules
        page.click(f'#graph-svg .node[data-name="{node}"]')
        page.click('#tabs button[data-tab="lecture"]')
        page.wait_for_selector("#lecture-value")
        p.settle()
        assert node in page.inner_text("#pane-lecture h2")
        value = data_v(page, "#lecture-value")[0]
        assert data_v(page, "#lecture-total")[0] == pytest.approx(value, rel=1e-5, abs=1e-6)
        if model == "googlenet":
            page.check("#graph-fit")
            page.click('#tabs button[data-tab="activations"]')
            p.settle()
            page.screenshot(path=str(IMAGES / "explore-googlenet.png"))
        p.check()
    finally:
        server.shutdown()
        server.server_close()


def test_an_onnx_file_loads(browser, lenet_onnx):
    """``glassnet explore lenet5.onnx``: the same page, the file's layers, class names and test images."""
    from explore_helpers import explorer_of, serve

    from glassnet.explore.server import App

    server, url = serve(App(explorer_of(lenet_onnx)))
    try:
        p = Page(browser)
        page = p.open(url + "/")
        assert "lenet5.onnx" in page.inner_text("#title")
        assert page.locator("#graph-svg .node").count() == 12
        assert page.locator("#pane-activations canvas[data-channel]").count() == 6
        assert page.locator("#pred").get_attribute("data-class") == "7"  # test image 0 is a 7
        page.click('#tabs button[data-tab="lecture"]')
        page.wait_for_selector("#lecture-value")
        p.settle()
        check_lecture_sum(page)
        p.check()
    finally:
        server.shutdown()
        server.server_close()


def test_export_opens_from_file_with_the_network_blocked(browser, lenet_run, tmp_path):
    from glassnet.cli import main

    out = tmp_path / "explorer.html"
    assert main(["explore", str(lenet_run), "--export", str(out), "--inputs", "test:0,test:1"]) == 0
    p = Page(browser, offline=True)
    page = p.open(out.as_uri())
    assert page.locator("#graph-svg .node").count() == 12
    assert page.locator("#pane-activations canvas[data-channel]").count() == 6
    page.click('#tabs button[data-tab="lecture"]')
    page.wait_for_selector("#lecture-value")
    check_lecture_sum(page)
    page.click("#step-down")
    until(lambda: "[0, 15, 14]" in page.inner_text("#pane-lecture h2"))
    check_lecture_sum(page)
    page.click('#tabs button[data-tab="backward"]')
    page.wait_for_selector("#wgrad-rule")
    page.click("#inputs .picklist button:nth-child(2)")                         # the second input
    until(lambda: page.inner_text("#input-name").startswith("test:1"))
    page.click('#tabs button[data-tab="looks"]')
    page.wait_for_selector("#gradcam")
    assert p.blocked == []
    p.check()
    assert json.loads(out.read_text().split('id="glassnet-export">', 1)[1].split("</script>", 1)[0])["inputs"]
