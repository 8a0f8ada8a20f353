"""Patrol work as library calls: village reports, finder findings, complaints, verification,
visits, and the month's scores from the stored records (SEED-SYSTEMS §B.2-§B.4, 0.P5, 0.P7).

Every function takes the :class:`~parcelwatch.patrol.records.PatrolBook`, the scheme, the user and
``now`` explicitly (the CLI reads the clock). Data-quality notices (a photo far from its finding,
a verifier who is not the lead department) are returned as strings, not printed.
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from parcelwatch.errors import InputError, LedgerError
from parcelwatch.patrol.photos import distance_m, read_photo_exif
from parcelwatch.patrol.records import (
    CHANNEL_KIND,
    VERIFY_RESULTS,
    PatrolBook,
    check_finder_kind,
    entry_from_finding,
    scheme_village,
)
from parcelwatch.patrol.scheme import COMPLAINT_KINDS, FINDER_LABELS, Scheme
from parcelwatch.patrol.scoring import (
    LOCAL_TZ,
    TRUE,
    MonthResult,
    QuarterResult,
    monthly,
    quarter_months,
    quarterly,
)

__all__ = [
    "Attached",
    "attach_photos",
    "report",
    "find",
    "add_complaint",
    "verify_complaint",
    "find_from_complaint",
    "verify",
    "same_as_candidates",
    "add_visit",
    "read_gpx",
    "score_month",
    "score_quarter",
]


@dataclass(frozen=True)
class Attached:
    """Photos as stored evidence, the position of the first one with GPS, and notices."""

    evidence: list[dict[str, Any]]
    lon: float | None
    lat: float | None
    at: datetime | None
    notes: list[str]


def _sha256(p: Path) -> str:
    h = hashlib.sha256()
    try:
        with p.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    except OSError as exc:
        raise InputError(f"Cannot read the photo {p}: {exc}.") from exc
    return h.hexdigest()


def _from_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """A GCJ-02 (高德) position as WGS 84 / EPSG:4490 (0.P7 ``--gcj02``)."""
    from parcelwatch.crs import gcj02_to_wgs84

    x, y = gcj02_to_wgs84(np.array([lon]), np.array([lat]))
    return float(x[0]), float(y[0])


def attach_photos(
    paths: Iterable[str | Path], *, base: Path | None = None, gcj02: bool = False
) -> Attached:
    """Evidence records (path, sha256, EXIF detail) for photos; missing files are an error.
    ``gcj02``: the photos' GPS was written in GCJ-02 by the camera app; the offset is removed."""
    ev: list[dict[str, Any]] = []
    lon = lat = None
    at = None
    for raw in paths:
        p = Path(raw)
        if not p.is_file():
            raise InputError(
                f"Photo {p} does not exist. Check the path (photos are referenced by path and sha256, not copied)."
            )
        exif = read_photo_exif(p)
        if gcj02 and exif.lon is not None and exif.lat is not None:
            x, y = _from_gcj02(exif.lon, exif.lat)
            exif = replace(exif, lon=x, lat=y)
        ref = p.resolve()
        if base is not None:
            try:
                ref = ref.relative_to(base.resolve())
            except ValueError:
                pass
        ev.append(
            {"kind": "photo", "path": ref.as_posix(), "sha256": _sha256(p), "detail": exif.detail}
        )
        if lon is None and exif.lon is not None:
            lon, lat = exif.lon, exif.lat
        if at is None and exif.at is not None:
            at = exif.at
    return Attached(ev, lon, lat, at, [])


def _point(lon: float | None, lat: float | None) -> str | None:
    if lon is None or lat is None:
        return None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise LedgerError(
            f"Position lon={lon}, lat={lat} is not a longitude/latitude pair (EPSG:4490 degrees)."
        )
    return f"POINT ({lon:.7f} {lat:.7f})"


def _photo_notes(att: Attached, lon: float | None, lat: float | None, scheme: Scheme) -> list[str]:
    notes: list[str] = []
    if lon is None or lat is None:
        return notes
    for e in att.evidence:
        d = dict(kv.split("=", 1) for kv in e["detail"].split(";") if "=" in kv)
        if "lon" in d and "lat" in d:
            dist = distance_m(lon, lat, float(d["lon"]), float(d["lat"]))
            if dist > scheme.photo_max_distance_m:
                notes.append(
                    f"照片 {e['path']} 的拍摄位置距发现位置 {dist:.0f} 米 (超过 {scheme.photo_max_distance_m:.0f} 米): 请核对照片是否为现场照片。"
                )
    return notes


