"""Read a PDF the way the print tests need: page sizes, font sizes, word boxes (pypdf, poppler)."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pypdf


@dataclass(frozen=True)
class Word:
    page: int
    x0: float
    y0: float
    x1: float
    y1: float
    text: str


def page_sizes(pdf: Path) -> list[tuple[float, float]]:
    """(width, height) in points of every page, rotation applied."""
    out = []
    for p in pypdf.PdfReader(pdf).pages:
        w, h = float(p.mediabox.width), float(p.mediabox.height)
        out.append((h, w) if (p.get("/Rotate") or 0) % 180 else (w, h))
    return out


def font_sizes(pdf: Path, page: int) -> list[tuple[float, str]]:
    """(effective size in points, text) of every text run on ``page`` (0-based): the font size
    scaled by the text and the current transformation matrices."""
    sizes: list[tuple[float, str]] = []

    def visit(text: str, cm: list, tm: list, fd: object, fs: float) -> None:
        if text.strip():
            scale_tm = (tm[2] ** 2 + tm[3] ** 2) ** 0.5
            scale_cm = (cm[2] ** 2 + cm[3] ** 2) ** 0.5
            sizes.append((fs * scale_tm * scale_cm, text.strip()))

    pypdf.PdfReader(pdf).pages[page].extract_text(visitor_text=visit)
    return sizes


_WORD = re.compile(
    r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
)


def words(pdf: Path, first: int = 1, last: int = 1) -> list[Word]:
    """Word boxes (poppler's ``pdftotext -bbox``) of pages ``first`` .. ``last`` (1-based)."""
    html = subprocess.run(
        ["pdftotext", "-bbox", "-f", str(first), "-l", str(last), str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    out = []
    for n, page in enumerate(html.split("<page ")[1:], start=first):
        for m in _WORD.finditer(page):
            x0, y0, x1, y1 = map(float, m.groups()[:4])
            out.append(Word(n, x0, y0, x1, y1, m.group(5)))
    return out


def overlapping(ws: list[Word], tolerance: float = 1.5) -> list[tuple[Word, Word]]:
    """Pairs of words on the same page whose boxes overlap by more than ``tolerance`` points
    both ways: text spilling out of its cell over another cell's text."""
    bad = []
    by_page: dict[int, list[Word]] = {}
    for w in ws:
        by_page.setdefault(w.page, []).append(w)
    for page in by_page.values():
        page.sort(key=lambda w: w.x0)
        for i, a in enumerate(page):
            for b in page[i + 1 :]:
                if b.x0 >= a.x1 - tolerance:
                    break
                dx = min(a.x1, b.x1) - max(a.x0, b.x0)
                dy = min(a.y1, b.y1) - max(a.y0, b.y0)
                if dx > tolerance and dy > tolerance:
                    bad.append((a, b))
    return bad
