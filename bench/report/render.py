"""A small document model (headings, text, tables, figures) rendered as GitHub Markdown and self-contained HTML."""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from pathlib import Path


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

    @classmethod
    def of(cls, *spans: Span, bullet: bool = False) -> Paragraph:
        return cls(tuple(spans), bullet)


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


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
    """A figure: the PNG is linked from Markdown (relative path) and embedded in HTML (base64 data URI)."""

    png: Path
    title: str
    caption: str


Block = Heading | Paragraph | Table | Image


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


def to_markdown(doc: Document, base: Path) -> str:
    """Markdown for GitHub; image paths are relative to `base`, the folder report.md is written to."""
    parts = [f"# {md_escape(doc.title)}"]
    previous: Block | None = None
    for block in doc.blocks:
        if isinstance(block, Heading):
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
            parts.append(f"![{md_escape(block.title)}]({rel})\n\n*{md_escape(block.caption)}*")
        previous = block
    return "\n\n".join(parts) + "\n"


# ---- HTML -----------------------------------------------------------------------------------------------------------

CSS = """
:root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --stripe: #f6f8fa; --best: #dafbe1; --bad: #b3261e; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: #fff; line-height: 1.5;
  font: 15px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 28px 32px 64px; }
h1 { font-size: 1.9em; margin: 0 0 12px; padding-bottom: 8px; border-bottom: 1px solid var(--line); }
h2 { font-size: 1.35em; margin: 36px 0 10px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.1em; margin: 26px 0 8px; }
p { margin: 8px 0; }
ul { margin: 8px 0; padding-left: 24px; }
code { font: 0.88em ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--stripe);
  padding: 1px 5px; border-radius: 4px; }
.table-wrap { overflow-x: auto; margin: 12px 0; }
table { border-collapse: collapse; font-size: 0.88em; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid var(--line); padding: 5px 10px; vertical-align: top; }
th { background: var(--stripe); text-align: left; white-space: nowrap; }
tbody tr:nth-child(even) td { background: #fbfcfd; }
td:first-child { white-space: nowrap; }
td.num { text-align: right; white-space: nowrap; }
td.best { background: var(--best) !important; font-weight: 700; }
td.bad { color: var(--bad); }
td .sub { display: block; font-size: 0.86em; color: var(--muted); font-weight: 400; }
.note { color: var(--muted); font-size: 0.9em; }
figure { margin: 20px 0 28px; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; }
figcaption { color: var(--muted); font-size: 0.9em; margin-top: 6px; max-width: 900px; }
figcaption strong { color: var(--fg); }
"""


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
    classes = [c for c, on in (("num", cell.numeric), ("best", cell.best and cell.text), ("bad", cell.bad)) if on]
    attr = f' class="{" ".join(classes)}"' if classes else ""
    sub = f'<span class="sub">{html.escape(cell.sub)}</span>' if cell.sub else ""
    return f"<td{attr}>{html.escape(cell.text)}{sub}</td>"


def _html_table(table: Table) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = "\n".join("<tr>" + "".join(_html_cell(c) for c in row) + "</tr>" for row in table.rows)
    notes = _html_blocks([*table.notes], note=True)
    return (
        f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table></div>{notes}'
    )


def _html_image(image: Image) -> str:
    raw = image.png.read_bytes()
    # PNG width is bytes 16-20 of the IHDR chunk; plots are saved at 150 dpi, so show them at 2/3 size (100 dpi).
    width = int.from_bytes(raw[16:20], "big") * 2 // 3
    data = base64.b64encode(raw).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" width="{width}" alt="{html.escape(image.title)}" />'
        f"<figcaption><strong>{html.escape(image.title)}.</strong> {html.escape(image.caption)}</figcaption></figure>"
    )


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
            out.append(f"<h{block.level}>{html.escape(block.text)}</h{block.level}>")
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
    """One self-contained XHTML-compatible page: inline CSS, images as data URIs, nothing fetched."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8" />'
        '<meta name="viewport" content="width=device-width, initial-scale=1" />'
        f"<title>{html.escape(doc.title)}</title><style>{CSS}</style></head>\n"
        f"<body><main>\n<h1>{html.escape(doc.title)}</h1>\n{_html_blocks(doc.blocks)}\n</main></body></html>\n"
    )
