"""A self-contained HTML report: sections of text, tables and figures, in one file.

The report is a list of :class:`Section` objects, each a title and a list of blocks (paragraphs,
notes, tables, figures, collapsible details). :meth:`Report.render` writes one HTML document with
its style sheet inline and every figure embedded as base64 PNG data, so that the file opens
anywhere, offline, without fetching anything: no external CSS, JavaScript, fonts or images.
"""

from __future__ import annotations

import base64
import html
import io
import re
from typing import Any

import attrs
import numpy as np
import pandas as pd

__all__ = ["Block", "Report", "Section", "figure_png", "table_html"]

_CSS = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d2330;
       margin: 0; background: #f6f7f9; }
header { background: #1f3a5f; color: #fff; padding: 1.4em 2em 1.1em; }
header h1 { margin: 0 0 .2em; font-size: 1.6em; }
header p { margin: 0; opacity: .85; }
main { max-width: 1100px; margin: 0 auto; padding: 1em 2em 3em; }
nav ol { columns: 2; padding-left: 1.4em; }
nav a, section a { color: #1f3a5f; }
section { background: #fff; border: 1px solid #dde1e7; border-radius: 6px; padding: .4em 1.4em 1em;
          margin: 1.2em 0; }
section h2 { font-size: 1.25em; border-bottom: 1px solid #e5e8ec; padding-bottom: .3em; }
table { border-collapse: collapse; margin: .6em 0 1em; font-size: 13px;
        font-variant-numeric: tabular-nums; }
th, td { padding: .25em .7em; border-bottom: 1px solid #e5e8ec; text-align: right; }
th { background: #f0f2f5; }
td:first-child, th:first-child, td.text { text-align: left; }
caption { caption-side: top; text-align: left; font-weight: 600; padding: .3em 0; }
figure { margin: .8em 0 1.2em; }
figure img { max-width: 100%; height: auto; border: 1px solid #e5e8ec; }
figcaption { font-size: 13px; color: #4a5568; }
.note { border-left: 4px solid #7aa5d8; background: #f2f6fb; padding: .4em .9em; }
.error { border-left: 4px solid #c53030; background: #fdf2f2; padding: .4em .9em; }
details summary { cursor: pointer; color: #1f3a5f; }
footer { color: #6b7280; font-size: 12px; text-align: center; padding: 1em; }
"""


@attrs.frozen
class Block:
    """One piece of a section: ``kind`` is paragraph, note, error, table, figure or details."""

    kind: str
    html: str


def _slug(title: str, taken: set[str]) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "section"
    candidate, i = slug, 2
    while candidate in taken:
        candidate, i = f"{slug}-{i}", i + 1
    taken.add(candidate)
    return candidate


def table_html(
    df: pd.DataFrame, *, caption: str | None = None, floatfmt: str = "{:,.3f}", index: bool = True
) -> str:
    """Return `df` as an HTML table, values escaped and floats formatted with `floatfmt`.

    Examples
    --------
    >>> print(table_html(pd.DataFrame({"x": [1.5]}, index=["a<b"]), floatfmt="{:.1f}"))
    <table>
    <thead><tr><th></th><th>x</th></tr></thead>
    <tbody>
    <tr><th>a&lt;b</th><td>1.5</td></tr>
    </tbody>
    </table>
    """

    def cell(value: Any) -> str:
        if value is None or (
            not isinstance(value, str) and pd.api.types.is_scalar(value) and pd.isna(value)
        ):
            return ""
        if isinstance(value, (bool, np.bool_)):
            return str(value)
        if isinstance(value, (int, np.integer)):
            return f"{value:,}"
        if isinstance(value, (float, np.floating)):
            return floatfmt.format(value)
        if isinstance(value, pd.Timestamp):
            return str(value.date()) if value == value.normalize() else str(value)
        return str(value)

    parts = ["<table>"]
    if caption:
        parts.append(f"<caption>{html.escape(caption)}</caption>")
    head = ([html.escape(str(df.index.name or ""))] if index else []) + [
        html.escape(str(c)) for c in df.columns
    ]
    parts.append("<thead><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead>")
    parts.append("<tbody>")
    for label, row in zip(df.index, df.itertuples(index=False, name=None), strict=True):
        cells = [f"<th>{html.escape(cell(label))}</th>"] if index else []
        cells += [
            f"<td>{html.escape(cell(v))}</td>"
            if isinstance(v, (int, float, np.number)) or v is None
            else f'<td class="text">{html.escape(cell(v))}</td>'
            for v in row
        ]
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</tbody>")
    parts.append("</table>")
    return "\n".join(parts)


def figure_png(fig: Any, *, dpi: int = 100) -> str:
    """Return a matplotlib figure (or axes) as a ``data:image/png;base64,...`` URI and close it."""
    figure = fig.get_figure() if hasattr(fig, "get_figure") and fig.get_figure() else fig
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


@attrs.define
class Section:
    """A titled part of the report; its methods append blocks in order.

    Examples
    --------
    >>> s = Section("Churn")
    >>> s.paragraph("At risk: 12 & more.")
    >>> s.blocks[0].html
    '<p>At risk: 12 &amp; more.</p>'
    """

    title: str
    blocks: list[Block] = attrs.field(factory=list)

    def paragraph(self, text: str) -> None:
        """Append a paragraph of plain text (escaped)."""
        self.blocks.append(Block("paragraph", f"<p>{html.escape(text)}</p>"))

    def note(self, text: str) -> None:
        """Append a highlighted note: a caveat, how to read a figure, what is planted truth."""
        self.blocks.append(Block("note", f'<p class="note">{html.escape(text)}</p>'))

    def error(self, text: str) -> None:
        """Append an error box: this part of the analysis could not be run, and why."""
        self.blocks.append(Block("error", f'<p class="error">{html.escape(text)}</p>'))

    def table(
        self,
        df: pd.DataFrame,
        *,
        caption: str | None = None,
        floatfmt: str = "{:,.3f}",
        collapsed: bool = False,
    ) -> None:
        """Append a table; with `collapsed` it sits closed inside a ``<details>`` element."""
        body = table_html(df, caption=None if collapsed else caption, floatfmt=floatfmt)
        if collapsed:
            summary = html.escape(caption or f"table of {len(df):,} rows")
            self.blocks.append(
                Block("details", f"<details><summary>{summary}</summary>\n{body}\n</details>")
            )
        else:
            self.blocks.append(Block("table", body))

    def figure(self, fig: Any, *, caption: str, alt: str | None = None) -> None:
        """Append a matplotlib figure or axes, embedded as PNG data; the figure is closed."""
        uri = figure_png(fig)
        self.blocks.append(
            Block(
                "figure",
                f'<figure><img src="{uri}" alt="{html.escape(alt or caption)}">'
                f"<figcaption>{html.escape(caption)}</figcaption></figure>",
            )
        )


@attrs.define
class Report:
    """An HTML report under construction: a title, a subtitle and a list of sections.

    Examples
    --------
    >>> r = Report("Demo", subtitle="as of 2025-01-01")
    >>> r.section("Client base").paragraph("2,000 organisations.")
    >>> page = r.render()
    >>> page.startswith("<!DOCTYPE html>") and 'id="client-base"' in page
    True
    """

    title: str
    subtitle: str = ""
    sections: list[Section] = attrs.field(factory=list)

    def section(self, title: str) -> Section:
        """Start a new section, append it and return it."""
        new = Section(title)
        self.sections.append(new)
        return new

    def figures(self) -> int:
        """Return the number of figures in the report."""
        return sum(b.kind == "figure" for s in self.sections for b in s.blocks)

    def render(self, *, footer: str = "") -> str:
        """Return the whole report as one HTML document with nothing to fetch."""
        taken: set[str] = set()
        ids = [_slug(s.title, taken) for s in self.sections]
        toc = "".join(
            f'<li><a href="#{i}">{html.escape(s.title)}</a></li>'
            for i, s in zip(ids, self.sections, strict=True)
        )
        body: list[str] = []
        for i, s in zip(ids, self.sections, strict=True):
            body.append(f'<section id="{i}">\n<h2>{html.escape(s.title)}</h2>')
            body.extend(b.html for b in s.blocks)
            body.append("</section>")
        return "\n".join(
            [
                "<!DOCTYPE html>",
                '<html lang="en">',
                "<head>",
                '<meta charset="utf-8">',
                '<meta name="viewport" content="width=device-width, initial-scale=1">',
                f"<title>{html.escape(self.title)}</title>",
                f"<style>{_CSS}</style>",
                "</head>",
                "<body>",
                f"<header><h1>{html.escape(self.title)}</h1><p>{html.escape(self.subtitle)}</p></header>",
                "<main>",
                f'<nav aria-label="contents"><ol>{toc}</ol></nav>',
                *body,
                "</main>",
                f"<footer>{html.escape(footer)}</footer>",
                "</body>",
                "</html>",
                "",
            ]
        )
