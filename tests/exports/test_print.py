"""Every workbook parcelwatch writes, printed to PDF by LibreOffice as a clerk would print it.

LibreOffice (``soffice --headless --convert-to pdf``, installed by ``.ci/run``) converts the
demo's workbooks; pypdf reads page sizes and the effective font size of every text run; poppler's
``pdftotext -bbox`` gives word boxes. Checked on every page: A4 landscape, no text under 8 pt,
and no text spilling over another cell's text (a header running into the units row, a wrapped
cell over the next row). Wide sheets repeat their header row and key column on every page.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from parcelwatch.exports.forms import write_ledger_form
from parcelwatch.ledger.xlsx import export_xlsx
from tests.exports.conftest import TODAY, Exported
from tests.exports.pdfcheck import font_sizes, overlapping, page_sizes, words

A4_LANDSCAPE = (841.89, 595.28)

_missing = [t for t in ("soffice", "pdftotext") if shutil.which(t) is None]
if _missing and os.environ.get("CI"):
    raise RuntimeError(
        f"CI must install {', '.join(_missing)} (.ci/run: libreoffice-calc-nogui, poppler-utils)"
    )
pytestmark = pytest.mark.skipif(
    bool(_missing),
    reason=f"{', '.join(_missing)} not installed (apt-get install libreoffice-calc-nogui poppler-utils)",
)


@pytest.fixture(scope="module")
def printed(exported: Exported, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """PDF of each workbook: the four forms and the editing workbook (问题台账 for import-xlsx)."""
    src = tmp_path_factory.mktemp("workbooks")
    books = {k: exported.paths[k] for k in exported.paths if k.startswith("xlsx_")}
    books["xlsx_edit"] = export_xlsx(exported.ws.store, src / "编辑用问题台账.xlsx", today=TODAY)
    pdf_dir = tmp_path_factory.mktemp("pdf")
    profile = tmp_path_factory.mktemp("lo-profile")
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(pdf_dir),
            *map(str, books.values()),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    out = {k: pdf_dir / (p.stem + ".pdf") for k, p in books.items()}
    assert all(p.is_file() for p in out.values()), sorted(pdf_dir.iterdir())
    return out


@pytest.mark.parametrize(
    "book", ["xlsx_ledger", "xlsx_self_check", "xlsx_progress", "xlsx_ratio", "xlsx_edit"]
)
def test_workbook_prints_a4_landscape_readable_without_overflow(
    printed: dict[str, Path], book: str
) -> None:
    pdf = printed[book]
    sizes = page_sizes(pdf)
    for w, h in sizes:
        assert w == pytest.approx(A4_LANDSCAPE[0], abs=1) and h == pytest.approx(
            A4_LANDSCAPE[1], abs=1
        )
    smallest = min(font_sizes(pdf, 0))
    assert smallest[0] >= 8.0, f"{pdf.name} page 1: {smallest[1]!r} at {smallest[0]:.2f} pt"
    boxes = words(pdf, 1, len(sizes))
    clashes = overlapping(boxes)
    assert not clashes, [(a.page, a.text, b.text) for a, b in clashes[:5]]


@pytest.mark.parametrize("book", ["xlsx_ledger", "xlsx_edit"])
def test_wide_ledger_repeats_key_column_and_header_on_every_page(
    printed: dict[str, Path], book: str
) -> None:
    """The ledger sheets are too wide for one page at 8 pt: they print across pages, each with
    the header row and the 问题编号 column, and later pages carry the remaining columns."""
    pdf = printed[book]
    n = len(page_sizes(pdf))
    assert n > 1
    boxes = words(pdf, 1, n)
    text = {p: "".join(w.text for w in boxes if w.page == p) for p in range(1, n + 1)}
    help_pages = [p for p, t in text.items() if t.startswith("黄色表头")]  # the 说明 sheet
    n = min(help_pages, default=n + 1) - 1
    assert n > 1
    for page in range(1, n + 1):
        assert "问题编号" in text[page] and "370790-2026-" in text[page], page
    # the last column: 纬度 since `ledger add` problems carry 经度/纬度 (issue 12)
    last_header = {"xlsx_ledger": "纬度", "xlsx_edit": "更新人"}[book]
    assert last_header not in text[1] and last_header in text[n]


def test_ledger_form_rows_fit_long_wrapped_text(exported: Exported, tmp_path: Path) -> None:
    """A 疑似依据 of ~600 characters wraps over many lines: its row is made tall enough (capped at
    Excel's 409 pt) so it never runs into the next row."""
    from dataclasses import replace

    import openpyxl

    long = replace(exported.records[0], candidate_reasons="建筑占用耕地，疑似第二类。" * 50)
    path = write_ledger_form([long, exported.records[1]], tmp_path / "l.xlsx", today=TODAY)
    ws = openpyxl.load_workbook(path)["问题台账"]
    assert ws.row_dimensions[4].height >= 300  # 600 characters in a 40-unit column: ~31 lines
    assert ws.print_options is not None and ws.page_setup.orientation == "landscape"
    assert ws.page_setup.paperSize == 9 and ws.print_title_rows == "$3:$3"


def test_sheet_widths_read_back_from_set_column() -> None:
    """Hand-computed: widths 12 and 9 round-trip through xlsxwriter's pixels ((12*7+0.5)+5 = 89
    px -> 12), a hidden column counts 0 and an unset one Excel's default 8.43."""
    import io

    import xlsxwriter

    from parcelwatch.exports.forms import _sheet_widths

    wb = xlsxwriter.Workbook(io.BytesIO())
    ws = wb.add_worksheet()
    ws.set_column(0, 0, 12)
    ws.set_column(1, 1, 9)
    ws.set_column(2, 2, None, None, {"hidden": True})
    assert _sheet_widths(ws, 3) == [12.0, 9.0, 0.0, 8.43]
    wb.close()
