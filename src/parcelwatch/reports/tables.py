"""Every record table of :mod:`parcelwatch.reports` (巡察整改, documents, organisation, campaigns,
report log), for ``parcelwatch store init`` (:data:`parcelwatch.ledger.sqlstore.RECORD_MODULES`)."""

from __future__ import annotations

from parcelwatch.reports import campaign, inspection, org, reportlog  # noqa: F401  (register their tables)
from parcelwatch.reports.records import schema_sql

__all__ = ["schema_sql"]
