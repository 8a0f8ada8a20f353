"""The ledger (台账): every problem parcel from detection to closure, with its full history.

The store and the model (the pipeline drives them: :func:`parcelwatch.pipeline.init_workspace`,
:func:`parcelwatch.pipeline.check_batch`)::

    from parcelwatch.ledger import open_workspace, set_status, find_problems, ...

* :func:`create_workspace` / :func:`open_workspace` - a folder with ``ledger.gpkg`` and ``rules.toml``;
* :func:`update_problems` / :func:`set_status` - staff changes, one transaction;
* :func:`find_problems` / :func:`problem_for_parcel` - look problems up;
* :func:`workspace_stats` - counts, areas, 整改完成率, 违法占用耕地面积比例;
* :func:`export_xlsx` / :func:`import_xlsx` - the Excel round-trip;
* :data:`TRANSITIONS`, :class:`Status`, :func:`replay` - the workflow as data.
"""

from __future__ import annotations

from parcelwatch.ledger.model import (
    CONFIRMED_CLASSES,
    JUDGEMENT_TYPES,
    MEASURES,
    TRANSITIONS,
    Change,
    Event,
    Evidence,
    LedgerSnapshot,
    ProblemRecord,
    Status,
    Transition,
    allowed_targets,
    is_overdue,
    replay,
    verification_due,
)
from parcelwatch.ledger.recheck import RecheckResult, recheck
from parcelwatch.ledger.stats import LedgerStats, ledger_stats
from parcelwatch.ledger.store import ApplyResult, BatchInfo, GpkgStore, LedgerStore
from parcelwatch.ledger.workspace import (
    Workspace,
    create_workspace,
    evidence_from_file,
    find_problems,
    open_workspace,
    problem_for_parcel,
    set_status,
    update_problems,
    workspace_stats,
)
from parcelwatch.ledger.xlsx import ImportReport, RowIssue, export_xlsx, import_xlsx

__all__ = [
    "Status",
    "Transition",
    "TRANSITIONS",
    "allowed_targets",
    "MEASURES",
    "JUDGEMENT_TYPES",
    "CONFIRMED_CLASSES",
    "Change",
    "Event",
    "Evidence",
    "ProblemRecord",
    "LedgerSnapshot",
    "replay",
    "verification_due",
    "is_overdue",
    "recheck",
    "RecheckResult",
    "LedgerStats",
    "ledger_stats",
    "LedgerStore",
    "GpkgStore",
    "BatchInfo",
    "ApplyResult",
    "Workspace",
    "create_workspace",
    "open_workspace",
    "update_problems",
    "set_status",
    "find_problems",
    "problem_for_parcel",
    "workspace_stats",
    "evidence_from_file",
    "export_xlsx",
    "import_xlsx",
    "ImportReport",
    "RowIssue",
]
