"""The report as one self-contained HTML page: tables as HTML, figures inlined as SVG (PNG as base64 where no SVG
exists), no external files."""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

from facerec.report.document import Document, Figure, Paragraph, Section, Table, resolve_refs
from facerec.report.latex import _numeric_column

__all__ = ["render_html"]

_CSS = """
body { font-family: 'Times New Roman', Times, serif; max-width: 60em; margin: 2em auto; padding: 0 1em;
       line-height: 1.4; color: #111; }
h1 { text-align: center; font-size: 1.8em; margin-bottom: 0.2em; }
.author { text-align: center; font-style: italic; margin-bottom: 1.5em; }
.abstract { font-weight: bold; font-size: 0.95em; margin: 0 2em 1.5em 2em; }
.abstract em { font-style: italic; }
h2 { font-variant: small-caps; font-size: 1.2em; border-bottom: 1px solid #ccc; margin-top: 1.6em; }
h3 { font-style: italic; font-weight: normal; font-size: 1.05em; }
table { border-collapse: collapse; margin: 0.5em auto 1.2em auto; font-size: 0.85em; }
caption { caption-side: top; font-variant: small-caps; padding-bottom: 0.3em; }
th, td { padding: 0.15em 0.6em; text-align: right; }
th { border-top: 2px solid #000; border-bottom: 1px solid #000; }
tr:last-child td { border-bottom: 2px solid #000; }
td:first-child, th:first-child { text-align: left; }
figure { margin: 1em 0; text-align: center; }
figure .images { display: flex; flex-wrap: wrap; gap: 1em; justify-content: center; }
figure .images > * { flex: 1 1 22em; max-width: 32em; }
figure svg, figure img { width: 100%; height: auto; }
figcaption { font-size: 0.9em; margin-top: 0.3em; }
pre { background: #f6f6f6; padding: 0.5em; white-space: pre-wrap; word-break: break-all; font-size: 0.8em; }
"""

_ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII", "XIV", "XV", "XVI",
          "XVII", "XVIII", "XIX", "XX"]


def _svg_inline(path: Path, index: int) -> str:
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"<\?xml[^>]*\?>", "", text)
    text = re.sub(r"<!DOCTYPE[^>]*>", "", text, flags=re.DOTALL)
    # ids must be unique in one page: prefix those of this figure
    prefix = f"f{index}-"
    text = re.sub(r'id="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', text)
    text = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}{m.group(1)})", text)
    text = re.sub(r'xlink:href="#([^"]+)"', lambda m: f'xlink:href="#{prefix}{m.group(1)}"', text)
    text = re.sub(r'(<svg[^>]*?)\swidth="[^"]*"', r"\1", text, count=1)
    text = re.sub(r'(<svg[^>]*?)\sheight="[^"]*"', r"\1", text, count=1)
    return text.strip()


def _png_inline(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def render_html(document: Document) -> str:
    """The whole page as a string."""
    numbers: dict[str, str] = {}
    tables = figures = 0

    def number(section: Section) -> None:
        nonlocal tables, figures
        for block in section.blocks:
            if isinstance(block, Table):
                numbers[block.label] = _ROMAN[tables] if tables < len(_ROMAN) else str(tables + 1)
                tables += 1
            elif isinstance(block, Figure):
                figures += 1
                numbers[block.label] = str(figures)
        for sub in section.subsections:
            number(sub)

    for s in document.sections:
        number(s)

    def text(value: str) -> str:
        return resolve_refs(html.escape(value), lambda label: numbers.get(label, "?"))

    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>{html.escape(document.title)}</title>", f"<style>{_CSS}</style></head><body>",
           f"<h1>{html.escape(document.title)}</h1>",
           f'<div class="author">{html.escape(document.author)} &middot; {html.escape(document.date)}</div>',
           f'<p class="abstract"><em>Abstract</em>&mdash;{text(document.abstract)}</p>']
    svg_index = 0

    def blocks(section: Section, level: int, prefix: str) -> None:
        nonlocal svg_index
        out.append(f"<h{level}>{prefix}{html.escape(section.title)}</h{level}>")
        for block in section.blocks:
            if isinstance(block, Paragraph):
                out.append(f"<pre>{html.escape(block.text)}</pre>" if block.code else f"<p>{text(block.text)}</p>")
            elif isinstance(block, Table):
                out.append(f'<table id="{html.escape(block.label)}"><caption>Table {numbers[block.label]}. '
                           f"{text(block.caption)}</caption>")
                out.append("<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in block.header) + "</tr>")
                text_columns = {i for i in range(len(block.header)) if i and not _numeric_column(block.rows, i)}
                for row in block.rows:
                    out.append("<tr>" + "".join(
                        f'<td style="text-align:left">{html.escape(c)}</td>' if i in text_columns
                        else f"<td>{html.escape(c)}</td>" for i, c in enumerate(row)) + "</tr>")
                out.append("</table>")
            elif isinstance(block, Figure):
                parts = []
                for png, svg in block.images:
                    svg_index += 1
                    parts.append(f"<div>{_svg_inline(svg, svg_index)}</div>" if svg is not None and svg.is_file()
                                 else f"<div>{_png_inline(png, block.caption)}</div>")
                out.append(f'<figure id="{html.escape(block.label)}"><div class="images">{"".join(parts)}</div>'
                           f"<figcaption>Fig. {numbers[block.label]}. {text(block.caption)}</figcaption></figure>")
        for i, sub in enumerate(section.subsections):
            blocks(sub, level + 1, f"{chr(ord('A') + i)}. " if i < 26 else "")

    for i, section in enumerate(document.sections):
        blocks(section, 2, f"{_ROMAN[i]}. ")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
