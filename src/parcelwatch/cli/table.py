"""Plain-text tables for the terminal, aligned by display width (a CJK character is two columns).

The widths come from ``wcwidth`` (Unicode's East Asian Width and zero-width tables, graphemes,
terminal sequences), not from a table of our own. Cells are one line, with terminal escape
sequences and control characters removed (a value in the ledger cannot restyle the console), and
are clipped to ``max_width`` columns with ``...``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import wcwidth

__all__ = ["table_lines", "pad", "display_width"]

# C0/C1 controls left after the escape sequences are stripped (tab and newline become spaces)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _clean(text: str) -> str:
    text = wcwidth.strip_sequences(text)
    return _CONTROL.sub(lambda m: " " if m.group(0) in "\t\n\r" else "", text)


def display_width(text: str) -> int:
    """Columns ``text`` takes on a terminal (禾丰镇 = 6)."""
    return int(wcwidth.width(_clean(text)))


def pad(text: str, width: int) -> str:
    """``text`` followed by spaces up to ``width`` display columns."""
    return str(wcwidth.ljust(_clean(text), width))


def _cell(value: Any, max_width: int) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}"
    text = _clean(str(value))
    if wcwidth.width(text) > max_width:
        text = str(wcwidth.clip(text, 0, max_width - 3)).rstrip() + "..."
    return text


def table_lines(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], *, max_width: int = 40
) -> list[str]:
    """Header, a dashed rule and the rows, columns two spaces apart, trailing spaces dropped."""
    text = [[_cell(v, max_width) for v in r] for r in rows]
    heads = [_clean(h) for h in headers]
    widths = [
        max([display_width(h)] + [display_width(r[j]) for r in text]) for j, h in enumerate(heads)
    ]
    out = ["  ".join(pad(h, w) for h, w in zip(heads, widths, strict=True)).rstrip()]
    out.append("  ".join("-" * w for w in widths))
    out += ["  ".join(pad(c, w) for c, w in zip(r, widths, strict=True)).rstrip() for r in text]
    return out
