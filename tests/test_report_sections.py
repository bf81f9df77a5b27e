"""The report's page: sections registered in one list and laid out from it (answer, contents, decision before
diagnosis), each once; the HTML's folded notes and inline figures (`bench.report.sections`, `render`, `svg`)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from bench.report import build_report, svg
from bench.report.build import report_data
from bench.report.render import Heading, Paragraph, to_markdown
from bench.report.sections import DIAGNOSTIC, KINDS, SECTIONS, Section, page, slug
from tests.report_fixtures import make_record, make_test_set, predictions, prf, write_run, write_sweep


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sections")
    write_sweep(root / "results")
    return build_report(root / "results", "sweep", root / "report")


def _headings(text: str, level: int) -> list[str]:
    return re.findall(rf"^{'#' * level} (.+)$", text, flags=re.M)


def test_decision_sections_come_before_diagnostic_ones(sweep):
    """Quality, cost and the paired comparison are read before per class and calibration (they came after per class
    and calibration, 3,600 px down)."""
    order = _headings(sweep.read_text(encoding="utf-8"), 2)
    decide = [order.index(t) for t in ("Quality", "Cost", "Paired comparison with the baseline")]
    explain = [order.index(t) for t in ("Accuracy by document length", "Per class", "Calibration", "Plots")]
    assert order[0] == "Verdict" and max(decide) < min(explain)
    assert [KINDS.index(s.kind) for s in SECTIONS] == sorted(KINDS.index(s.kind) for s in SECTIONS)


def test_no_section_or_figure_twice(sweep):
    """Every heading once; the confusion matrices once (as the figure, which carries the counts), not also as
    one table per runner."""
    text = sweep.read_text(encoding="utf-8")
    headings = _headings(text, 2) + _headings(text, 3)
    assert len(headings) == len(set(headings)), headings
    assert text.count("confusion_matrices.png") == 1
    assert "| pred neg |" not in text and "true neg" not in text
    figures = re.findall(r"\]\((plots/[^)]+\.png)\)", text)
    assert len(figures) == len(set(figures))


def test_the_page_opens_with_a_one_line_answer_and_contents(sweep):
    text = sweep.read_text(encoding="utf-8")
    first = text.split("\n\n")[1]
    assert first.startswith("> Pick longformer-512-4096")
    assert "Reading more pays: it gains +21.17 pp over roberta-512" in first and "8.0× the training time" in first
    links = re.findall(r"^- \[(.+)\]\(#(.+)\)$", text.split("## Verdict")[0], flags=re.M)
    assert [title for title, _ in links] == _headings(text, 2)
    assert all(anchor == slug(title) for title, anchor in links)
    page_html = (sweep.parent / "report.html").read_text(encoding="utf-8")
    for title, anchor in links:
        assert f'<h2 id="{anchor}">{title}</h2>' in page_html
        assert f'<a href="#{anchor}">{title}</a>' in page_html


def test_slug_is_githubs_anchor():
    assert slug("Paired comparison with the baseline") == "paired-comparison-with-the-baseline"
    assert slug("Multi-label quality") == "multi-label-quality"
    assert slug("Per-document F1 (by length)") == "per-document-f1-by-length"


def test_the_main_metric_is_next_to_the_runner(sweep):
    """At 390 px only the first columns fit: accuracy is the second (it was the sixth, off a phone's screen)."""
    text = sweep.read_text(encoding="utf-8")
    header = next(line for line in text.split("## Quality")[1].splitlines() if line.startswith("| runner |"))
    assert header.startswith("| runner | accuracy | F1")


def test_methods_notes_fold_and_warnings_stay_open(sweep):
    html = (sweep.parent / "report.html").read_text(encoding="utf-8")
    quality = html.split('<h2 id="quality">')[1].split("<h2")[0]
    folded = quality.split('<details class="notes">')[1]
    assert "Mean ± std (sample, ddof=1)" in folded  # how the table was computed: folded
    assert "do not name their positive class" in quality.split("<details")[0]  # a warning: open
    assert "How to read this table" in folded


def test_figures_are_inline_svg_with_their_text_as_text(sweep):
    html = (sweep.parent / "report.html").read_text(encoding="utf-8")
    assert "<img" not in html and html.count('<svg xmlns="http://www.w3.org/2000/svg"') == 9
    saved = (sweep.parent / "plots" / "accuracy_vs_length.svg").read_text(encoding="utf-8")
    assert "<text " in saved and "Verdana, sans-serif" in saved  # text a browser sizes and finds, with fallbacks
    md = sweep.read_text(encoding="utf-8")
    assert "[![Accuracy vs max sequence length](plots/accuracy_vs_length.png)](plots/accuracy_vs_length.svg)" in md


def test_inline_svg_is_sized_so_its_smallest_text_stays_legible(tmp_path):
    figure = tmp_path / "f.svg"
    figure.write_text(
        '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="300pt" height="150pt" '
        'viewBox="0 0 300 150"><metadata>x</metadata><defs><clipPath id="c1"><rect/></clipPath></defs>'
        '<g clip-path="url(#c1)"><text style="font-size: 10px">a</text><text style="font-size: 6px">b</text>'
        '<use xlink:href="#c1"/></g></svg>\n',
        encoding="utf-8",
    )
    markup = svg.inline(figure, "fig", "A <title>")
    root = ET.fromstring(markup.replace("xlink:href", "href"))
    style = dict(part.split(": ") for part in root.get("style").split("; "))
    # 300 pt is 400 px, where 6 units of text would be 8 px: it needs 1.5 px per unit, 450 px, at any screen
    assert style["max-width"] == "450px" and style["min-width"] == "450px"
    assert root.get("aria-label") == "A <title>"  # escaped in the markup, read back by the parser
    assert 'id="fig-c1"' in markup and "url(#fig-c1)" in markup and 'href="#fig-c1"' in markup
    assert "<metadata>" not in markup and "<?xml" not in markup


def test_a_section_plugs_in_by_registering_it(tmp_path):
    """A new section is one `Section` in the list: the page shows it under its heading, in the contents, in order."""
    labels, n_tokens = make_test_set(40)
    for runner, length in (("roberta-512", 512), ("longformer-256-4096", 4096)):
        record = make_record("plug", runner, 0, metrics=prf(labels, labels), max_length=length)
        write_run(tmp_path / "results", record, predictions(labels, labels, n_tokens))
    data = report_data(tmp_path / "results", "plug", tmp_path / "report")
    extra = Section("Errors by hour", DIAGNOSTIC, lambda d: [Paragraph.of(f"{len(d.summary)} runners")])
    empty = Section("Nothing here", DIAGNOSTIC, lambda d: [])
    at = next(i for i, s in enumerate(SECTIONS) if s.title == "Plots")
    document = page(data, (*SECTIONS[:at], extra, empty, *SECTIONS[at:]))
    text = to_markdown(document, tmp_path / "report")
    assert "## Errors by hour\n\n2 runners" in text and "- [Errors by hour](#errors-by-hour)" in text
    assert text.index("## Errors by hour") < text.index("## Plots")
    assert "Nothing here" not in text  # a section with nothing to show is left out, contents included
    assert Heading("Errors by hour", 2, "errors-by-hour") in document.blocks
    with pytest.raises(ValueError, match="kind must be one of"):
        Section("Bad", "appendix", lambda d: [])


def test_the_answer_says_when_reading_more_does_not_pay(tmp_path):
    """Two runners right on the same documents: no gain, and the first line says so with the price."""
    labels, n_tokens = make_test_set(100)
    preds = np.where(np.arange(100) < 80, labels, 1 - labels)
    for runner, length in (("roberta-512", 512), ("longformer-256-4096", 4096)):
        record = make_record("same", runner, 0, metrics=prf(labels, preds), max_length=length, device="cpu")
        write_run(tmp_path / "results", record, predictions(labels, preds, n_tokens))
    text = build_report(tmp_path / "results", "same", tmp_path / "report").read_text(encoding="utf-8")
    first = text.split("\n\n")[1]
    assert first.startswith("> Pick roberta-512 (80.0% accuracy), the cheapest within the uncertainty of the best")
    assert "Reading more does not pay here: at best longformer-256-4096 gains +0.00 pp over roberta-512" in first
    assert "8.0× the training time" in first