def _month_prefix(t: datetime | date) -> str:
    if isinstance(t, datetime) and t.tzinfo is not None:
        t = t.astimezone(LOCAL_TZ)
    return f"XC-{t.year:04d}{t.month:02d}-"


def _item(scheme: Scheme, code: str, day: date) -> str:
    if not code:
        return ""
    if scheme.item(code) is None:
        raise LedgerError(
            f"Item {code!r} is not in the catalogue of patrol.toml (附件2). Use a listed code (`parcelwatch patrol config check WS`), or leave --item out for 目录外 matters."
        )
    if scheme.item(code, day) is None:
        raise LedgerError(
            f"Item {code} is not valid on {day} (its valid_from/valid_to in patrol.toml)."
        )
    return code


def report(
    book: PatrolBook,
    scheme: Scheme,
    *,
    village: str,
    item: str,
    occurred: date,
    reported_at: datetime,
    place: str = "",
    content: str = "",
    photos: Iterable[str | Path] = (),
    by: str = "",
    lon: float | None = None,
    lat: float | None = None,
    user: str,
    now: datetime,
    base: Path | None = None,
    gcj02: bool = False,
) -> tuple[str, list[str]]:
    """A village's own report (R1); returns the finding id and notices. ``gcj02``: the photos'
    GPS and ``lon``/``lat`` are GCJ-02 (高德) positions; stored as WGS 84 / EPSG:4490."""
    att = attach_photos(photos, base=base, gcj02=gcj02)
    if gcj02 and lon is not None and lat is not None:
        lon, lat = _from_gcj02(lon, lat)
    notes = _photo_notes(att, lon, lat, scheme)
    if lon is None and att.lon is not None:
        lon, lat = att.lon, att.lat
        notes.append("位置取自照片 EXIF")
    if att.at is not None and att.at > reported_at:
        notes.append(
            f"照片拍摄时间 {att.at.isoformat()} 晚于上报时间 {reported_at.isoformat()} (台账核查)"
        )
    row = {
        "village": scheme_village(scheme, village),
        "item_code": _item(scheme, item, occurred),
        "finder_kind": "village_self",
        "finder_name": scheme_village(scheme, village),
        "reporter": by,
        "occurred_on": occurred,
        "found_at": reported_at,
        "reported_at": reported_at,
        "place_text": place,
        "content": content,
        "photos": att.evidence,
        "verified_result": "待核实",
        "geom_wkt": _point(lon, lat),
    }
    (fid,) = book.insert_many(
        "patrol_findings", [row], prefix=_month_prefix(reported_at), width=5, user=user, now=now
    )
    return fid, notes


def find(
    book: PatrolBook,
    scheme: Scheme,
    *,
    village: str,
    item: str,
    finder_kind: str,
    finder_name: str = "",
    found_at: datetime,
    occurred: date | None = None,
    place: str = "",
    content: str = "",
    photos: Iterable[str | Path] = (),
    lon: float | None = None,
    lat: float | None = None,
    complaint_id: str = "",
    complaint_at: datetime | None = None,
    user: str,
    now: datetime,
    base: Path | None = None,
    gcj02: bool = False,
) -> tuple[str, list[str]]:
    """A finding by a town group/department, a higher level or a complaint channel (R2-R5)
    (``gcj02`` as in :func:`report`)."""
    check_finder_kind(finder_kind)
    if finder_kind == "village_self":
        raise LedgerError(
            "A village's own report is entered with `patrol report`, not `patrol find`."
        )
    if finder_kind in COMPLAINT_KINDS and complaint_at is None:
        raise LedgerError(
            f"Finder kind {finder_kind} is a complaint channel: enter the complaint (`patrol complaint add`) and use `patrol find --from-complaint ID` so 投诉之日 is known (R4)."
        )
    att = attach_photos(photos, base=base, gcj02=gcj02)
    if gcj02 and lon is not None and lat is not None:
        lon, lat = _from_gcj02(lon, lat)
    notes = _photo_notes(att, lon, lat, scheme)
    if lon is None and att.lon is not None:
        lon, lat = att.lon, att.lat
        notes.append("位置取自照片 EXIF")
    day = (
        (complaint_at or found_at).astimezone(LOCAL_TZ).date()
        if (complaint_at or found_at).tzinfo
        else (complaint_at or found_at).date()
    )
    row = {
        "village": scheme_village(scheme, village),
        "item_code": _item(scheme, item, day),
        "finder_kind": finder_kind,
        "finder_name": finder_name or FINDER_LABELS[finder_kind],
        "occurred_on": occurred,
        "found_at": found_at,
        "complaint_id": complaint_id,
        "complaint_at": complaint_at,
        "place_text": place,
        "content": content,
        "photos": att.evidence,
        "verified_result": "待核实",
        "geom_wkt": _point(lon, lat),
    }
    (fid,) = book.insert_many(
        "patrol_findings", [row], prefix=_month_prefix(found_at), width=5, user=user, now=now
    )
    return fid, notes


