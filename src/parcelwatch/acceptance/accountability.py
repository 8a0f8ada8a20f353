"""追责问责 (SEED-SYSTEMS §C): sanctions and cases, the 17-column county statistics form.

Counts are sanctions (人次) of public officials by (category, type); cases and persons involved;
money per township from the ledger's 大棚房 problems: the §0.P1 funds fields ``funds_suspected_wan``,
``funds_recovered_wan`` and ``funds_in_recovery_wan`` (``acc_funds`` keeps 专户管理, and is read for
涉嫌骗取 / 正在追回 only where an older workspace stored them there and the ledger has none) - all
万元 in the store, × 10000 to 元 on the form, :class:`~decimal.Decimal` throughout.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from parcelwatch.acceptance.records import RecordBook
from parcelwatch.acceptance.scheme import half_up
from parcelwatch.errors import InputError, LedgerError
from parcelwatch.exports.forms import dpf_records
from parcelwatch.exports.forms import form_workbook as _workbook
from parcelwatch.io.clues import cell_date, cell_text
from parcelwatch.ledger.model import Change, ProblemRecord

__all__ = [
    "LEAVES",
    "CASE_KINDS",
    "AccRow",
    "add_sanction",
    "add_case",
    "set_funds",
    "statistics",
    "stats_lines",
    "write_accountability_form",
    "read_accountability_xlsx",
    "import_accountability",
]

PARTY = ("警告", "严重警告", "撤销党内职务", "留党察看", "开除党籍")
GOV = ("诫勉谈话", "警告", "记过", "记大过", "降级", "撤职", "开除")
#: the 12 sanction columns A-L as (category, type)
LEAVES = tuple([("党纪处分", t) for t in PARTY] + [("政务处分", t) for t in GOV])
CASE_KINDS = ("纪律审查", "行政立案", "刑事立案")
WAN = Decimal(10000)
SIGNATURE = ("自验组负责同志签字：", "自验组成员签字：", "填表日期：　　年　　月　　日")


def _check_sanction(category: str, type_: str) -> None:
    if not category:
        if type_ == "警告":
            raise LedgerError("警告 属于党纪处分还是政务处分？用 --category")
        category = "党纪处分" if type_ in PARTY else "政务处分" if type_ in GOV else ""
    if (category, type_) not in LEAVES:
        allowed = "；".join(
            f"{c}: {'、'.join(t for cc, t in LEAVES if cc == c)}" for c in ("党纪处分", "政务处分")
        )
        raise LedgerError(f"处分 {category or '?'} {type_!r} 不在统计表中。可用：{allowed}。")


def add_sanction(
    book: RecordBook,
    *,
    person: str,
    category: str,
    type: str,
    decided_on: date,
    township: str,
    public_official: bool,
    user: str,
    now: datetime,
    unit: str = "",
    position: str = "",
    decision_ref: str = "",
    reason: str = "",
    campaign: str = "大棚房",
    links: Sequence[str] = (),
) -> str:
    """Record a sanction; id ``ZZ-{year}-{seq:04d}``. A bare 警告 needs its category."""
    _check_sanction(category, type)
    if not category:
        category = "党纪处分" if type in PARTY else "政务处分"
    if not person.strip() or not township.strip():
        raise LedgerError("A sanction needs --person and --township (the row of the form).")
    row = dict(
        person_name=person, unit=unit, position=position, township=township,
        public_official=public_official, category=category, type=type, decided_on=decided_on,
        decision_ref=decision_ref, reason=reason, campaign=campaign, links=list(links),
    )  # fmt: skip
    return book.insert_many(
        "acc_sanctions", [row], user=user, now=now, prefix=f"ZZ-{decided_on.year}-", width=4
    )[0]


def add_case(
    book: RecordBook,
    *,
    case_no: str,
    filed_on: date,
    persons: int,
    kind: str,
    township: str,
    user: str,
    now: datetime,
    campaign: str = "大棚房",
    links: Sequence[str] = (),
) -> str:
    if kind not in CASE_KINDS:
        raise LedgerError(f"立案类别 {kind!r}: use one of {'、'.join(CASE_KINDS)}.")
    if persons < 0:
        raise LedgerError(f"涉案人数 {persons}: must be 0 or more.")
    row = dict(
        filed_on=filed_on, kind=kind, persons_involved=persons, township=township,
        campaign=campaign, links=list(links),
    )  # fmt: skip
    return book.insert_many("acc_cases", [row], user=user, now=now, ids=[case_no])[0]


def set_funds(
    book: RecordBook,
    record: ProblemRecord,
    *,
    suspected_wan: Decimal | None,
    in_recovery_wan: Decimal | None,
    user: str,
    now: datetime,
    special_account: str = "",
) -> None:
    """Record a problem's 涉嫌骗取 / 正在追回 (万元) in the ledger's funds fields (one ledger event,
    as ``ledger set --field``) and its 专户管理 in ``acc_funds``; refused when 已追回 + 正在追回 >
    涉嫌骗取 (nothing changed). Values not given keep the ledger's."""
    recovered = Decimal(str(record.funds_recovered_wan or 0))
    if suspected_wan is None and record.funds_suspected_wan is not None:
        suspected_wan = Decimal(str(record.funds_suspected_wan))
    if in_recovery_wan is None and record.funds_in_recovery_wan is not None:
        in_recovery_wan = Decimal(str(record.funds_in_recovery_wan))
    for name, v in (
        ("funds_suspected_wan", suspected_wan),
        ("funds_in_recovery_wan", in_recovery_wan),
    ):
        if v is not None and v < 0:
            raise LedgerError(f"{record.problem_id} {name} = {v}: must be 0 or more.")
    if suspected_wan is not None and recovered + (in_recovery_wan or 0) > suspected_wan:
        raise LedgerError(
            f"{record.problem_id}: 已追回 {recovered} + 正在追回 {in_recovery_wan or 0} = "
            f"{recovered + (in_recovery_wan or 0)} 万元 > 涉嫌骗取 {suspected_wan} 万元; nothing was changed."
        )
    if special_account not in ("", "是", "否"):
        raise LedgerError(
            f"{record.problem_id} special_account = {special_account!r}: write 是 or 否."
        )
    fields = {
        name: float(v)
        for name, v in (
            ("funds_suspected_wan", suspected_wan),
            ("funds_in_recovery_wan", in_recovery_wan),
        )
        if v is not None
    }
    if fields:
        book.store.apply(
            [Change(record.problem_id, fields=fields)],
            user=user,
            now=now,
        )
    if special_account:
        book.upsert(
            "acc_funds", record.problem_id, {"special_account": special_account}, user=user, now=now
        )


