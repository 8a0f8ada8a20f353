"""A workspace: a folder with the ledger (``ledger.gpkg``) and the county's ``rules.toml``.

This module is the ledger's edge: it opens the store, reads evidence to hash it and applies staff
changes (:func:`update_problems`). Whole jobs over a workspace (checking a batch, imagery, maps,
exports) live in :mod:`parcelwatch.pipeline`.
Time always comes in as ``now=`` (an aware datetime); nothing here reads the clock.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from parcelwatch.atomic import write_text_atomic
from parcelwatch.config import Rules, defaults_toml, load_rules, rules_from_mapping, tomllib
from parcelwatch.errors import (
    ConfigError,
    InputError,
    LedgerError,
    SchemaError,
)
from parcelwatch.ledger.model import (
    Change,
    Evidence,
    ProblemRecord,
    Status,
    is_overdue,
    parse_confirmed_class,
)
from parcelwatch.ledger.stats import LedgerStats, ledger_stats
from parcelwatch.ledger.store import GpkgStore, LedgerStore

__all__ = [
    "LEDGER_FILE",
    "RULES_FILE",
    "Workspace",
    "create_workspace",
    "open_workspace",
    "opened",
    "store_url",
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


def create_workspace(
    path: str | Path,
    *,
    rules_text: str | None = None,
    county_code: str = "",
    county_name: str = "",
    now: datetime,
    store: str = "",
) -> Workspace:
    """Create a workspace folder with an empty ledger and a rules file, and open it.

    The ledger alone: :func:`parcelwatch.pipeline.init_workspace` also writes its QGIS styles.

    ``rules_text`` is the rules file to use (TOML); without it an existing ``rules.toml`` in the
    folder is kept, else the commented defaults are written with ``[county] code/name`` filled.
    ``store`` (``postgresql://HOST/DB`` or ``postgresql:///DB?service=NAME``) puts the ledger on
    the county's server, recorded as ``[store] url`` in rules.toml (never with a password).
    """
    path = Path(path)
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
            write_text_atomic(rules_path, text)
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
def opened(ws: Workspace | str | Path) -> Iterator[Workspace]:
    """The workspace itself, or the one at a path opened for the ``with`` block (and closed after)."""
    if isinstance(ws, Workspace):
        yield ws
        return
    w = open_workspace(ws)
    try:
        yield w
    finally:
        w.close()


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
    with opened(ws) as w:
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
    with opened(ws) as w:
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
    with opened(ws) as w:
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
    with opened(ws) as w:
        ids = w.store.problems_for_parcel(str(parcel_id), batch)
        return w.store.get(ids[0]) if ids else None


def workspace_stats(
    ws: Workspace | str | Path, *, today: date, year: int | None = None
) -> LedgerStats:
    """:func:`~parcelwatch.ledger.stats.ledger_stats` of the whole ledger with the workspace rules."""
    with opened(ws) as w:
        return ledger_stats(w.store.records(geometry=False), rules=w.rules, today=today, year=year)