def add_complaint(
    book: PatrolBook,
    scheme: Scheme,
    *,
    channel: str,
    received_at: datetime,
    village: str,
    content: str,
    item: str = "",
    ref: str = "",
    major_impact: bool = False,
    user: str,
    now: datetime,
) -> str:
    """Record a complaint (0.P5) as 待核实; returns ``C-000001``-style id."""
    if channel not in CHANNEL_KIND:
        raise LedgerError(
            f"Complaint channel {channel!r} is not one of {'、'.join(CHANNEL_KIND)} (SEED-SYSTEMS 0.P5)."
        )
    day = received_at.date()
    row = {
        "channel": channel,
        "ref": ref,
        "received_at": received_at,
        "village": scheme_village(scheme, village),
        "item_code": _item(scheme, item, day),
        "content": content,
        "verified": "待核实",
        "resolved": False,
        "major_impact": major_impact,
    }
    (cid,) = book.insert_many("complaints", [row], prefix="C-", width=6, user=user, now=now)
    return cid


def verify_complaint(
    book: PatrolBook,
    complaint_id: str,
    result: str,
    *,
    by: str,
    at: datetime,
    user: str,
    now: datetime,
) -> None:
    """Verify a complaint; its linked finding (if any) gets the same result, department and time."""
    if result not in VERIFY_RESULTS:
        raise LedgerError(f"Result {result!r}: use 属实, 不属实 or 待核实.")
    c = book.get("complaints", complaint_id)
    extra = []
    if c.get("finding_id"):
        extra.append(
            (
                "patrol_findings",
                c["finding_id"],
                {"verified_result": result, "verified_at": at, "verified_by": by},
                "verify",
            )
        )
    book.update(
        "complaints",
        complaint_id,
        {"verified": result, "verified_at": at},
        user=user,
        now=now,
        kind="verify",
        extra=extra,
    )


def find_from_complaint(
    book: PatrolBook, scheme: Scheme, complaint_id: str, *, user: str, now: datetime
) -> str:
    """R4: the complaint as a finding (finder kind from its channel, 投诉之日 = received_at), linked both ways."""
    c = book.get("complaints", complaint_id)
    if c.get("finding_id"):
        raise LedgerError(f"Complaint {complaint_id} already has finding {c['finding_id']}.")
    at = datetime.fromisoformat(c["received_at"])
    fid, _ = find(
        book,
        scheme,
        village=c["village"],
        item=c.get("item_code") or "",
        finder_kind=CHANNEL_KIND[c["channel"]],
        finder_name=c["channel"] + (f" {c['ref']}" if c.get("ref") else ""),
        found_at=at,
        complaint_id=complaint_id,
        complaint_at=at,
        content=c.get("content") or "",
        user=user,
        now=now,
    )
    changes: dict[str, Any] = {"finding_id": fid}
    book.update("complaints", complaint_id, changes, user=user, now=now, kind="link")
    if c.get("verified") in (TRUE, "不属实"):
        book.update(
            "patrol_findings",
            fid,
            {
                "verified_result": c["verified"],
                "verified_at": c.get("verified_at") or now,
                "verified_by": "投诉核实",
            },
            user=user,
            now=now,
            kind="verify",
        )
    return fid


def _wkt_point(wkt: str | None) -> tuple[float, float] | None:
    if not wkt or not wkt.startswith("POINT"):
        return None
    x, y = wkt[wkt.index("(") + 1 : wkt.index(")")].split()
    return float(x), float(y)