def funds_wan(
    record: ProblemRecord, funds: Mapping[str, Mapping[str, Any]]
) -> tuple[Decimal, Decimal, Decimal]:
    """(涉嫌骗取, 已追回, 正在追回) of a problem in 万元: the ledger's fields; an older workspace's
    ``acc_funds`` value where the ledger has none."""
    f = funds.get(record.problem_id, {})
    sus = record.funds_suspected_wan
    inr = record.funds_in_recovery_wan
    return (
        _dec(sus if sus is not None else f.get("funds_suspected_wan")),
        _dec(record.funds_recovered_wan),
        _dec(inr if inr is not None else f.get("funds_in_recovery_wan")),
    )


@dataclass
class AccRow:
    township: str
    counts: list[int] = field(default_factory=lambda: [0] * len(LEAVES))
    cases: int = 0
    persons: int = 0
    suspected_yuan: Decimal = Decimal(0)
    recovered_yuan: Decimal = Decimal(0)
    in_recovery_yuan: Decimal = Decimal(0)

    def values(self) -> list[Any]:
        return [
            *self.counts,
            self.cases,
            self.persons,
            half_up(self.suspected_yuan),
            half_up(self.recovered_yuan),
            half_up(self.in_recovery_yuan),
        ]


@dataclass
class AccStats:
    rows: list[AccRow]
    total: AccRow
    not_public: int  # sanctions of non-public officials, not counted


def _in(d: str | None, start: date | None, end: date | None) -> bool:
    if not d:
        return start is None and end is None
    x = date.fromisoformat(d[:10])
    return (start is None or x >= start) and (end is None or x <= end)


def _dec(v: Any) -> Decimal:
    return Decimal(str(v)) if v not in (None, "") else Decimal(0)


