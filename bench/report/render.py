"""A small document model (headings, text, tables, figures) rendered as GitHub Markdown and self-contained HTML."""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from pathlib import Path

from bench.report import svg


@dataclass(frozen=True)
class Code:
    """Inline code in a paragraph."""

    text: str


@dataclass(frozen=True)
class Strong:
    """Bold text in a paragraph."""

    text: str


Span = str | Code | Strong


@dataclass(frozen=True)
class Paragraph:
    """Text made of spans; every span is escaped on output, so data can go in any span."""

    spans: tuple[Span, ...]
    bullet: bool = False
    alert: bool = False  # under a table: a warning shown open, not a methods note folded away in HTML

    @classmethod
    def of(cls, *spans: Span, bullet: bool = False, alert: bool = False) -> Paragraph:
        return cls(tuple(spans), bullet, alert)


@dataclass(frozen=True)
class Heading:
    """A heading; `anchor`, where set, is its id in HTML and the target of the table of contents."""

    text: str
    level: int = 2
    anchor: str = ""


@dataclass(frozen=True)
class Answer:
    """The report's one-line answer, the first thing on its first screen."""

    spans: tuple[Span, ...]


@dataclass(frozen=True)
class Contents:
    """A table of contents: (title, anchor) of each section, linked."""

    entries: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Cell:
    """A table cell: `text`, an optional secondary line `sub`, `best` (marked in bold) and `bad` (failed runs)."""

    text: str
    sub: str = ""
    best: bool = False
    bad: bool = False
    numeric: bool = False


@dataclass(frozen=True)
class Table:
    columns: list[str]
    rows: list[list[Cell]]
    notes: list[Paragraph] = field(default_factory=list)


@dataclass(frozen=True)
class Image:
    """A figure: Markdown shows the PNG linked to its SVG (relative paths); HTML inlines the SVG (the PNG as a data
    URI where there is no SVG)."""

    png: Path
    title: str
    caption: str
    svg: Path | None = None


Block = Heading | Paragraph | Table | Image | Answer | Contents


@dataclass(frozen=True)
class Document:
    title: str
    blocks: list[Block]


# ---- Markdown -------------------------------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~!])")


def md_escape(text: str) -> str:
    """Escape Markdown syntax (and the `|` of tables) so data shows as written; newlines become spaces."""
    return _MD_SPECIAL.sub(r"\\\1", re.sub(r"\s+", " ", str(text)))


def _md_code(text: str) -> str:
    text = re.sub(r"\s+", " ", str(text))
    fence = "``" if "`" in text else "`"
    return f"{fence} {text} {fence}" if fence == "``" else f"`{text}`"


def _md_span(span: Span) -> str:
    if isinstance(span, Code):
        return _md_code(span.text)
    if isinstance(span, Strong):
        return f"**{md_escape(span.text)}**"
    return md_escape(span)


def _md_paragraph(p: Paragraph) -> str:
    text = "".join(_md_span(s) for s in p.spans)
    return f"- {text}" if p.bullet else text


def _md_cell(cell: Cell) -> str:
    text = md_escape(cell.text) + (f" {md_escape(cell.sub)}" if cell.sub else "")
    return f"**{text}**" if cell.best and cell.text else text


def _md_table(table: Table) -> str:
    align = ["---:" if any(row[i].numeric for row in table.rows) else ":---" for i in range(len(table.columns))]
    lines = ["| " + " | ".join(md_escape(c) for c in table.columns) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in table.rows]
    notes = ""
    for i, note in enumerate(table.notes):  # a blank line between paragraphs, none inside a list of bullets
        joint = "" if i == 0 else "\n" if note.bullet and table.notes[i - 1].bullet else "\n\n"
        notes += joint + _md_paragraph(note)
    return "\n".join(lines) + (f"\n\n{notes}" if notes else "")


def _md_contents(contents: Contents) -> str:
    """A linked list of sections; GitHub derives a heading's anchor from its text as `sections.slug` does."""
    return "**Contents**\n\n" + "\n".join(f"- [{md_escape(t)}](#{a})" for t, a in contents.entries)