def same_as_candidates(book: PatrolBook, scheme: Scheme, finding_id: str) -> list[dict[str, Any]]:
    """Earlier findings that may be the same issue: same village and item, within
    ``same_issue_days`` and (when both have a position) ``same_issue_distance_m``. Never linked here."""
    f = book.get("patrol_findings", finding_id)
    ref = datetime.fromisoformat(f["complaint_at"] or f["found_at"])
    here = _wkt_point(f.get("geom_wkt"))
    out = []
    for g in book.all("patrol_findings"):
        if (
            g["finding_id"] == finding_id
            or g["village"] != f["village"]
            or g["item_code"] != f["item_code"]
        ):
            continue
        t = datetime.fromisoformat(g.get("reported_at") or g.get("complaint_at") or g["found_at"])
        if not (
            ref - timedelta(days=scheme.same_issue_days)
            <= t
            <= ref + timedelta(days=scheme.same_issue_days)
        ):
            continue
        there = _wkt_point(g.get("geom_wkt"))
        if here and there and distance_m(*here, *there) > scheme.same_issue_distance_m:
            continue
        out.append(g)
    return out


def verify(
    book: PatrolBook,
    scheme: Scheme,
    finding_id: str,
    *,
    result: str,
    by: str,
    at: datetime,
    same_as: str = "",
    override: bool = False,
    note: str = "",
    user: str,
    now: datetime,
) -> list[str]:
    """核实认定 by the lead department (R1 "由对口部门"); ``same_as`` joins the issue of another finding."""
    if result not in VERIFY_RESULTS:
        raise LedgerError(f"Result {result!r}: use 属实, 不属实 or 待核实.")
    f = book.get("patrol_findings", finding_id)
    notes: list[str] = []
    item = scheme.item(f["item_code"]) if f.get("item_code") else None
    if item is not None and by != item.dept:
        if not override:
            raise LedgerError(
                f"{finding_id} ({item.code} {item.name}) is verified by its lead department {item.dept}, not {by}. "
                "Pass --by with the lead department, or --override (logged) if the town assigned it otherwise."
            )
        notes.append(f"核实部门 {by} 不是牵头部门 {item.dept} (--override, 已记录)")
    changes: dict[str, Any] = {"verified_result": result, "verified_by": by, "verified_at": at}
    if override:
        changes["verify_override"] = f"{by} (牵头部门 {item.dept if item else ''})"
    if note:
        changes["notes"] = ((f.get("notes") or "") + "\n" + note).strip()
    extra = []
    if same_as:
        other = book.get("patrol_findings", same_as)
        if other["village"] != f["village"]:
            raise LedgerError(
                f"{same_as} is in {other['village']}, {finding_id} in {f['village']}: the same issue lies in one village."
            )
        issue = other.get("issue_id") or same_as
        changes["issue_id"] = issue
        if not other.get("issue_id"):
            extra.append(("patrol_findings", same_as, {"issue_id": issue}, "same_as"))
        if f.get("issue_id") and f["issue_id"] != issue:
            for g in book.all("patrol_findings"):
                if g.get("issue_id") == f["issue_id"] and g["finding_id"] != finding_id:
                    extra.append(
                        ("patrol_findings", g["finding_id"], {"issue_id": issue}, "same_as")
                    )
    book.update(
        "patrol_findings", finding_id, changes, user=user, now=now, kind="verify", extra=extra
    )
    return notes


def read_gpx(path: str | Path) -> str:
    """A GPX track (trkpt, else rtept) as a WKT LineString in EPSG:4490 (WGS 84 GPS, < 1 m apart)."""
    p = Path(path)
    try:
        root = ET.parse(p).getroot()
    except (ET.ParseError, OSError) as exc:
        raise InputError(
            f"Cannot read the GPX route {p}: {exc}. Export the track as GPX 1.1 from the patrol app."
        ) from exc
    pts = [e for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "trkpt"] or [
        e for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "rtept"
    ]
    coords = []
    for n, e in enumerate(pts, start=1):
        try:
            coords.append((float(e.attrib["lon"]), float(e.attrib["lat"])))
        except (KeyError, ValueError) as exc:
            raise InputError(f"{p}: track point {n} has no valid lon/lat attributes.") from exc
    if len(coords) < 2:
        raise InputError(
            f"{p}: the route has {len(coords)} track point(s); a route needs at least 2."
        )
    return "LINESTRING (" + ", ".join(f"{x:.7f} {y:.7f}" for x, y in coords) + ")"