def statistics(
    sanctions: Sequence[Mapping[str, Any]],
    cases: Sequence[Mapping[str, Any]],
    problems: Sequence[ProblemRecord],
    funds: Mapping[str, Mapping[str, Any]],
    *,
    campaign: str = "大棚房",
    start: date | None = None,
    end: date | None = None,
    by: str = "township",
) -> AccStats:
    """The form's rows (one per township, or one county row with ``by='county'``) and 合计."""
    rows: dict[str, AccRow] = {}

    def row(town: str) -> AccRow:
        key = "全县" if by == "county" else (town or "（未填乡镇）")
        return rows.setdefault(key, AccRow(key))

    not_public = 0
    for s in sanctions:
        if (s.get("campaign") or "大棚房") != campaign or not _in(s.get("decided_on"), start, end):
            continue
        if s.get("public_official") != "是":
            not_public += 1
            continue
        row(s.get("township") or "").counts[LEAVES.index((s["category"], s["type"]))] += 1
    for c in cases:
        if (c.get("campaign") or "大棚房") != campaign or not _in(c.get("filed_on"), start, end):
            continue
        r = row(c.get("township") or "")
        r.cases += 1
        r.persons += int(c.get("persons_involved") or 0)
    if campaign == "大棚房":
        for p in dpf_records(problems):
            sus, rec, inr = funds_wan(p, funds)
            if sus or rec or inr:
                r = row(p.township_name)
                r.suspected_yuan += sus * WAN
                r.recovered_yuan += rec * WAN
                r.in_recovery_yuan += inr * WAN
    ordered = [rows[k] for k in sorted(rows)]
    total = AccRow("合计")
    for r in ordered:
        total.counts = [a + b for a, b in zip(total.counts, r.counts, strict=True)]
        total.cases += r.cases
        total.persons += r.persons
        total.suspected_yuan += r.suspected_yuan
        total.recovered_yuan += r.recovered_yuan
        total.in_recovery_yuan += r.in_recovery_yuan
    return AccStats(ordered, total, not_public)


def stats_lines(st: AccStats) -> list[str]:
    """The 17 totals as "名称 数量" lines, money in 元, then the non-public-official footer."""
    t = st.total
    out = [f"{c}{ty} {n}" for (c, ty), n in zip(LEAVES, t.counts, strict=True)]
    out += [f"案件数 {t.cases}", f"涉案人数 {t.persons}"]
    out += [
        f"涉嫌骗取资金总数 {half_up(t.suspected_yuan)} 元",
        f"已追回 {half_up(t.recovered_yuan)} 元",
        f"正在追回 {half_up(t.in_recovery_yuan)} 元",
    ]
    if st.not_public:
        out.append(f"非公职人员 {st.not_public} 人次未计入")
    return out


def write_accountability_form(st: AccStats, path: str | Path, *, county_name: str = "") -> None:
    """Sheet 追责问责统计表: title, info line, header rows 2-5 (four levels), data, 合计, signatures."""
    last = 17  # column 0 乡镇(街道) + 17 leaves
    with _workbook(Path(path)) as (wb, fm):
        ws = wb.add_worksheet("追责问责统计表")
        ws.merge_range(0, 0, 0, last, "“大棚房”问题追责问责县级统计表", fm.title)
        ws.set_row(0, 30)
        ws.merge_range(
            1,
            0,
            1,
            last,
            f"县（市、区）：{county_name}　　（人民政府公章）　　单位：人、元",
            fm.info,
        )
        h = fm.head
        ws.merge_range(2, 0, 5, 0, "乡镇(街道)", h)
        ws.merge_range(2, 1, 2, 14, "追责问责情况", h)
        ws.merge_range(2, 15, 2, 17, "涉农资金追回情况", h)
        ws.merge_range(3, 1, 3, 12, "公职人员", h)
        ws.merge_range(3, 13, 4, 14, "立案查处情况", h)
        ws.merge_range(4, 1, 4, 5, "党纪处分", h)
        ws.merge_range(4, 6, 4, 12, "政务处分", h)
        for n, (_, t) in enumerate(LEAVES):
            ws.write_string(5, 1 + n, t, h)
        ws.write_string(5, 13, "案件数", h)
        ws.write_string(5, 14, "涉案人数", h)
        for c, name in ((15, "涉嫌骗取资金总数"), (16, "已追回"), (17, "正在追回")):
            ws.merge_range(3, c, 5, c, name, h)
        ws.set_column(0, 0, 12)
        ws.set_column(1, 14, 7)
        ws.set_column(15, 17, 14)
        r = 6
        for row in [*st.rows, st.total]:
            total = row is st.total
            ws.write_string(r, 0, row.township, fm.total_text if total else fm.text)
            for c, v in enumerate(row.values(), start=1):
                if isinstance(v, Decimal):
                    ws.write_number(r, c, float(v), fm.total_num2 if total else fm.num2)
                else:
                    ws.write_number(r, c, v, fm.total_int if total else fm.int)
            r += 1
        ws.set_landscape()
        ws.set_paper(9)
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(2, 5)
        ws.freeze_panes(6, 1)
        r += 1
        ws.merge_range(r, 0, r, 6, SIGNATURE[0], fm.info)
        ws.merge_range(r, 7, r, 12, SIGNATURE[1], fm.info)
        ws.merge_range(r, 13, r, 17, SIGNATURE[2], fm.info)


