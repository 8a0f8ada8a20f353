"""The county's organisation (SEED-SYSTEMS 0.P2): townships, villages, departments and the people
with their roles, as audited records in the ledger store.

* ``org_units``: ``unit_id`` (the 12-digit village / 9-digit township code when there is one, else
  ``ORG-{seq:04d}``), ``kind`` ∈ :data:`UNIT_KINDS`, ``name``, ``code``, ``parent_id``,
  ``group_id`` (the 巡查督查组 covering a village), ``area_text``, ``geom_wkt`` (EPSG:4490).
* ``org_people``: ``person_id`` ``P-{seq:04d}``, ``name``, ``unit_id``, ``roles`` (list),
  ``valid_from``, ``valid_to``.

Villages come from a village-boundary layer (CJDCQ, the ``villages`` role of ``check``); each
village's township is the first 9 digits of its code, created as a ``town`` unit if missing.
Names staff type (责任单位, 责任领导, 乡镇, 村) are looked up with :func:`name_notices`: a name the
registry does not know is still accepted, with a notice (data, not an error).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from parcelwatch.errors import SchemaError
from parcelwatch.io.clues import cell_date, cell_text
from parcelwatch.reports.records import AuditedBook, Entity, register, text_table

__all__ = [
    "UNIT_KINDS",
    "OrgBook",
    "OrgImport",
    "UNITS",
    "PEOPLE",
    "name_notices",
    "registry_notices",
]

UNIT_KINDS = ("county", "town", "village", "community", "department", "patrol_group", "higher")
UNITS = register(
    Entity(
        "org_units",
        text_table(
            "org_units",
            "unit_id",
            ("kind", "name", "code", "parent_id", "group_id", "area_text", "geom_wkt"),
        ),
        "unit_id",
        (),
        "组织机构 (乡镇、村、部门)",
    )
)
PEOPLE = register(
    Entity(
        "org_people",
        text_table(
            "org_people", "person_id", ("name", "unit_id", "roles", "valid_from", "valid_to")
        ),
        "person_id",
        ("roles",),
        "人员及职责",
    )
)


class OrgBook:
    """Units and people of one ledger store."""

    def __init__(self, store: Any) -> None:
        self.book = AuditedBook(store)

    def units(self, kind: str | None = None) -> list[dict[str, Any]]:
        return [u for u in self.book.all(UNITS.name) if kind is None or u["kind"] == kind]

    def people(self) -> list[dict[str, Any]]:
        return self.book.all(PEOPLE.name)

    def add_unit(
        self,
        *,
        kind: str,
        name: str,
        user: str,
        now: datetime,
        code: str = "",
        parent_id: str = "",
        group_id: str = "",
        area_text: str = "",
    ) -> str:
        if kind not in UNIT_KINDS:
            raise SchemaError(f"--kind {kind!r}: use one of {', '.join(UNIT_KINDS)}.")
        if not name.strip():
            raise SchemaError("A unit needs a name.")
        row = {"kind": kind, "name": name.strip(), "code": code, "parent_id": parent_id,
               "group_id": group_id, "area_text": area_text}  # fmt: skip
        return self.book.insert(UNITS.name, row, prefix="ORG-", width=4, user=user, now=now)

    def add_person(
        self,
        *,
        name: str,
        unit: str,
        roles: Sequence[str],
        user: str,
        now: datetime,
        valid_from: date | None = None,
        valid_to: date | None = None,
    ) -> str:
        """A person of a unit (named or given by id/code) with roles (村巡查员, 组长, 书记 ...)."""
        if not name.strip():
            raise SchemaError("A person needs a name.")
        unit_id = self.unit_id(unit)
        if unit_id is None:
            raise SchemaError(
                f"--unit {unit!r} is not in the organisation registry. Add it first "
                "(`parcelwatch org add-unit` or `org import-villages`); list them with `parcelwatch org list WS`."
            )
        row = {"name": name.strip(), "unit_id": unit_id, "roles": [r.strip() for r in roles if r.strip()],
               "valid_from": valid_from, "valid_to": valid_to}  # fmt: skip
        return self.book.insert(PEOPLE.name, row, prefix="P-", width=4, user=user, now=now)

    def unit_id(self, text: str) -> str | None:
        t = (text or "").strip()
        for u in self.units():
            if t in (u["unit_id"], u["name"], u.get("code") or None):
                return str(u["unit_id"])
        return None

    def import_villages(
        self, villages: Any, *, user: str, now: datetime, town_code: str = ""
    ) -> tuple[int, int]:
        """Villages of a loaded ``villages`` layer (``village_code``, ``village_name``, geometry in
        any CRS); returns (villages added, towns added). Villages already registered are kept."""
        from parcelwatch.crs import STORAGE_CRS

        frame = villages.to_crs(STORAGE_CRS)
        codes = frame["village_code"].astype(str).tolist()
        names = (
            frame["village_name"].fillna("").astype(str).tolist()
            if "village_name" in frame
            else [""] * len(codes)
        )
        wkts = [g.wkt if g is not None else None for g in frame.geometry]
        have = {u["unit_id"] for u in self.units()}
        towns = new_v = 0
        rows: list[tuple[str, dict[str, Any]]] = []
        for code, name, wkt in zip(codes, names, wkts, strict=True):
            if town_code and not code.startswith(town_code):
                continue
            t = code[:9]
            if t not in have:
                have.add(t)
                rows.append((t, {"kind": "town", "name": "", "code": t, "parent_id": code[:6]}))
                towns += 1
            if code in have:
                continue
            have.add(code)
            rows.append(
                (
                    code,
                    {
                        "kind": "village",
                        "name": name,
                        "code": code,
                        "parent_id": t,
                        "geom_wkt": wkt,
                    },
                )
            )
            new_v += 1
        self.book.insert_with_ids(UNITS.name, rows, user=user, now=now)
        return new_v, towns

    def import_xlsx(
        self, path: str | Path, *, user: str, now: datetime, dry_run: bool = False
    ) -> OrgImport:
        """Units (sheet 单位: 类型, 名称, 代码, 上级, 巡查督查组, 范围说明) and people (sheet 人员:
        姓名, 单位, 职责, 起始日期, 截止日期) of a workbook. Every cell is checked first; any
        problem (sheet, row, column, value, fix) and nothing is written. A 上级 or a person's 单位
        may name a unit of the same file. 职责 lists roles separated by 、 or commas."""
        return _import_xlsx(self, path, user=user, now=now, dry_run=dry_run)


def name_notices(
    book: OrgBook | None, *, unit: str = "", leader: str = "", township: str = "", village: str = ""
) -> list[str]:
    """Notices for names the registry does not know (free text is accepted; an empty registry gives none)."""
    if book is None:
        return []
    units = book.units()
    if not units:
        return []
    people = book.people()
    known_units = (
        {u["name"] for u in units} | {u["unit_id"] for u in units} | {u.get("code") for u in units}
    )
    out = []
    for label, value, kinds in (
        ("责任单位", unit, None),
        ("乡镇", township, ("town",)),
        ("村", village, ("village",)),
    ):
        if not value:
            continue
        pool = known_units if kinds is None else {
            x for u in units if u["kind"] in kinds for x in (u["name"], u["unit_id"], u.get("code"))
        }  # fmt: skip
        if value not in pool:
            out.append(
                f"{label} {value!r} is not in the organisation registry; kept as typed (check the spelling, or add it with `parcelwatch org add-unit`)."
            )
    if leader and leader not in {p["name"] for p in people}:
        out.append(
            f"责任领导 {leader!r} is not a person in the organisation registry; kept as typed (add the person with `parcelwatch org add-person`)."
        )
    return out


def registry_notices(store: Any, **names: str) -> list[str]:
    """:func:`name_notices` for a store, reading only (none while the registry tables do not exist)."""
    import sqlalchemy as sa

    from parcelwatch.ledger.records import table_schema

    with store._tx(False) as conn:
        have = set(sa.inspect(conn).get_table_names(schema=table_schema(conn)))
    if not {UNITS.table.name, PEOPLE.table.name} <= have:
        return []
    return name_notices(OrgBook(store), **names)


# ------------------------------------------------------------------------------------------
# `org import WS 组织.xlsx`: sheets 单位 and 人员, all or nothing with a per-cell report

#: 类型 as staff write it (Chinese) or as the CLI does (English)
KIND_WORDS = {
    "县": "county", "县(市、区)": "county", "乡镇": "town", "镇": "town", "乡": "town", "街道": "town",
    "村": "village", "社区": "community", "居": "community", "部门": "department",
    "巡查督查组": "patrol_group", "督查组": "patrol_group", "上级": "higher", "上级单位": "higher",
    **{k: k for k in UNIT_KINDS},
}  # fmt: skip
UNIT_SHEET, PEOPLE_SHEET = "单位", "人员"
UNIT_HEADS = ("类型", "名称", "代码", "上级", "巡查督查组", "范围说明")
PEOPLE_HEADS = ("姓名", "单位", "职责", "起始日期", "截止日期")


@dataclass
class OrgImport:
    """What :meth:`OrgBook.import_xlsx` found and did."""

    units: int = 0
    people: int = 0
    issues: list[Any] = field(default_factory=list)  # parcelwatch.ledger.xlsx.RowIssue
    dry_run: bool = False

    def lines(self) -> list[str]:
        out = [str(i) for i in self.issues]
        if self.issues:
            out.append(
                f"{len(self.issues)} problem(s); nothing was written. Fix the cells and import again."
            )
        elif self.dry_run:
            out.append(f"试运行：{self.units} 个单位、{self.people} 名人员可导入，未写入。")
        else:
            out.append(
                f"{self.units} unit(s) and {self.people} person(s) added to the organisation registry."
            )
        return out


def _sheet_rows(wb: Any, name: str, heads: Sequence[str], issues: list[Any], path: str) -> list[tuple[int, dict[str, Any]]]:  # fmt: skip
    from parcelwatch.ledger.xlsx import RowIssue

    if name not in wb.sheetnames:
        if (
            name == UNIT_SHEET
            and PEOPLE_SHEET not in wb.sheetnames
            or name == PEOPLE_SHEET
            and UNIT_SHEET not in wb.sheetnames
        ):
            issues.append(RowIssue(name, 1, "", None, f"{path} has no sheet {name}; it needs a sheet 单位 and/or 人员 with headers {'、'.join(heads)}."))  # fmt: skip
        return []
    rows = list(wb[name].iter_rows(values_only=True))
    if not rows:
        return []
    header = [cell_text(h) for h in rows[0]]
    missing = [h for h in heads[:2] if h not in header]
    if missing:
        issues.append(RowIssue(name, 1, "、".join(missing), None,
                               f"header row lacks {'、'.join(missing)}; the headers are {'、'.join(heads)}."))  # fmt: skip
        return []
    idx = {h: header.index(h) for h in heads if h in header}
    out = []
    for n, r in enumerate(rows[1:], start=2):
        values = {h: (r[i] if i < len(r) else None) for h, i in idx.items()}
        if all(cell_text(v) == "" for v in values.values()):
            continue
        out.append((n, values))
    return out


def _import_xlsx(book: OrgBook, path: str | Path, *, user: str, now: datetime, dry_run: bool) -> OrgImport:  # fmt: skip
    import openpyxl

    from parcelwatch.errors import InputError
    from parcelwatch.ledger.xlsx import RowIssue

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (OSError, ValueError, KeyError) as exc:  # openpyxl: bad zip / not a workbook
        raise InputError(f"{path}: cannot read it as an Excel workbook (.xlsx): {exc}.") from exc
    issues: list[Any] = []
    unit_rows = _sheet_rows(wb, UNIT_SHEET, UNIT_HEADS, issues, str(path))
    people_rows = _sheet_rows(wb, PEOPLE_SHEET, PEOPLE_HEADS, issues, str(path))
    wb.close()
    existing = book.units()
    known: dict[str, str] = {}  # name / code / id -> unit id
    for u in existing:
        for k in (u["unit_id"], u["name"], u.get("code")):
            if k:
                known.setdefault(str(k), str(u["unit_id"]))
    top = max((int(u["unit_id"][4:]) for u in existing if str(u["unit_id"]).startswith("ORG-")
               and str(u["unit_id"])[4:].isdigit()), default=0)  # fmt: skip
    new_units: list[tuple[str, dict[str, Any]]] = []
    pending_parent: list[tuple[int, str, dict[str, Any]]] = []
    for n, v in unit_rows:
        bad = len(issues)
        kind_text, name, code = (
            cell_text(v.get("类型")),
            cell_text(v.get("名称")),
            cell_text(v.get("代码")),
        )
        kind = KIND_WORDS.get(kind_text)
        if kind is None:
            issues.append(RowIssue(UNIT_SHEET, n, "类型", v.get("类型"),
                                   f"not a unit type; write one of {'、'.join(k for k in KIND_WORDS if not k.isascii())}."))  # fmt: skip
        if not name:
            issues.append(
                RowIssue(UNIT_SHEET, n, "名称", v.get("名称"), "every unit needs a name.")
            )
        if code and not code.isdigit():
            issues.append(RowIssue(UNIT_SHEET, n, "代码", v.get("代码"), "a code is digits only (9 for a township, 12 for a village)."))  # fmt: skip
        elif kind == "village" and code and len(code) != 12:
            issues.append(
                RowIssue(UNIT_SHEET, n, "代码", v.get("代码"), "a village code has 12 digits.")
            )
        elif kind == "town" and code and len(code) != 9:
            issues.append(
                RowIssue(UNIT_SHEET, n, "代码", v.get("代码"), "a township code has 9 digits.")
            )
        for key in (name, code):
            if key and key in known:
                col = "名称" if key == name else "代码"
                issues.append(RowIssue(UNIT_SHEET, n, col, key, f"{key} is already in the registry ({known[key]}); remove the row or change it."))  # fmt: skip
        if len(issues) > bad:
            continue
        if code and kind in ("town", "village"):
            uid = code
        else:
            top += 1
            uid = f"ORG-{top:04d}"
        row = {"kind": kind, "name": name, "code": code, "parent_id": "",
               "group_id": cell_text(v.get("巡查督查组")), "area_text": cell_text(v.get("范围说明"))}  # fmt: skip
        for k in (uid, name, code):
            if k:
                known[k] = uid
        new_units.append((uid, row))
        pending_parent.append((n, cell_text(v.get("上级")), row))
    for n, parent, row in pending_parent:  # a parent may be a unit of the same sheet
        if not parent:
            continue
        if parent in known:
            row["parent_id"] = known[parent]
        else:
            issues.append(RowIssue(UNIT_SHEET, n, "上级", parent, "no such unit in the registry or in this sheet; give its name, code or id."))  # fmt: skip
    new_people: list[dict[str, Any]] = []
    for n, v in people_rows:
        bad = len(issues)
        name, unit = cell_text(v.get("姓名")), cell_text(v.get("单位"))
        if not name:
            issues.append(
                RowIssue(PEOPLE_SHEET, n, "姓名", v.get("姓名"), "every person needs a name.")
            )
        if unit not in known:
            issues.append(RowIssue(PEOPLE_SHEET, n, "单位", v.get("单位"), "no such unit in the registry or in sheet 单位; give its name, code or id."))  # fmt: skip
        dates: dict[str, date | None] = {}
        for col, key in (("起始日期", "valid_from"), ("截止日期", "valid_to")):
            raw = v.get(col)
            try:
                dates[key] = None if cell_text(raw) == "" else cell_date(raw)
            except ValueError:
                issues.append(
                    RowIssue(PEOPLE_SHEET, n, col, raw, "not a date; write it as 2025-01-31.")
                )
        start, end = dates.get("valid_from"), dates.get("valid_to")
        if start is not None and end is not None and end < start:
            issues.append(
                RowIssue(PEOPLE_SHEET, n, "截止日期", v.get("截止日期"), "ends before 起始日期.")
            )
        if len(issues) > bad:
            continue
        roles = [
            r.strip() for r in re.split(r"[、,，;；/\s]+", cell_text(v.get("职责"))) if r.strip()
        ]
        new_people.append({"name": name, "unit_id": known[unit], "roles": roles, **dates})
    report = OrgImport(len(new_units), len(new_people), issues, dry_run)
    if issues or dry_run:
        return report
    if new_units:
        book.book.insert_with_ids(UNITS.name, new_units, user=user, now=now)
    ptop = max(
        (int(p["person_id"][2:]) for p in book.people() if str(p["person_id"])[2:].isdigit()),
        default=0,
    )
    if new_people:
        book.book.insert_with_ids(
            PEOPLE.name,
            [(f"P-{ptop + k:04d}", p) for k, p in enumerate(new_people, start=1)],
            user=user,
            now=now,
        )
    return report
