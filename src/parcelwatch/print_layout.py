"""Print layout for the workbooks parcelwatch writes: A4 landscape at a readable size.

A sheet that fits one A4 landscape page width at >= 80 % (10 pt text prints at >= 8 pt) is fitted
to one page wide. A wider sheet prints at 100 %: its first columns on the first page, the rest
on the following pages (across, then down), with the key columns (``repeat_cols``) and the
header rows repeated on every page and page breaks between column groups. Row heights are set
from the wrapped text they hold (xlsxwriter cannot measure text; neither Excel nor LibreOffice
recomputes heights of rows written with a height), so wrapped cells never spill over their
neighbours.

Widths are Excel column-width units (characters of the default font; see :func:`column_px`);
a Chinese character takes about two units.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "PRINTABLE_PX",
    "MIN_SCALE",
    "column_px",
    "text_units",
    "wrapped_lines",
    "row_height",
    "RowHeights",
    "page_breaks",
    "fits_one_page_wide",
    "first_page_columns",
    "set_a4_landscape",
]

# A4 landscape is 11.69 in; margins 0.4 in each side leave 10.89 in = 1045 px at 96 dpi.
PRINTABLE_PX = 1045.0
MIN_SCALE = 80  # percent: the smallest scale at which 10 pt text still prints >= 8 pt
MAX_ROW_PT = 409.0  # Excel's largest row height


def column_px(width: float) -> float:
    """Printed width in pixels (96 dpi, 100 %) of a column ``width`` units wide, on the safe
    side: Excel with Calibri prints a unit as ~7 px, LibreOffice without Calibri-metric fonts
    (Debian's default) as ~9.9 px (measured on its PDF export), so 10 px are assumed."""
    return width * 10 + 5


# Wide (W/F) East Asian characters: CJK, Hangul, fullwidth forms, CJK extensions.
_WIDE = re.compile(
    "[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf"
    "\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6"
    "\U0001f300-\U0001f64f\U0001f900-\U0001f9ff\U00020000-\U0003fffd]"
)


def text_units(text: str) -> float:
    """Width of ``text`` in column units (wide East Asian characters count two).

    >>> text_units("禾丰镇 A1")
    9.3
    """
    if text.isascii():
        return len(text) * 1.1
    wide = len(_WIDE.findall(text))
    return round(wide * 2.0 + (len(text) - wide) * 1.1, 6)


def wrapped_lines(text: Any, width: float) -> int:
    """Lines ``text`` takes when wrapped in a column ``width`` units wide."""
    if text is None or text == "":
        return 1
    usable = max(width - 1.0, 1.0)
    text = str(text)
    if "\n" not in text:
        return max(1, math.ceil(text_units(text) / usable))
    return sum(max(1, math.ceil(text_units(part) / usable)) for part in text.split("\n"))


def row_height(lines: int, font_pt: float = 10.0) -> float:
    """Row height (points) for ``lines`` lines of ``font_pt`` text, with cell padding."""
    return min(MAX_ROW_PT, lines * font_pt * 1.4 + 4)


class RowHeights:
    """Collects the wrapped text of each row; :meth:`apply` sets the row heights."""

    def __init__(self, font_pt: float = 10.0) -> None:
        self.font_pt = font_pt
        self.lines: dict[int, int] = {}
        self.span_lines: list[tuple[int, int, int]] = []

    def note(self, row: int, text: Any, width: float) -> None:
        """A wrapped cell of ``width`` units in ``row``."""
        n = wrapped_lines(text, width)
        if n > self.lines.get(row, 0):
            self.lines[row] = n

    def note_column(self, first: int, texts: Iterable[Any], width: float) -> None:
        """The cells of one wrapped column of ``width`` units, from row ``first`` down (each
        distinct text measured once)."""
        seen: dict[Any, int] = {}
        lines = self.lines
        for row, text in enumerate(texts, start=first):
            if not text:
                continue
            n = seen.get(text)
            if n is None:
                n = seen[text] = wrapped_lines(text, width)
            if n > lines.get(row, 0):
                lines[row] = n

    def note_row(self, row: int, cells: Iterable[tuple[Any, float]]) -> None:
        for text, width in cells:
            self.note(row, text, width)

    def note_span(self, first_row: int, last_row: int, text: Any, width: float) -> None:
        """A cell merged over rows ``first_row`` .. ``last_row``: together they must hold it."""
        if first_row == last_row:
            self.note(first_row, text, width)
        else:
            self.span_lines.append((first_row, last_row, wrapped_lines(text, width)))

    def apply(self, ws: Any, *, minimum: float = 15.0) -> None:
        heights = {r: max(minimum, row_height(n, self.font_pt)) for r, n in self.lines.items() if n}
        for first, last, n in self.span_lines:
            need = row_height(n, self.font_pt)
            have = sum(heights.get(r, minimum) for r in range(first, last + 1))
            if need > have:
                heights[last] = heights.get(last, minimum) + need - have
        for r, h in heights.items():
            ws.set_row(r, min(MAX_ROW_PT, h))


def page_breaks(
    widths: Sequence[float], *, repeat_cols: int = 1, breaks_at: Sequence[int] | None = None
) -> list[int]:
    """Columns where a new page starts when ``widths`` print at 100 % on A4 landscape; pages
    after the first also carry the ``repeat_cols`` key columns. A break goes to the last
    allowed column (``breaks_at``) that keeps the page within the width.

    >>> page_breaks([40, 40, 40, 40], repeat_cols=1)
    [2, 3]
    """
    px = [column_px(w) for w in widths]
    key = sum(px[:repeat_cols])
    allowed = set(breaks_at) if breaks_at is not None else set(range(len(widths)))
    breaks: list[int] = []
    start = 0
    while True:
        budget = PRINTABLE_PX - (key if breaks else 0)
        used, j = 0.0, start
        while j < len(px) and used + px[j] <= budget:
            used += px[j]
            j += 1
        if j >= len(px):
            return breaks
        j = max(j, start + 1)  # a column wider than a page gets a page of its own
        cands = [c for c in allowed if start < c <= j]
        start = max(cands) if cands else j
        breaks.append(start)


def fits_one_page_wide(widths: Sequence[float]) -> bool:
    """Whether columns of ``widths`` fit one A4 landscape page wide at >= :data:`MIN_SCALE` %."""
    return sum(column_px(w) for w in widths) * MIN_SCALE / 100 <= PRINTABLE_PX


def first_page_columns(widths: Sequence[float], **kw: Any) -> int:
    """How many columns the first printed page holds (all of them when the sheet fits one page
    wide); a title merged over these stays on the first page."""
    if fits_one_page_wide(widths):
        return len(widths)
    breaks = page_breaks(widths, **kw)
    return breaks[0] if breaks else len(widths)


def set_a4_landscape(
    ws: Any,
    widths: Sequence[float],
    *,
    header_first: int | None,
    header_last: int | None,
    repeat_cols: int = 1,
    breaks_at: Sequence[int] | None = None,
    last_row: int | None = None,
    footer: str = "&C第 &P 页，共 &N 页",
) -> bool:
    """A4 landscape print setup of a sheet whose columns have ``widths``; returns True when the
    sheet is fitted to one page wide, False when it prints across several pages at 100 %.

    ``repeat_cols``: the key columns repeated on every page of a wide sheet; ``breaks_at``:
    the columns where a page may start (default: any column), e.g. the first column of each
    merged header group.
    """
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    ws.set_footer(footer)
    if header_first is not None and header_last is not None:
        ws.repeat_rows(header_first, header_last)
    if fits_one_page_wide(widths):
        ws.fit_to_pages(1, 0)
        if last_row is not None:
            ws.print_area(0, 0, last_row, len(widths) - 1)
        return True
    ws.set_print_scale(100)
    ws.print_across()
    if repeat_cols:
        ws.repeat_columns(0, repeat_cols - 1)
    ws.set_v_pagebreaks(page_breaks(widths, repeat_cols=repeat_cols, breaks_at=breaks_at))
    if last_row is not None:
        ws.print_area(0, 0, last_row, len(widths) - 1)
    return False
