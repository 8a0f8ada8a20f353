"""A workspace: a folder with the ledger (``ledger.gpkg``) and the county's ``rules.toml``.

This module is the ledger's edge: it opens files, reads evidence to hash it, and runs whole jobs
(:func:`check_batch`, :func:`update_problems`) that the CLI, the README demo and notebooks call.
Time always comes in as ``now=`` (an aware datetime); nothing here reads the clock.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from parcelwatch.config import Rules, defaults_toml, load_rules, rules_from_mapping, tomllib
from parcelwatch.errors import (
    ConfigError,
    InputError,
    LedgerConflictError,
    LedgerError,
    SchemaError,
)
from parcelwatch.ledger.model import (
    Change,
    Evidence,
    ProblemRecord,
    Status,
    class_label,
    is_overdue,
    parse_confirmed_class,
)
from parcelwatch.ledger.recheck import OUTCOME_ZH, OUTCOMES, recheck
from parcelwatch.ledger.stats import LedgerStats, ledger_stats
from parcelwatch.ledger.store import BatchInfo, GpkgStore, LedgerStore

__all__ = [
    "LEDGER_FILE",
    "RULES_FILE",
    "Workspace",
    "CheckSummary",
    "init_workspace",
    "open_workspace",
    "check_batch",
    "update_problems",
    "set_status",
    "find_problems",
    "problem_for_parcel",
    "workspace_stats",
    "evidence_from_file",
]

LEDGER_FILE = "ledger.gpkg"
RULES_FILE = "rules.toml"
_PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".heic", ".tif", ".tiff", ".bmp", ".webp"}


@dataclass
class Workspace:
    """An open workspace: its folder, the rules it uses and its ledger store."""

    path: Path
    rules: Rules
    store: LedgerStore

    @property
    def ledger_path(self) -> Path:
        return self.path / LEDGER_FILE

    @property
    def rules_path(self) -> Path:
        return self.path / RULES_FILE

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _default_rules_text(county_code: str, county_name: str) -> str:
    text = defaults_toml()
    text = text.replace('code = ""', f"code = {_toml_str(county_code)}", 1)
    return text.replace('name = ""', f"name = {_toml_str(county_name)}", 1)


def _toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def init_workspace(
    path: str | Path,
    *,
    rules_text: str | None = None,
    county_code: str = "",
    county_name: str = "",
    now: datetime | None = None,
    store: str = "",
) -> Workspace:
    """Create a workspace folder with an empty ledger and a rules file, and open it.

    ``rules_text`` is the rules file to use (TOML); without it an existing ``rules.toml`` in the
    folder is kept, else the commented defaults are written with ``[county] code/name`` filled.
    ``store`` (``postgresql://HOST/DB`` or ``postgresql:///DB?service=NAME``) puts the ledger on
    the county's server, recorded as ``[store] url`` in rules.toml (never with a password).
    """
    from datetime import timezone

    path = Path(path)
    now = now or datetime.now(timezone.utc).astimezone()
    if county_code and not re.fullmatch(r"\d{6}", county_code):
        raise ConfigError(
            f"County code {county_code!r} is not a 6-digit 行政区划代码 (e.g. 370790). Pass --county-code with the county's code."
        )
    if (path / LEDGER_FILE).exists() or (store and store_url(path)):
        raise LedgerError(
            f"{path} already has a ledger ({LEDGER_FILE}). Open it with the other commands, or choose another folder."
        )
    if path.exists() and not path.is_dir():
        raise LedgerError(f"{path} is a file, not a folder. Choose a folder for the workspace.")
    rules_path = path / RULES_FILE
    if rules_text is None:
        text = (
            rules_path.read_text(encoding="utf-8")
            if rules_path.exists()
            else _default_rules_text(county_code, county_name)
        )
    else:
        if rules_path.exists():
            raise LedgerError(
                f"{rules_path} already exists. Remove it, or init without --rules to keep it."
            )
        text = rules_text
    try:
        rules = rules_from_mapping(tomllib.loads(text), where=str(rules_path))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"The rules for {rules_path} are not valid TOML: {exc}. Fix the line it names."
        ) from exc
    if county_code and rules.county.code and rules.county.code != county_code:
        raise ConfigError(
            f"--county-code {county_code} differs from [county] code = {rules.county.code!r} in the rules file. Give one of them."
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
        if not rules_path.exists():
            rules_path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise LedgerError(
            f"Cannot create the workspace {path}: {exc}. Check the folder is writable."
        ) from exc
    code = rules.county.code or county_code
    if store:
        from parcelwatch.ledger.pgstore import PgStore, is_server_url, safe_url

        if not is_server_url(store):
            raise ConfigError(
                f"--store {store!r}: give the server as postgresql://HOST/DB or postgresql:///DB?service=NAME."
            )
        safe_url(store)  # refuses a password in the address
        shared = PgStore(store)
        if store_url(path) != store:
            with rules_path.open("a", encoding="utf-8") as fh:
                fh.write(
                    f"\n[store]\n# the shared ledger on the county's server (passwords: ~/.pgpass or a service file)\nurl = {_toml_str(store)}\n"
                )
        return Workspace(path, load_rules(rules_path), shared)
    gpkg = GpkgStore.create(
        path / LEDGER_FILE, now=now, county_code=code, county_name=rules.county.name or county_name
    )
    from parcelwatch.exports.qgis_style import write_ledger_styles

    write_ledger_styles(path / LEDGER_FILE, now=now)  # QGIS: Chinese aliases, colours, read-only
    return Workspace(path, load_rules(rules_path), gpkg)


def store_url(path: str | Path) -> str:
    """The shared ledger a workspace points to (``[store] url`` in rules.toml), '' for the file."""
    rules_path = Path(path) / RULES_FILE
    if not rules_path.is_file():
        return ""
    try:
        data = tomllib.loads(rules_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return ""  # load_rules reports it with the line
    section = data.get("store") or {}
    url = section.get("url", "") if isinstance(section, dict) else ""
    if not isinstance(url, str):
        raise ConfigError(f'{rules_path}: [store] url must be text, e.g. "postgresql://HOST/DB".')
    return url


def open_workspace(path: str | Path) -> Workspace:
    """Open an existing workspace (its rules file and ledger: the GeoPackage, or the server)."""
    path = Path(path)
    url = store_url(path)
    if url:
        from parcelwatch.ledger.pgstore import PgStore

        return Workspace(path, load_rules(path / RULES_FILE), PgStore(url))
    if not (path / LEDGER_FILE).is_file():
        hint = "" if path.is_dir() else " (the folder does not exist)"
        raise LedgerError(
            f"{path} is not a parcelwatch workspace{hint}: no {LEDGER_FILE}. Create one with `parcelwatch init {path}`."
        )
    rules = (
        load_rules(path / RULES_FILE)
        if (path / RULES_FILE).exists()
        else Rules(source="defaults (no rules.toml in the workspace)")
    )
    return Workspace(path, rules, GpkgStore(path / LEDGER_FILE))


@contextmanager
def _opened(ws: Workspace | str | Path) -> Iterator[Workspace]:
    if isinstance(ws, Workspace):
        yield ws
        return
    w = open_workspace(ws)
    try:
        yield w
    finally:
        w.close()


# ------------------------------------------------------------------------------------------
# Batch check (回头看)


@dataclass
class CheckSummary:
    """What :func:`check_batch` did. ``items``: one row per batch parcel (and per building that
    reopened a problem) with its outcome and problem id; see :class:`RecheckResult`."""

    batch: str
    issued: date
    verify_due: date
    counts: dict[str, int]
    items: pd.DataFrame
    new_ids: list[str]
    same_ids: list[str]
    rebound_ids: list[str]
    events: int
    rules_digest: str
    notes: list[str] = field(default_factory=list)

    def _pivot(self, key: str) -> pd.DataFrame:
        """Parcels per outcome; a reopened problem counts once however many parcels/buildings hit it."""
        items = self.items
        rebound = items["outcome"] == "rebound"
        items = pd.concat([items[~rebound], items[rebound].drop_duplicates("problem_id")])
        if len(items) == 0:
            return pd.DataFrame(columns=list(OUTCOMES))
        t = items.assign(**{key: items[key].replace("", "(未知)")}).pivot_table(
            index=key, columns="outcome", values="source_id", aggfunc="count", fill_value=0
        )
        return t.reindex(columns=list(OUTCOMES), fill_value=0).astype(int)

    def by_class(self) -> pd.DataFrame:
        """Counts of each outcome by candidate class (Chinese labels)."""
        t = self._pivot("candidate_class")
        t.index = [class_label(c) if c != "(未知)" else c for c in t.index]
        t.index.name = "类别"
        return t

    def by_township(self) -> pd.DataFrame:
        """Counts of each outcome by township."""
        t = self._pivot("township_name")
        t.index.name = "乡镇"
        return t

    def lines(self) -> list[str]:
        """A short text report (Chinese outcome names)."""
        c = self.counts
        out = [
            f"批次 {self.batch}（下发 {self.issued.isoformat()}，核查期限 {self.verify_due.isoformat()}）：",
            f"  新增问题 {c['new']}，已在台账 {c['same']}，反弹 {c['rebound']}，重复核对 {c['unchanged']}；写入事件 {self.events} 条",
        ]
        for title, table in (("按类别", self.by_class()), ("按乡镇", self.by_township())):
            if len(table):
                out.append(f"  {title}：")
                for name, row in zip(table.index, table.to_dict("records"), strict=True):
                    parts = "，".join(f"{OUTCOME_ZH[o]} {row[o]}" for o in OUTCOMES if row[o])
                    out.append(f"    {name}：{parts}")
        if self.rebound_ids:
            out.append("  反弹问题：" + "、".join(self.rebound_ids))
        out += [f"  注：{n}" for n in self.notes]
        return out


def check_batch(
    ws: Workspace | str | Path,
    sources: Mapping[str, Any],
    *,
    batch: str,
    now: datetime,
    user: str,
    issued: date | None = None,
    progress: Callable[[int, int], None] | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> CheckSummary:
    """Classify a batch with the workspace rules and reconcile it with the ledger (回头看).

    ``sources`` maps layer roles (parcels, farmland, pbf, greenhouses, buildings, approvals, parks,
    townships, villages) to files (``file`` or ``file:LAYER`` or a LayerSource). All changes are
    applied in one transaction; checking the same batch again changes nothing.
    ``progress(done, total)`` follows the recording; ``on_stage(name)`` is called as each stage
    starts (the CLI renders both).
    """
    from parcelwatch.pipeline import classify_inputs
    from parcelwatch.reference import closed_problem_boxes, load_batch_inputs

    stage = on_stage or (lambda _name: None)

    if "parcels" not in sources or sources["parcels"] is None:
        raise InputError("check_batch needs the batch's parcels layer (--parcels).")
    with _opened(ws) as w:
        rules = w.rules
        stage("读取图层")
        # layers given here win; the other roles come from the registered reference layers,
        # read by the extents of the batch's parcels (and of closed problems, for rebounds)
        closed_at_start = w.store.snapshot()
        inputs = load_batch_inputs(
            w.path,
            sources,
            rules=rules,
            extra_building_boxes=lambda crs: closed_problem_boxes(closed_at_start, crs),
        )
        stage("叠加分析与分类")
        result = classify_inputs(inputs, rules=rules)
        for attempt in (1, 2):
            try:
                return _reconcile(
                    w,
                    inputs,
                    result,
                    batch=batch,
                    now=now,
                    user=user,
                    issued=issued,
                    progress=progress,
                    stage=stage,
                )
            except LedgerConflictError as exc:
                # Someone changed the ledger between our read and our write: read it again and
                # redo the reconciliation once; a second loss is reported with the right advice.
                if attempt == 2:
                    raise LedgerConflictError(
                        f"The ledger was changed by someone else while the check of batch {batch} ran ({exc}). "
                        "Nothing of this check was recorded. Run the same check again: it reads the current ledger "
                        "(checking a batch twice changes nothing)."
                    ) from exc
    raise AssertionError("unreachable")  # pragma: no cover


def _reconcile(
    w: Workspace,
    inputs: Any,
    result: Any,
    *,
    batch: str,
    now: datetime,
    user: str,
    issued: date | None,
    progress: Callable[[int, int], None] | None,
    stage: Callable[[str], None] = lambda _name: None,
) -> CheckSummary:
    """Read the ledger, reconcile the classified batch with it and record the changes."""
    stage("回头看核对")
    rules = w.rules
    snap = w.store.snapshot()
    rc = recheck(
        result,
        snap,
        batch=batch,
        now=now,
        rules=rules,
        issued=issued,
        buildings=inputs.get("buildings"),
    )
    notes = [
        *(f"WARNING: {n}" for n in inputs.notices),
        *inputs.notes,
        *result.notes,
        *rc.notes,
        *(f"rule {rid} did not run: {why}" for rid, why in result.skipped),
    ]
    layer_batches = (
        result.parcels["batch"].dropna().astype(str).unique().tolist()
        if "batch" in result.parcels
        else []
    )
    if layer_batches and batch not in layer_batches:
        notes.append(
            f"the parcels' own 批次 field says {', '.join(layer_batches[:3])}, not {batch}; check --batch"
        )
    counts = rc.counts()
    known = set(w.store.batches()["batch"]) if rc.changes == [] else set()
    events = 0
    ids: list[str | None] = []
    if rc.changes or batch not in known:
        stage("写入台账")
        info = BatchInfo(
            batch,
            rc.issued,
            rc.year,
            rc.verify_due,
            int(len(result.parcels)),
            counts,
            result.rules_digest,
            {
                **{role: str(getattr(rep, "where", "")) for role, rep in inputs.reports.items()},
                # the loader's data-quality notices, kept with the batch record
                **({"notices": "\n".join(inputs.notices)} if inputs.notices else {}),
            },
        )
        applied = w.store.apply(
            rc.changes,
            user=user,
            now=now,
            batch=info,
            rules_digest=result.rules_digest,
            progress=progress,
        )
        events = len(applied.events)
        ids = applied.problem_ids
    items = rc.items.copy()
    if ids:
        idx = items["change_index"].to_numpy()
        new_rows = (items["outcome"] == "new").to_numpy() & (idx >= 0)
        items.loc[new_rows, "problem_id"] = [ids[i] for i in idx[new_rows]]
    same_ids = sorted(set(items.loc[items["outcome"] == "same", "problem_id"]))
    return CheckSummary(
        batch,
        rc.issued,
        rc.verify_due,
        counts,
        items,
        new_ids=[str(p) for p in items.loc[items["outcome"] == "new", "problem_id"]],
        same_ids=[str(p) for p in same_ids],
        rebound_ids=sorted(
            {str(p) for p in items.loc[items["outcome"] == "rebound", "problem_id"]}
        ),
        events=events,
        rules_digest=result.rules_digest,
        notes=notes,
    )


# ------------------------------------------------------------------------------------------
# Changes by staff


def evidence_from_file(
    path: str | Path,
    *,
    workspace: Workspace | None = None,
    kind: str | None = None,
    detail: str = "",
) -> Evidence:
    """Evidence for a photo or document: its path (relative to the workspace when inside it) and sha256."""
    p = Path(path)
    if not p.is_file():
        raise InputError(
            f"Evidence file {p} does not exist. Check the path (photos and documents are referenced, not copied)."
        )
    digest = hashlib.sha256()
    try:
        with p.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as exc:
        raise InputError(f"Cannot read evidence file {p}: {exc}.") from exc
    ref = p.resolve()
    if workspace is not None:
        try:
            ref = ref.relative_to(workspace.path.resolve())
        except ValueError:
            pass
    kind = kind or ("photo" if p.suffix.lower() in _PHOTO_SUFFIXES else "document")
    return Evidence(kind, ref.as_posix(), digest.hexdigest(), detail=detail)


def update_problems(
    ws: Workspace | str | Path,
    problem_ids: Sequence[str],
    *,
    user: str,
    now: datetime,
    status: Status | str | None = None,
    note: str = "",
    evidence: Iterable[str | Path | Evidence] = (),
    expected_versions: Mapping[str, int] | None = None,
    progress: Callable[[int, int], None] | None = None,
    **fields: Any,
) -> list[str]:
    """Apply the same change to several problems in one transaction; returns the ids changed.

    ``fields`` are editable fields (measure, deadline, responsible_unit, responsible_person,
    notes, confirmed_class, judgement_type, decision_ref, remaining_unrectified_m2, 自验表 fields).
    Each problem is updated only if it still has the version read here (or ``expected_versions``).
    """
    with _opened(ws) as w:
        target = Status.parse(status) if status is not None else None
        ev = tuple(
            e if isinstance(e, Evidence) else evidence_from_file(e, workspace=w) for e in evidence
        )
        ids = list(dict.fromkeys(problem_ids))
        records = {r.problem_id: r for r in w.store.records(ids, geometry=False)}
        missing = [p for p in ids if p not in records]
        if missing:
            raise LedgerError(
                f"No problem {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''} in the ledger {w.ledger_path}. Check the ids with `parcelwatch ledger list`."
            )
        versions = dict(expected_versions or {})
        changes = [
            Change(
                p,
                target,
                dict(fields),
                note=note,
                evidence=ev,
                expected_version=versions.get(p, records[p].version),
            )
            for p in ids
        ]
        result = w.store.apply(changes, user=user, now=now, progress=progress)
        return [p for p in result.problem_ids if p is not None]


def set_status(
    ws: Workspace | str | Path,
    problem_id: str,
    status: Status | str,
    *,
    user: str,
    now: datetime,
    note: str = "",
    evidence: Iterable[str | Path | Evidence] = (),
    **fields: Any,
) -> ProblemRecord:
    """Move one problem to ``status`` (with the fields the transition needs); returns it after."""
    with _opened(ws) as w:
        update_problems(
            w,
            [problem_id],
            user=user,
            now=now,
            status=status,
            note=note,
            evidence=evidence,
            **fields,
        )
        return w.store.get(problem_id)


def find_problems(
    ws: Workspace | str | Path,
    *,
    status: Iterable[Status | str] | Status | str | None = None,
    problem_class: str | None = None,
    township: str | None = None,
    batch: str | None = None,
    parcel_id: str | None = None,
    overdue_on: date | None = None,
    geometry: bool = False,
) -> list[ProblemRecord]:
    """Problems matching every filter given (class: confirmed class, else candidate class)."""
    with _opened(ws) as w:
        ids = None
        if parcel_id is not None:
            ids = w.store.problems_for_parcel(str(parcel_id))
        recs = w.store.records(ids, geometry=geometry)
    if status is not None:
        wanted = {
            Status.parse(s) for s in ([status] if isinstance(status, (str, Status)) else status)
        }
        recs = [r for r in recs if r.status in wanted]
    if problem_class is not None:
        key = problem_class.strip()
        try:
            code = parse_confirmed_class(key)
        except SchemaError:
            code = {"none": "none", "无": "none"}.get(key, key)
        recs = [r for r in recs if (r.confirmed_class or r.candidate_class) == code]
    if township is not None:
        recs = [r for r in recs if township in (r.township_name, r.township_code)]
    if batch is not None:
        recs = [r for r in recs if batch in r.batches]
    if overdue_on is not None:
        recs = [r for r in recs if is_overdue(r, overdue_on)]
    return recs


def problem_for_parcel(
    ws: Workspace | str | Path, parcel_id: str, *, batch: str | None = None
) -> ProblemRecord | None:
    """The problem a batch parcel (监测编号) was recorded on, or ``None``."""
    with _opened(ws) as w:
        ids = w.store.problems_for_parcel(str(parcel_id), batch)
        return w.store.get(ids[0]) if ids else None


def workspace_stats(
    ws: Workspace | str | Path, *, today: date, year: int | None = None
) -> LedgerStats:
    """:func:`~parcelwatch.ledger.stats.ledger_stats` of the whole ledger with the workspace rules."""
    with _opened(ws) as w:
        return ledger_stats(w.store.records(geometry=False), rules=w.rules, today=today, year=year)
