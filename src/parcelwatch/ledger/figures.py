"""One definition per figure: every count, area and rate the map, the Excel forms, the exports and
``parcelwatch ledger stats`` show comes from here. Pure: records (or a map view) in, figures out.

Definitions (DOMAIN §3.4, §3.7; labels from :mod:`parcelwatch.labels`):

* **认定违法** (confirmed illegal): a problem whose judgement is 违法 (set when it was put in
  未整改 / 整改中 and kept through 待验收, 已销号, 反弹 ... until a re-verification clears it).
* **整改完成率** = 认定违法 problems now 已销号 ÷ 认定违法 problems. Blank (—) when none is
  confirmed. A rebound (反弹) problem is confirmed and not closed, so it counts against the rate.
* **违法占用耕地（已认定）** = Σ 耕地 (永久基本农田 included) occupied by the problem buildings of
  the 认定违法 problems. **疑似违法占用耕地（未认定）** = the same sum over problems not yet judged
  (未核查 and other problems without a judgement): candidates, never added to the confirmed
  figure. Problems judged 合法 / 其他 count in neither.
* **剩余未整改面积** = Σ remaining unrectified area of the 认定违法 problems.
* **整改中** counts 整改中 and 待验收; **逾期** uses :func:`~parcelwatch.ledger.model.is_overdue`.
* **违法占用耕地面积比例** = 违法占用耕地（已认定） of the year's problems ÷ the year's 耕地 occupied
  by new construction land (``[ledger] new_construction_farmland_m2``): see
  :mod:`parcelwatch.ledger.stats`.

Order: statuses in workflow order, classes 第一类, 第二类, 第三类, 耕地非农化, 非大棚房, 无 (a
confirmed class before its candidate 疑似 form), townships by name. Rounding: areas are summed in
m² unrounded, converted to 亩, and rounded half-up to 2 decimals only for display
(:func:`mu_text`, :func:`mu_value`); rates to 2 decimals of a percent (:func:`rate_text`). Counts are
integers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd

from parcelwatch.labels import CANDIDATE_PREFIX, CLASS_LABELS, CLASS_ORDER, STATUS_ORDER
from parcelwatch.labels import FIGURE_LABELS as ALL_FIGURE_LABELS
from parcelwatch.units import m2_to_mu

__all__ = [
    "rate",
    "percent_text",
    "UNKNOWN_TOWNSHIP",
    "COMPLETION_RATE_DEFINITION",
    "RECTIFYING_STATUSES",
    "as_table",
    "FIGURE_LABELS",
    "Figures",
    "figure_rows",
    "figure_rows_from_view",
    "figures",
    "figures_by",
    "half_up",
    "mu_value",
    "mu_text",
    "rate_value",
    "rate_text",
    "class_sort_key",
    "map_figures",
]

UNKNOWN_TOWNSHIP = "(未知乡镇)"
RECTIFYING_STATUSES = ("整改中", "待验收")
FIGURE_LABELS: dict[str, str] = ALL_FIGURE_LABELS["zh"]  # parcelwatch.labels
COMPLETION_RATE_DEFINITION = "整改完成率 = 已销号的认定违法问题 ÷ 认定违法问题"


# ------------------------------------------------------------------------------------------
# Rounding and display (half-up, at display only)


def half_up(value: float | Decimal, places: int = 2) -> Decimal:
    """``value`` rounded half-up (2.345 -> 2.35, not banker's 2.34) to ``places`` decimals.

    A float (or int) is read through its shortest repr, so 0.125 rounds to 0.13 as a clerk
    expects; a :class:`~decimal.Decimal` (an exact rate such as 1/8) is rounded as it is, so
    ``half_up(Decimal(1) / 8 * 100, 0)`` is 13, not banker's 12.
    """
    d = value if isinstance(value, Decimal) else Decimal(repr(float(value)))
    return d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def mu_value(m2: float | None) -> float | None:
    """An area in m² as 亩 rounded half-up to 2 decimals (the number written to a form cell)."""
    return None if m2 is None else float(half_up(m2_to_mu(float(m2))))


def mu_text(m2: float | None) -> str:
    """An area in m² as 亩 text with 2 decimals; ``''`` when unknown."""
    return "" if m2 is None else f"{half_up(m2_to_mu(float(m2))):.2f}"


def rate_value(rate: float | None) -> float | None:
    """A rate as the fraction shown with 2 decimals of a percent (0.333333 -> 0.3333)."""
    return None if rate is None else float(half_up(rate, 4))


def rate_text(rate: float | None) -> str:
    """A rate as ``33.33%``; ``—`` when it is undefined (no denominator)."""
    return "—" if rate is None else f"{half_up(rate * 100, 2):.2f}%"


# ------------------------------------------------------------------------------------------
# Rows: one per problem, the only inputs of every figure


def _class_key(confirmed_class: str | None, candidate_class: str | None) -> tuple[str, bool]:
    if confirmed_class:
        return confirmed_class, False
    if candidate_class and candidate_class != "none":
        return candidate_class, True
    return "none", False


def class_sort_key(label: str) -> tuple[int, int, str]:
    """Order of class labels: 第一类, 疑似第一类, 第二类, ... 耕地非农化, 非大棚房, 无."""
    candidate = label.startswith(CANDIDATE_PREFIX)
    base = label[len(CANDIDATE_PREFIX) :] if candidate else label
    zh = CLASS_LABELS["zh"]
    for i, code in enumerate(CLASS_ORDER):
        if zh[code] == base:
            return i, int(candidate), label
    return len(CLASS_ORDER), int(candidate), label


def _class_label(code: str, candidate: bool) -> str:
    base = CLASS_LABELS["zh"].get(code, code)
    return CANDIDATE_PREFIX + base if candidate and code != "none" else base


_ROW_COLUMNS = (
    "township",
    "status",
    "class",
    "confirmed",
    "candidate",
    "closed",
    "rectifying",
    "overdue",
    "year",
    "parcel_m2",
    "illegal_m2",
    "remaining_m2",
    "source",
)


def figure_rows(records: Sequence[Any], *, today: date) -> pd.DataFrame:
    """One row per ledger record with the columns every figure is computed from."""
    from parcelwatch.ledger.model import is_overdue

    data: dict[str, list[Any]] = {c: [] for c in _ROW_COLUMNS}
    for r in records:
        status = r.status.value
        confirmed = r.judgement == "违法"
        code, cand = _class_key(r.confirmed_class, r.candidate_class)
        data["township"].append(r.township_name or UNKNOWN_TOWNSHIP)
        data["status"].append(status)
        data["class"].append(_class_label(code, cand))
        data["confirmed"].append(confirmed)
        data["candidate"].append(not r.judgement)
        data["closed"].append(confirmed and status == "已销号")
        data["rectifying"].append(status in RECTIFYING_STATUSES)
        data["overdue"].append(bool(is_overdue(r, today)))
        data["year"].append(int(r.year))
        data["parcel_m2"].append(float(r.parcel_area_m2 or 0.0))
        data["illegal_m2"].append(float(r.illegal_occupied_m2))
        data["remaining_m2"].append(float(r.remaining_unrectified_m2 or 0.0) if confirmed else 0.0)
        data["source"].append(getattr(r, "source", "") or "卫片")
    return pd.DataFrame(data, columns=list(_ROW_COLUMNS))


def figure_rows_from_view(view: pd.DataFrame) -> pd.DataFrame:
    """Figure rows from a battle-map problem view (:func:`parcelwatch.maps.view.problems_view`).

    A view made by hand may lack the ledger columns: without ``judgement`` no problem counts as
    confirmed (the rate is then —), without ``illegal_m2`` the illegal areas are 0.
    """
    n = len(view)

    def col(name: str, default: Any) -> pd.Series:
        return (
            view[name] if name in view else pd.Series([default] * n, index=view.index, dtype=object)
        )

    judgement = col("judgement", None).fillna("").astype(str)
    status = view["status"].astype(str)
    confirmed = judgement == "违法"
    conf_cls = col("confirmed_class", None)
    cand_cls = col("candidate_class", "none")
    keys = [
        _class_key(a if isinstance(a, str) else None, b if isinstance(b, str) else None)
        for a, b in zip(conf_cls, cand_cls, strict=True)
    ]
    if "parcel_area_m2" in view:
        parcel = view["parcel_area_m2"].astype(float).fillna(0.0)
    else:
        parcel = col("parcel_area_mu", 0.0).astype(float).fillna(0.0) * (10000 / 15)
    rows = pd.DataFrame(
        {
            "township": col("township_name", "")
            .fillna("")
            .replace("", UNKNOWN_TOWNSHIP)
            .astype(str),
            "status": status,
            "class": [_class_label(c, k) for c, k in keys],
            "confirmed": confirmed,
            "candidate": judgement == "",
            "closed": confirmed & (status == "已销号"),
            "rectifying": status.isin(RECTIFYING_STATUSES),
            "overdue": col("overdue", False).fillna(False).astype(bool),
            "year": col("year", 0).fillna(0).astype(int),
            "parcel_m2": parcel,
            "illegal_m2": col("illegal_m2", 0.0).astype(float).fillna(0.0),
            "remaining_m2": col("remaining_m2", 0.0)
            .astype(float)
            .fillna(0.0)
            .where(confirmed, 0.0),
            "source": col("source", "卫片").fillna("卫片").replace("", "卫片").astype(str),
        }
    )
    return rows.reset_index(drop=True)


# ------------------------------------------------------------------------------------------
# Figures


@dataclass(frozen=True)
class Figures:
    """The figures of one scope (the county, one township, one status or one class)."""

    name: str
    count: int
    confirmed: int
    closed: int
    rectifying: int
    overdue: int
    parcel_m2: float
    illegal_confirmed_m2: float
    illegal_candidate_m2: float
    remaining_m2: float

    @property
    def completion_rate(self) -> float | None:
        """已销号 ÷ 认定违法 (``None`` when nothing is confirmed)."""
        return self.closed / self.confirmed if self.confirmed else None

    def display(self) -> dict[str, Any]:
        """Counts as ints, areas as 亩 text (2 decimals, half-up), the rate as ``33.33%``."""
        return {
            "name": self.name,
            "count": self.count,
            "confirmed": self.confirmed,
            "closed": self.closed,
            "rectifying": self.rectifying,
            "overdue": self.overdue,
            "rate": rate_text(self.completion_rate),
            "parcel_mu": mu_text(self.parcel_m2),
            "illegal_confirmed_mu": mu_text(self.illegal_confirmed_m2),
            "illegal_candidate_mu": mu_text(self.illegal_candidate_m2),
            "remaining_mu": mu_text(self.remaining_m2),
        }


def figures(rows: pd.DataFrame, name: str = "合计") -> Figures:
    """The figures of all ``rows`` (see :func:`figure_rows`)."""
    conf = rows["confirmed"].astype(bool)
    cand = rows["candidate"].astype(bool)
    return Figures(
        name=name,
        count=int(len(rows)),
        confirmed=int(conf.sum()),
        closed=int(rows["closed"].astype(bool).sum()),
        rectifying=int(rows["rectifying"].astype(bool).sum()),
        overdue=int(rows["overdue"].astype(bool).sum()),
        parcel_m2=float(rows["parcel_m2"].sum()),
        illegal_confirmed_m2=float(rows.loc[conf, "illegal_m2"].sum()),
        illegal_candidate_m2=float(rows.loc[cand, "illegal_m2"].sum()),
        remaining_m2=float(rows.loc[conf, "remaining_m2"].sum()),
    )


def _order(key: str, names: Iterable[str]) -> list[str]:
    names = list(dict.fromkeys(names))
    if key == "status":
        return [s for s in STATUS_ORDER if s in names] + sorted(
            n for n in names if n not in STATUS_ORDER
        )
    if key == "class":
        return sorted(names, key=class_sort_key)
    known = sorted(n for n in names if n != UNKNOWN_TOWNSHIP)
    return known + ([UNKNOWN_TOWNSHIP] if UNKNOWN_TOWNSHIP in names else [])


def figures_by(rows: pd.DataFrame, key: str) -> list[Figures]:
    """Figures per ``key`` (``township``, ``status``, ``class`` or ``source`` 问题来源) in the one
    order of each (sources by name, as ``ledger stats --by source``)."""
    groups = {str(k): g for k, g in rows.groupby(key, sort=False)} if len(rows) else {}
    return [figures(groups[k], k) for k in _order(key, groups)]


def map_figures(rows: pd.DataFrame) -> dict[str, Any]:
    """What the battle map shows, precomputed: the county and each township as a scope, each with
    its headline, by-status and by-class tables, plus the per-township table (display values)."""

    def scope(part: pd.DataFrame, name: str) -> dict[str, Any]:
        return {
            **figures(part, name).display(),
            "by_status": [f.display() for f in figures_by(part, "status")],
            "by_class": [f.display() for f in figures_by(part, "class")],
            "by_source": [f.display() for f in figures_by(part, "source")],
        }

    towns = figures_by(rows, "township")
    out: dict[str, Any] = {
        "county": scope(rows, "合计"),
        "townships": [t.display() for t in towns],
        "scopes": {},
    }
    for t in towns:
        out["scopes"][t.name] = scope(rows[rows["township"] == t.name], t.name)
    out["definition"] = COMPLETION_RATE_DEFINITION
    out["labels"] = FIGURE_LABELS
    return out


def as_table(items: Sequence[Figures], index_name: str) -> pd.DataFrame:
    """Figures as a frame (areas in 亩, unrounded; round with :func:`mu_value` to display)."""
    frame = pd.DataFrame(
        {
            "count": [f.count for f in items],
            "confirmed": [f.confirmed for f in items],
            "closed": [f.closed for f in items],
            "rectifying": [f.rectifying for f in items],
            "overdue": [f.overdue for f in items],
            "parcel_mu": [m2_to_mu(f.parcel_m2) for f in items],
            "illegal_farmland_mu": [m2_to_mu(f.illegal_confirmed_m2) for f in items],
            "candidate_farmland_mu": [m2_to_mu(f.illegal_candidate_m2) for f in items],
            "remaining_mu": [m2_to_mu(f.remaining_m2) for f in items],
        },
        index=pd.Index([f.name for f in items], name=index_name),
    )
    return frame.astype({c: int for c in ("count", "confirmed", "closed", "rectifying", "overdue")})


def figures_of(records: Sequence[Any], *, today: date) -> Mapping[str, Any]:
    """Convenience: county figures and per-township figures of ledger records."""
    rows = figure_rows(records, today=today)
    return {"county": figures(rows), "townships": figures_by(rows, "township")}


def rate(num: int, den: int) -> Decimal | None:
    """``num / den`` as an exact Decimal fraction (``None`` when ``den`` is 0)."""
    return None if den == 0 else Decimal(num) / Decimal(den)


def percent_text(num: int, den: int, places: int = 2) -> str:
    """``num / den`` as a percent string, half-up: (2, 3, 0) -> "67%", (1, 8, 0) -> "13%".

    An empty denominator gives "—" (nothing to rate).
    """
    r = rate(num, den)
    if r is None:
        return "—"
    return f"{half_up(r * 100, places)}%"
