"""The HTML report in a real browser (headless Chromium through Playwright) at a desktop and a phone width: the answer
on the first screen, the main metric reachable, figures legible, nothing fetched.

Needs Debian's `chromium` (`apt-get install chromium`) and Playwright's Python client (`pip install playwright`; no
`playwright install`: the system Chromium is used). Run with `pytest -m browser`; skipped when either is missing.
Screenshots are written under the test's tmp folder, or under `$BENCH_SCREENSHOTS` when it is set.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bench.report import build_report
from tests.report_fixtures import write_sweep

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip("needs Debian's chromium on PATH (apt-get install -y chromium)", allow_module_level=True)
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="needs Playwright's Python client (pip install playwright)"
)

# Offline and quiet: nothing the browser does on its own may reach a network.
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDTHS = {"desktop": (1280, 800), "phone": (390, 844)}  # CSS px; 390 × 844 is a current phone's viewport
LEGIBLE_PX = 9.0  # the smallest rendered text a figure may show


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    write_sweep(root / "results")
    return build_report(root / "results", "sweep", root / "report").parent / "report.html"


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(params=list(WIDTHS), scope="module")
def page(request, browser, report, tmp_path_factory):
    """The report open at one width, its requests recorded, and screenshots of its first screen and whole page."""
    width, height = WIDTHS[request.param]
    page = browser.new_page(viewport={"width": width, "height": height})
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(report.as_uri())
    page.wait_for_load_state("load")
    shots = Path(os.environ.get("BENCH_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / f"report-{width}-first-screen.png"))
    page.screenshot(path=str(shots / f"report-{width}-full.png"), full_page=True)
    page.requests = requests  # type: ignore[attr-defined]
    yield page
    page.close()


def test_nothing_is_fetched(page, report):
    """Self-contained: the browser asked for the page itself and nothing else (no CDN, no web font)."""
    assert page.requests == [report.as_uri()]


def test_the_answer_is_on_the_first_screen(page):
    assert page.locator("#answer").count() == 1
    box = page.locator("#answer").bounding_box()
    assert box is not None and box["height"] > 0
    height = page.viewport_size["height"]
    assert box["y"] < height and box["y"] + box["height"] <= height  # the whole line, not only its top
    assert page.locator("#answer").inner_text().startswith("Pick ")
    assert page.locator("nav.toc a").count() >= 8  # and the way to the rest


def test_the_page_never_scrolls_sideways(page):
    """Wide tables and figures scroll inside their own frame; the page itself fits the screen."""
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def _frame(page, heading: str):
    """The scrolling frame of the first table after the level-2 heading `heading`."""
    return page.locator(f"xpath=//h2[normalize-space()='{heading}']/following-sibling::div[@class='table-wrap'][1]")


def _column(page, heading: str, header: str) -> tuple[object, int]:
    """The table right under `heading`, and the index of its column whose header starts with `header`."""
    table = _frame(page, heading).locator("table")
    headers = [h.strip() for h in table.locator("thead th").all_inner_texts()]
    return table, next(i for i, h in enumerate(headers) if h.startswith(header))


@pytest.mark.parametrize(("heading", "header"), [("Quality", "accuracy"), ("Paired comparison with the baseline", "Δ")])
def test_every_main_metric_cell_is_on_screen(page, heading, header):
    """With the table scrolled to its start, every cell of the main metric lies inside the viewport: it is read
    without scrolling, whatever the screen."""
    table, index = _column(page, heading, header)
    table.evaluate("t => { t.parentElement.scrollLeft = 0; t.scrollIntoView(); }")
    width = page.viewport_size["width"]
    cells = table.locator(f"tbody tr > td:nth-child({index + 1})")
    assert cells.count() >= 4
    for k in range(cells.count()):
        box = cells.nth(k).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, (k, box, width)


def test_the_runner_column_stays_when_a_table_scrolls(page):
    """Scrolled to its far end, a wide table still shows which runner each row is."""
    wrap = _frame(page, "Cost")
    frame = wrap.evaluate("w => { w.scrollLeft = w.scrollWidth; return w.scrollLeft; }")
    runner = wrap.locator("tbody tr:first-child > td:first-child").bounding_box()
    wrap = wrap.bounding_box()
    assert runner is not None and wrap is not None
    if page.viewport_size["width"] < 600:
        assert frame > 0  # the cost table is wider than a phone: it did scroll
    assert abs(runner["x"] - wrap["x"]) <= 2


def test_figures_are_inline_svg_with_legible_text(page):
    """Every figure is an inline SVG at least 300 px wide whose smallest text renders at 9 px or more."""
    figures = page.locator("figure svg.plot")
    assert figures.count() == 9  # the seven suite plots, the confusion matrices and the reliability diagram
    assert page.locator("figure img").count() == 0
    for k in range(figures.count()):
        width, smallest, texts = figures.nth(k).evaluate(
            """svg => {
                const scale = svg.getScreenCTM().a;  // CSS px per SVG user unit
                const sizes = [...svg.querySelectorAll('text')].map(
                    t => parseFloat(getComputedStyle(t).fontSize) * scale);
                return [svg.getBoundingClientRect().width, Math.min(...sizes), sizes.length];
            }"""
        )
        assert texts > 0 and width >= 300, (k, width)
        assert smallest >= LEGIBLE_PX - 0.05, (k, smallest)


def test_methods_notes_are_folded_and_warnings_are_not(page):
    folded = page.locator("details.notes")
    assert folded.count() >= 5 and not folded.first.evaluate("d => d.open")
    assert page.locator("p.note", has_text="do not name their positive class").first.is_visible()