# ------------------------------------------------------------------------------------------
# Excel import (sheets 处分 and 立案; all or nothing)

#: sheet -> (header, field, required); a header may also be written as its field name
SANCTION_SHEET = "处分"
CASE_SHEET = "立案"
SANCTION_COLUMNS = (
    ("姓名", "person_name", True), ("单位", "unit", False), ("职务", "position", False),
    ("乡镇", "township", True), ("公职人员", "public_official", True), ("处分类别", "category", False),
    ("处分种类", "type", True), ("决定日期", "decided_on", True), ("文号", "decision_ref", False),
    ("事由", "reason", False), ("专项", "campaign", False), ("关联编号", "links", False),
)  # fmt: skip
CASE_COLUMNS = (
    ("案号", "case_no", True), ("立案日期", "filed_on", True), ("立案类别", "kind", True),
    ("涉案人数", "persons_involved", True), ("乡镇", "township", True), ("专项", "campaign", False),
    ("关联编号", "links", False),
)  # fmt: skip
_PROBLEM_ID = re.compile(r"^\d{6}-\d{4}-\d{6}$")


@dataclass(frozen=True)
class AccImport:
    sanction_ids: list[str]
    case_ids: list[str]


def _sheet_rows(
    path: Path, wb: Any, sheet: str, columns: Sequence[tuple[str, str, bool]], errors: list[str]
) -> list[tuple[int, dict[str, Any], dict[str, str]]]:
    """(Excel row number, field -> raw value, field -> column letter) of the non-empty rows."""
    from openpyxl.utils import get_column_letter

    if sheet not in wb.sheetnames:
        return []
    rows = list(wb[sheet].iter_rows(values_only=True))
    if not rows:
        return []
    head = [cell_text(c) for c in rows[0]]
    where: dict[str, int] = {}
    for zh, name, required in columns:
        idx = next((i for i, h in enumerate(head) if h in (zh, name)), None)
        if idx is not None:
            where[name] = idx
        elif required:
            errors.append(
                f"{path} sheet {sheet} row 1: no column {zh}; add it (columns: {'、'.join(c[0] for c in columns)})."
            )
    if any(name not in where for _, name, req in columns if req):
        return []
    out = []
    for n, r in enumerate(rows[1:], start=2):
        values = {name: (r[i] if i < len(r) else None) for name, i in where.items()}
        if all(cell_text(v) == "" for v in values.values()):
            continue
        out.append((n, values, {name: get_column_letter(i + 1) for name, i in where.items()}))
    return out


def _links(v: Any) -> list[str]:
    return [x for x in re.split(r"[,，、;；\s]+", cell_text(v)) if x]