def add_visit(
    book: PatrolBook,
    scheme: Scheme,
    *,
    by_kind: str,
    by_unit: str,
    village: str,
    start: datetime,
    end: datetime,
    people: Sequence[str],
    route: str | Path | None = None,
    area_text: str = "",
    items_checked: Sequence[str] = (),
    notes: str = "",
    user: str,
    now: datetime,
) -> str:
    """A patrol visit (巡查记录台账) with an optional GPX route."""
    if by_kind not in ("group", "village", "dept"):
        raise LedgerError(f"Visit by {by_kind!r}: use group, village or dept.")
    if end < start:
        raise LedgerError(
            f"The visit ends ({end.isoformat()}) before it starts ({start.isoformat()}); check --start/--end."
        )
    row = {
        "by_kind": by_kind,
        "by_unit": by_unit,
        "people": list(people),
        "village": scheme_village(scheme, village),
        "started_at": start,
        "ended_at": end,
        "route_wkt": read_gpx(route) if route else None,
        "area_text": area_text,
        "items_checked": list(items_checked),
        "notes": notes,
    }
    t = start.astimezone(LOCAL_TZ) if start.tzinfo else start
    (vid,) = book.insert_many(
        "patrol_visits", [row], prefix=f"XV-{t.year:04d}{t.month:02d}-", width=5, user=user, now=now
    )
    return vid


def score_month(book: PatrolBook, scheme: Scheme, month: str) -> MonthResult:
    """The month's scores from every stored finding."""
    return monthly([entry_from_finding(f) for f in book.all("patrol_findings")], scheme, month)


def score_quarter(
    book: PatrolBook, scheme: Scheme, quarter: str
) -> tuple[list[QuarterResult], list[MonthResult]]:
    """Quarter results and the three months they average."""
    entries = [entry_from_finding(f) for f in book.all("patrol_findings")]
    months = [monthly(entries, scheme, m) for m in quarter_months(quarter)]
    scores = {v.village: [m.village(v.village).score for m in months] for v in months[0].villages}
    return quarterly(scores, scheme), months


def import_village_ledger(
    book: PatrolBook,
    scheme: Scheme,
    plan: Any,
    *,
    village: str,
    user: str,
    now: datetime,
    base: Path | None = None,
) -> list[str]:
    """Store the checked rows of a 附件3 import as village reports, in one transaction."""
    v = scheme_village(scheme, village)
    rows = []
    prefixes = []
    for r in plan.rows:
        att = attach_photos(r.photos, base=base)
        lon, lat = (r.lon, r.lat) if r.lon is not None else (att.lon, att.lat)
        rows.append(
            {
                "village": v, "item_code": r.item, "finder_kind": "village_self", "finder_name": v,
                "reporter": r.reporter, "occurred_on": r.occurred, "found_at": r.reported,
                "reported_at": r.reported, "place_text": r.place, "content": r.content,
                "photos": att.evidence, "verified_result": "待核实", "geom_wkt": _point(lon, lat),
                "notes": f"导入自 {plan.path.name} {plan.sheet}!行{r.row}",
            }
        )  # fmt: skip
        prefixes.append(_month_prefix(r.reported))
    if not rows:
        return []
    return book.insert_many("patrol_findings", rows, prefix=prefixes, width=5, user=user, now=now)


def link_complaint(
    book: PatrolBook,
    complaint_id: str,
    *,
    problem_id: str = "",
    case_id: str = "",
    user: str,
    now: datetime,
) -> None:
    """Link a complaint to a land-ledger problem and/or a 两违 case (0.P5 links). The caller
    checks that the problem exists; a case is looked up here (a 两违 case that is not stored is
    refused)."""
    if not (problem_id or case_id):
        raise LedgerError("Name what the complaint is linked to: --problem ID and/or --case LW-….")
    book.get("complaints", complaint_id)
    changes: dict[str, Any] = {}
    extra = []
    if problem_id:
        changes["problem_id"] = problem_id
    if case_id:
        case = book.get("violation_cases", case_id)
        changes["case_id"] = case_id
        if case.get("found_by") == "举报" and not case.get("found_ref"):
            extra.append(("violation_cases", case_id, {"found_ref": complaint_id}, "link"))
    book.update("complaints", complaint_id, changes, user=user, now=now, kind="link", extra=extra)


def resolve_complaint(
    book: PatrolBook, complaint_id: str, *, on: date, user: str, now: datetime
) -> None:
    """Mark a complaint resolved (办结) on ``on``; a complaint still 待核实 cannot be resolved."""
    c = book.get("complaints", complaint_id)
    if c.get("verified") == "待核实":
        raise LedgerError(
            f"{complaint_id} is still 待核实: verify it first (`parcelwatch patrol complaint verify`)."
        )
    received = datetime.fromisoformat(c["received_at"]).date()
    if on < received:
        raise LedgerError(
            f"{complaint_id} was received on {received}; it cannot be resolved on {on} (--on)."
        )
    book.update(
        "complaints",
        complaint_id,
        {"resolved": True, "resolved_on": on},
        user=user,
        now=now,
        kind="resolve",
    )