def to_markdown(doc: Document, base: Path) -> str:
    """Markdown for GitHub; image paths are relative to `base`, the folder report.md is written to."""
    parts = [f"# {md_escape(doc.title)}"]
    previous: Block | None = None
    for block in doc.blocks:
        if isinstance(block, Answer):
            parts.append("> " + "".join(_md_span(s) for s in block.spans))
        elif isinstance(block, Contents):
            parts.append(_md_contents(block))
        elif isinstance(block, Heading):
            parts.append(f"{'#' * block.level} {md_escape(block.text)}")
        elif isinstance(block, Paragraph):
            if block.bullet and isinstance(previous, Paragraph) and previous.bullet:
                parts[-1] += "\n" + _md_paragraph(block)  # consecutive bullets form one list
            else:
                parts.append(_md_paragraph(block))
        elif isinstance(block, Table):
            parts.append(_md_table(block))
        elif isinstance(block, Image):
            rel = block.png.relative_to(base).as_posix()
            image = f"![{md_escape(block.title)}]({rel})"
            if block.svg is not None:  # the PNG shows inline; a click opens the SVG, sharp at any size
                image = f"[{image}]({block.svg.relative_to(base).as_posix()})"
            parts.append(f"{image}\n\n*{md_escape(block.caption)}*")
        previous = block
    return "\n\n".join(parts) + "\n"


# ---- HTML -----------------------------------------------------------------------------------------------------------

# System fonts only (no web font: the page must render offline). Tables scroll inside their own frame with the first
# column (the runner) kept in view; figures shrink with the page until their text would drop under 9 px, then scroll.
CSS = """
:root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --stripe: #f6f8fa; --best: #dafbe1; --bad: #b3261e;
  --accent: #0969da; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: #fff;
  font: 15px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 28px 32px 64px; }
h1 { font-size: 1.9em; line-height: 1.25; margin: 0 0 12px; padding-bottom: 8px; border-bottom: 1px solid var(--line); }
h2 { font-size: 1.35em; margin: 36px 0 10px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.1em; margin: 26px 0 8px; }
p { margin: 8px 0; }
ul, ol { margin: 8px 0; padding-left: 24px; }
code { font: 0.88em ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--stripe);
  padding: 1px 5px; border-radius: 4px; overflow-wrap: anywhere; }
.answer { font-size: 1.1em; margin: 14px 0; padding: 10px 14px; border-left: 4px solid var(--accent);
  background: #f1f7ff; border-radius: 0 6px 6px 0; }
nav.toc { margin: 10px 0 18px; font-size: 0.92em; color: var(--muted); }
nav.toc ol { display: inline; margin: 0; padding: 0; list-style: none; }
nav.toc li { display: inline; }
nav.toc li + li::before { content: " · "; }
nav.toc a { color: var(--accent); text-decoration: none; white-space: nowrap; }
.table-wrap { overflow-x: auto; margin: 12px 0; }
table { border-collapse: separate; border-spacing: 0; font-size: 0.88em; font-variant-numeric: tabular-nums;
  border-top: 1px solid var(--line); }
th, td { border: 0 solid var(--line); border-width: 0 1px 1px 0; padding: 5px 10px; vertical-align: top;
  background: #fff; }
th { background: var(--stripe); text-align: left; white-space: nowrap; }
tbody tr:nth-child(even) td { background: #fbfcfd; }
th:first-child, td:first-child { position: sticky; left: 0; z-index: 1; white-space: nowrap; border-left-width: 1px;
  box-shadow: 2px 0 0 rgba(31, 35, 40, 0.06); }
td.num { text-align: right; white-space: nowrap; }
td.short { white-space: nowrap; }
td.best { background: var(--best) !important; font-weight: 700; }
td.bad { color: var(--bad); }
td .sub { display: block; font-size: 0.86em; color: var(--muted); font-weight: 400; }
.note { color: var(--muted); font-size: 0.9em; }
details.notes { margin: 4px 0 16px; }
details.notes > summary { cursor: pointer; color: var(--muted); font-size: 0.9em; }
figure { margin: 20px 0 28px; }
.figure-frame { overflow-x: auto; }
svg.plot, figure img { display: block; box-sizing: content-box; width: calc(100% - 2px); height: auto;
  border: 1px solid var(--line); border-radius: 6px; }
figcaption { color: var(--muted); font-size: 0.9em; margin-top: 6px; max-width: 900px; }
figcaption strong { color: var(--fg); }
figcaption a { color: var(--accent); }
@media (max-width: 640px) {
  body { font-size: 14px; }
  main { padding: 14px 12px 48px; }
  h1 { font-size: 1.45em; }
  h2 { font-size: 1.2em; margin-top: 28px; }
  th, td { padding: 4px 7px; }
}
"""


SHORT_CELL = 32  # characters: a text cell this short never wraps (a GPU's name), a longer one does (an error)