def read_accountability_xlsx(
    path: str | Path, *, known_cases: Iterable[str] = (), problem_ids: Iterable[str] | None = None
) -> tuple[list[dict[str, Any]], list[tuple[str, dict[str, Any]]]]:
    """Sanction rows and (case_no, row) pairs of a 追责问责 workbook (sheets 处分 and 立案).

    Every cell is checked before anything is written; all problems are reported at once, each
    with its file, sheet, row, column and the fix (:class:`InputError`). ``problem_ids``: the
    ledger's ids, against which linked problem ids (``370790-2026-000001``) are checked."""
    import openpyxl

    path = Path(path)
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"{path}: cannot read this Excel file ({exc}).") from exc
    errors: list[str] = []
    try:
        if SANCTION_SHEET not in wb.sheetnames and CASE_SHEET not in wb.sheetnames:
            raise InputError(
                f"{path}: no sheet {SANCTION_SHEET} or {CASE_SHEET} (it has {'、'.join(wb.sheetnames)}); "
                "name the sanctions sheet 处分 and the cases sheet 立案."
            )
        s_rows = _sheet_rows(path, wb, SANCTION_SHEET, SANCTION_COLUMNS, errors)
        c_rows = _sheet_rows(path, wb, CASE_SHEET, CASE_COLUMNS, errors)
    finally:
        wb.close()
    known_problems = set(problem_ids) if problem_ids is not None else None
    zh = {name: z for cols in (SANCTION_COLUMNS, CASE_COLUMNS) for z, name, _ in cols}

    def bad(sheet: str, n: int, letters: Mapping[str, str], name: str, msg: str) -> None:
        errors.append(f"{path} sheet {sheet} row {n} column {zh[name]} ({letters[name]}): {msg}.")

    def check_links(sheet: str, n: int, letters: Mapping[str, str], v: Any) -> list[str]:
        links = _links(v)
        if known_problems is not None:
            for x in links:
                if _PROBLEM_ID.match(x) and x not in known_problems:
                    bad(
                        sheet,
                        n,
                        letters,
                        "links",
                        f"problem {x} is not in the ledger; check the id",
                    )
        return links

    sanctions: list[dict[str, Any]] = []
    for n, v, letters in s_rows:
        row: dict[str, Any] = {k: cell_text(v.get(k)) for k in ("person_name", "unit", "position", "township",
                                                                "decision_ref", "reason")}  # fmt: skip
        for name in ("person_name", "township"):
            if not row[name]:
                bad(SANCTION_SHEET, n, letters, name, "empty; fill it in")
        po = cell_text(v.get("public_official"))
        if po not in ("是", "否"):
            bad(SANCTION_SHEET, n, letters, "public_official", f"{po!r}: write 是 or 否")
        row["public_official"] = po == "是"
        category, type_ = cell_text(v.get("category")), cell_text(v.get("type"))
        try:
            _check_sanction(category, type_)
        except LedgerError as exc:
            bad(
                SANCTION_SHEET,
                n,
                letters,
                "category" if type_ == "警告" and "category" in letters else "type",
                str(exc)
                .rstrip("。.")
                .replace("用 --category", "填写处分类别 (党纪处分 或 政务处分)"),
            )
        row["category"] = category or ("党纪处分" if type_ in PARTY else "政务处分")
        row["type"] = type_
        try:
            row["decided_on"] = cell_date(v.get("decided_on"))
        except ValueError as exc:
            bad(SANCTION_SHEET, n, letters, "decided_on", str(exc))
        row["campaign"] = cell_text(v.get("campaign")) or "大棚房"
        row["links"] = check_links(SANCTION_SHEET, n, letters, v.get("links"))
        sanctions.append(row)
    cases: list[tuple[str, dict[str, Any]]] = []
    seen = set(known_cases)
    for n, v, letters in c_rows:
        case_no = cell_text(v.get("case_no"))
        if not case_no:
            bad(CASE_SHEET, n, letters, "case_no", "empty; fill it in")
        elif case_no in seen:
            bad(
                CASE_SHEET,
                n,
                letters,
                "case_no",
                f"{case_no} is already recorded (or twice in the file); remove the duplicate row",
            )
        seen.add(case_no)
        crow: dict[str, Any] = {
            "township": cell_text(v.get("township")),
            "kind": cell_text(v.get("kind")),
        }
        if not crow["township"]:
            bad(CASE_SHEET, n, letters, "township", "empty; fill it in")
        if crow["kind"] not in CASE_KINDS:
            bad(
                CASE_SHEET,
                n,
                letters,
                "kind",
                f"{crow['kind']!r}: use one of {'、'.join(CASE_KINDS)}",
            )
        try:
            crow["filed_on"] = cell_date(v.get("filed_on"))
        except ValueError as exc:
            bad(CASE_SHEET, n, letters, "filed_on", str(exc))
        persons = cell_text(v.get("persons_involved"))
        if not persons.isdigit():
            bad(
                CASE_SHEET,
                n,
                letters,
                "persons_involved",
                f"{persons!r}: write a whole number 0 or more",
            )
        crow["persons_involved"] = int(persons) if persons.isdigit() else 0
        crow["campaign"] = cell_text(v.get("campaign")) or "大棚房"
        crow["links"] = check_links(CASE_SHEET, n, letters, v.get("links"))
        cases.append((case_no, crow))
    if errors:
        more = f"\n... and {len(errors) - 20} more" if len(errors) > 20 else ""
        raise InputError(
            f"{path}: {len(errors)} problem(s); nothing was imported. Fix them and import again:\n  "
            + "\n  ".join(errors[:20])
            + more
        )
    return sanctions, cases


def import_accountability(
    book: RecordBook, path: str | Path, *, user: str, now: datetime
) -> AccImport:
    """Import the sanctions (sheet 处分) and cases (sheet 立案) of a workbook in one transaction:
    every row, or none (any bad cell refuses the whole file, naming row, column and fix)."""
    ids = {r.problem_id for r in book.store.records(geometry=False)}
    known = {c["case_no"] for c in book.all("acc_cases")}
    sanctions, cases = read_accountability_xlsx(path, known_cases=known, problem_ids=ids)
    s_ids, c_ids = book.insert_sets(
        [
            ("acc_sanctions", sanctions, {"prefix": [f"ZZ-{r['decided_on'].year}-" for r in sanctions], "width": 4}),
            ("acc_cases", [r for _, r in cases], {"ids": [c for c, _ in cases]}),
        ],
        user=user,
        now=now,
    )  # fmt: skip
    return AccImport(s_ids, c_ids)
