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

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from parcelwatch.errors import SchemaError
from parcelwatch.reports.records import AuditedBook, Entity, register, text_table

__all__ = ["UNIT_KINDS", "OrgBook", "UNITS", "PEOPLE", "name_notices", "registry_notices"]

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

    from parcelwatch.patrol.records import _schema

    with store._tx(False) as conn:
        have = set(sa.inspect(conn).get_table_names(schema=_schema(conn)))
    if not {UNITS.table.name, PEOPLE.table.name} <= have:
        return []
    return name_notices(OrgBook(store), **names)
