"""Issue 18 point 3: CSV cells Excel would evaluate are neutralised; numbers stay numbers."""

from __future__ import annotations

import csv
from dataclasses import replace
from datetime import date

import shapely

from parcelwatch.exports.layers import neutralise_csv_cell, write_csv
from parcelwatch.ledger.model import ProblemRecord, Status

FORMULAS = [
    '=HYPERLINK("http://evil.example","x")',
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "@SUM(1,2)",
    "\t=1",
    "\r=1",
]


def test_every_formula_start_gets_the_quote_and_other_text_does_not():
    for f in FORMULAS:
        assert neutralise_csv_cell(f) == "'" + f
    for plain in ("张三", "a=b", " =1", "", "'=1", 12.5, -3.0, None):
        assert neutralise_csv_cell(plain) == plain


def test_csv_file(tmp_path):
    """One record per formula as 责任人 and 项目名称; 图斑面积 -1.5 亩 (-1000 m², a hand-made
    record) must stay the number -1.5, not text."""
    base = ProblemRecord(problem_id="P0", status=Status.ILLEGAL, township_name="禾丰镇",
                         geometry=shapely.box(120.0, 36.0, 120.001, 36.001))  # fmt: skip
    records = [
        replace(
            base, problem_id=f"P{i}", responsible_person=f, project_name=f, parcel_area_m2=-1000.0
        )
        for i, f in enumerate(FORMULAS)
    ]
    path = write_csv(records, tmp_path / "x.csv", today=date(2026, 5, 1))
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["责任人"] for r in rows] == ["'" + f for f in FORMULAS]
    assert [r["项目名称"] for r in rows] == ["'" + f for f in FORMULAS]
    assert {r["图斑面积(亩)"] for r in rows} == {"-1.5"}  # numeric, negative, unquoted
    assert all(not r["中心经度"].startswith("'") for r in rows)