def _html_span(span: Span) -> str:
    if isinstance(span, Code):
        return f"<code>{html.escape(span.text)}</code>"
    if isinstance(span, Strong):
        return f"<strong>{html.escape(span.text)}</strong>"
    return html.escape(span)


def _html_paragraph(p: Paragraph, css: str = "") -> str:
    inner = "".join(_html_span(s) for s in p.spans)
    attr = f' class="{css}"' if css else ""
    return f"<li>{inner}</li>" if p.bullet else f"<p{attr}>{inner}</p>"


def _html_cell(cell: Cell) -> str:
    short = len(cell.text) <= SHORT_CELL and not cell.numeric  # a name or a status: kept on one line
    marks = (("num", cell.numeric), ("short", short), ("best", cell.best and cell.text), ("bad", cell.bad))
    classes = [c for c, on in marks if on]
    attr = f' class="{" ".join(classes)}"' if classes else ""
    sub = f'<span class="sub">{html.escape(cell.sub)}</span>' if cell.sub else ""
    return f"<td{attr}>{html.escape(cell.text)}{sub}</td>"


def _html_table(table: Table) -> str:
    """The table in its scrolling frame; warnings under it stay open, the notes on method fold away."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = "\n".join("<tr>" + "".join(_html_cell(c) for c in row) + "</tr>" for row in table.rows)
    alerts = _html_blocks([n for n in table.notes if n.alert], note=True)
    methods = _html_blocks([n for n in table.notes if not n.alert], note=True)
    folded = f'<details class="notes"><summary>How to read this table</summary>{methods}</details>' if methods else ""
    return (
        f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table></div>'
        f"{alerts}{folded}"
    )


def _html_image(image: Image) -> str:
    caption = f"<strong>{html.escape(image.title)}.</strong> {html.escape(image.caption)}"
    if image.svg is not None and image.svg.exists():
        picture = svg.inline(image.svg, image.svg.stem, image.title)
    else:
        raw = image.png.read_bytes()
        # PNG width is bytes 16-20 of the IHDR chunk; plots are saved at 150 dpi, so show them at 2/3 size (100 dpi).
        width = int.from_bytes(raw[16:20], "big") * 2 // 3
        data = base64.b64encode(raw).decode("ascii")
        picture = (
            f'<img src="data:image/png;base64,{data}" style="max-width: {width}px" alt="{html.escape(image.title)}" />'
        )
    return f'<figure><div class="figure-frame">{picture}</div><figcaption>{caption}</figcaption></figure>'


def _html_contents(contents: Contents) -> str:
    items = "".join(f'<li><a href="#{html.escape(a)}">{html.escape(t)}</a></li>' for t, a in contents.entries)
    return f'<nav class="toc" aria-label="Contents"><strong>Contents:</strong> <ol>{items}</ol></nav>'


def _html_blocks(blocks: list[Block], note: bool = False) -> str:
    out: list[str] = []
    in_list = False
    for block in blocks:
        bullet = isinstance(block, Paragraph) and block.bullet
        if bullet and not in_list:
            out.append('<ul class="note">' if note else "<ul>")
        if in_list and not bullet:
            out.append("</ul>")
        in_list = bullet
        if isinstance(block, Heading):
            anchor = f' id="{html.escape(block.anchor)}"' if block.anchor else ""
            out.append(f"<h{block.level}{anchor}>{html.escape(block.text)}</h{block.level}>")
        elif isinstance(block, Answer):
            out.append(f'<p class="answer" id="answer">{"".join(_html_span(s) for s in block.spans)}</p>')
        elif isinstance(block, Contents):
            out.append(_html_contents(block))
        elif isinstance(block, Paragraph):
            out.append(_html_paragraph(block, "note" if note else ""))
        elif isinstance(block, Table):
            out.append(_html_table(block))
        elif isinstance(block, Image):
            out.append(_html_image(block))
    if in_list:
        out.append("</ul>")
    return "\n".join(out)


def to_html(doc: Document) -> str:
    """One self-contained XHTML-compatible page: inline CSS and SVG, nothing fetched (no script, no web font)."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8" />'
        '<meta name="viewport" content="width=device-width, initial-scale=1" />'
        f"<title>{html.escape(doc.title)}</title><style>{CSS}</style></head>\n"
        f"<body><main>\n<h1>{html.escape(doc.title)}</h1>\n{_html_blocks(doc.blocks)}\n</main></body></html>\n"
    )
