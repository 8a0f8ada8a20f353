"""Exports for county review: vector layers and Excel forms from the ledger.

Pure writers over ledger records (no workspace, no clock)::

    from parcelwatch.exports import select_problems, Filters, write_gpkg, write_ledger_form ...

* :func:`select_problems` / :class:`Filters` - the problems matching status / class / township /
  batch / overdue;
* one writer per format (gpkg, shp, geojson, kml, kmz, csv) and per Excel form.

Exporting a workspace (read the ledger once, then call these) is
:func:`parcelwatch.pipeline.export` / :func:`parcelwatch.pipeline.export_all`.

Vector writers live in :mod:`parcelwatch.exports.layers`, the Excel forms in
:mod:`parcelwatch.exports.forms`, the shared field table in :mod:`parcelwatch.exports.fields`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from parcelwatch.exports.fields import EXPORT_FIELDS, ExportField, problem_table
from parcelwatch.exports.forms import (
    write_ledger_form,
    write_progress_form,
    write_ratio_form,
    write_self_check_form,
)
from parcelwatch.exports.layers import (
    ExportNotice,
    ProgressCallback,
    select_problems,
    write_csv,
    write_geojson,
    write_gpkg,
    write_kml,
    write_kmz,
    write_shapefile,
)
from parcelwatch.ledger.model import ProblemRecord, Status

__all__ = [
    "FORMATS",
    "ExportNotice",
    "ProgressCallback",
    "Filters",
    "ExportField",
    "EXPORT_FIELDS",
    "problem_table",
    "select_problems",
    "WARNING_FILE",
    "write_gpkg",
    "write_shapefile",
    "write_geojson",
    "write_csv",
    "write_kml",
    "write_kmz",
    "write_ledger_form",
    "write_self_check_form",
    "write_progress_form",
    "write_ratio_form",
]

FORMATS = ("gpkg", "shp", "geojson", "kml", "kmz", "csv", "xlsx")


@dataclass(frozen=True)
class Filters:
    """Which problems to export (every filter given must match; empty = all)."""

    statuses: tuple[Status | str, ...] = ()
    classes: tuple[str, ...] = ()
    townships: tuple[str, ...] = ()
    batches: tuple[str, ...] = ()
    overdue: bool = False

    def apply(self, records: list[ProblemRecord], *, today: date) -> list[ProblemRecord]:
        """The records this filter selects (overdue as of ``today``)."""
        return select_problems(
            records,
            statuses=self.statuses,
            classes=self.classes,
            townships=self.townships,
            batches=self.batches,
            overdue_on=today if self.overdue else None,
        )


WARNING_FILE = "台账校验警告.txt"
