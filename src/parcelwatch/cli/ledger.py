"""``parcelwatch init``, ``parcelwatch check`` and ``parcelwatch ledger ...``: thin shells over
:mod:`parcelwatch.ledger`. Status names are printed in Chinese, as they are stored."""

from __future__ import annotations

import getpass
import math
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click

from parcelwatch.cli.options import out_file
from parcelwatch.cli.table import pad, table_lines
from parcelwatch.errors import LedgerError

LAYER_HELP = "file, or file:LAYER for a multi-layer source"


def _now() -> datetime:
    """The current time in the local time zone (the only place the clock is read)."""
    from parcelwatch.cli.options import now

    return now()


def _user(user: str | None, rules: Any = None) -> str:
    if user:
        return user
    default = (
        getattr(getattr(rules, "ledger", None), "default_user", "") if rules is not None else ""
    )
    if default:
        return str(default)
    try:
        return getpass.getuser()
    except (OSError, KeyError) as exc:
        raise LedgerError(
            "Cannot tell who you are from the operating system. Pass --user NAME (every ledger change records who made it)."
        ) from exc


class _DateType(click.ParamType):
    name = "DATE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        text = str(value).strip().replace("/", "-")
        try:
            return date.fromisoformat(text)
        except ValueError:
            self.fail(f"{value!r} is not a date; write it as 2026-12-31", param, ctx)


DATE = _DateType()


class _FiniteFloat(click.ParamType):
    """A number; inf, nan and 1e999 (which Python reads as inf) are refused."""

    name = "NUMBER"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        try:
            x = float(value)
        except (TypeError, ValueError, OverflowError):
            self.fail(f"{value!r} is not a number; write it like 12.5", param, ctx)
        if not math.isfinite(x):
            self.fail(
                f"{value!r} is not a finite number (inf, nan and 1e999 are refused); write the real value, like 12.5",
                param,
                ctx,
            )
        return x


FINITE = _FiniteFloat()


# the tables (other command modules import these two names from here)
_table = table_lines
_pad = pad


def _echo_lines(lines: Sequence[str]) -> None:
    for line in lines:
        click.echo(line)


def _progress(label: str) -> Any:
    """A progress callback drawing a bar on a terminal, nothing when piped (see cli/options.py)."""
    from parcelwatch.cli.options import reporter

    return reporter(label).progress(min_total=500)


# ------------------------------------------------------------------------------------------
# init / check


@click.command("init")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.option(
    "--county-code",
    default="",
    help="6-digit county code (行政区划代码), used in problem ids, e.g. 370790.",
)
@click.option("--county-name", default="", help="County name shown on forms.")
@click.option(
    "--rules",
    "rules_path",
    type=click.Path(exists=True, dir_okay=False),
    help="A county rules file (TOML) to copy into the workspace.",
)
@click.option(
    "--store",
    "store_url",
    default="",
    help="Keep the ledger on the county's PostgreSQL server instead of ledger.gpkg: "
    "postgresql://HOST/DB or postgresql:///DB?service=NAME (never a password: use ~/.pgpass or a service file).",
)
def init_cmd(
    workspace: str, county_code: str, county_name: str, rules_path: str | None, store_url: str
) -> None:
    """Create a workspace: a ledger QGIS opens (ledger.gpkg) and a rules file (rules.toml)."""
    from parcelwatch.pipeline import init_workspace

    text = Path(rules_path).read_text(encoding="utf-8") if rules_path else None
    with init_workspace(
        workspace,
        rules_text=text,
        county_code=county_code,
        county_name=county_name,
        now=_now(),
        store=store_url,
    ) as ws:
        where = ws.store.location if store_url else ws.ledger_path.name
        click.echo(
            f"Workspace {ws.path}: ledger {where}, rules {ws.rules_path.name} (county {ws.rules.county.code or '-'} {ws.rules.county.name})"
        )
        click.echo(
            f"Next: parcelwatch reference add {ws.path} --farmland FILE --pbf FILE ... --year YEAR (once a year), "
            f"then parcelwatch check {ws.path} --batch NAME --parcels FILE (per batch)"
        )


@click.command("check")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.option(
    "--batch",
    required=True,
    help="Batch name (批次), e.g. 2026年第1批. Checking the same batch again changes nothing.",
)
@click.option(
    "--issued",
    type=DATE,
    help="Date the batch was issued (下发); the verification due date follows the 月清 rule. Default: today.",
)
@click.option("--parcels", required=True, help=f"卫片图斑 change parcels ({LAYER_HELP}).")
@click.option(
    "--farmland",
    help=f"三调 DLTB land-use patches ({LAYER_HELP}); default: the layer registered with `reference add`.",
)
@click.option("--pbf", help=f"永久基本农田 ({LAYER_HELP}); default: the registered one.")
@click.option("--greenhouses", help=f"大棚 footprints ({LAYER_HELP}); default: the registered one.")
@click.option(
    "--buildings",
    help=f"building footprints with 用途/层数 ({LAYER_HELP}); also checked for rebounds on closed problems.",
)
@click.option("--approvals", help=f"approvals and filings ({LAYER_HELP}).")
@click.option("--parks", help=f"agricultural parks ({LAYER_HELP}).")
@click.option("--townships", help=f"township boundaries XZQ ({LAYER_HELP}).")
@click.option("--villages", help=f"village boundaries CJDCQ ({LAYER_HELP}).")
@click.option(
    "--user", help="Who runs the check (default: [ledger] default_user, else the OS user)."
)
def check_cmd(
    workspace: str, batch: str, issued: date | None, user: str | None, **sources: str | None
) -> None:
    """Classify a batch and reconcile it with the ledger (回头看): new / same site / rebound."""
    from parcelwatch.cli.options import reporter
    from parcelwatch.ledger.workspace import open_workspace
    from parcelwatch.pipeline import check_batch

    rep = reporter("回头看")
    with (
        open_workspace(workspace) as ws,
        rep.stages(["读取图层", "叠加分析与分类", "回头看核对", "写入台账"]),
    ):
        summary = check_batch(
            ws,
            sources,
            batch=batch,
            now=_now(),
            user=_user(user, ws.rules),
            issued=issued,
            progress=rep.progress("写入台账", min_total=500),
            on_stage=rep.on_stage,
        )
    _echo_lines(summary.lines())
    if summary.new_ids:
        click.echo(
            f"  新增问题编号：{summary.new_ids[0]} ... {summary.new_ids[-1]}"
            if len(summary.new_ids) > 3
            else "  新增问题编号：" + "、".join(summary.new_ids)
        )


# ------------------------------------------------------------------------------------------
# ledger group


@click.group("ledger")
def ledger() -> None:
    """The ledger (台账): list, show, change, history, overdue, stats and the Excel round-trip."""


def _filters(f: Any) -> Any:
    f = click.option(
        "--status",
        "statuses",
        multiple=True,
        help="Only problems in this status (repeatable), e.g. 未核查.",
    )(f)
    f = click.option(
        "--class",
        "problem_class",
        help="Only this class (confirmed, else candidate): I, II, III, conversion, non_dpf, none.",
    )(f)
    f = click.option("--township", help="Only this township (name or code).")(f)
    f = click.option("--batch", help="Only problems found in this batch.")(f)
    f = click.option(
        "--parcel", help="Only the problem(s) a parcel id (监测编号) was recorded on."
    )(f)
    f = click.option(
        "--overdue", is_flag=True, help="Only problems past their deadline and still open."
    )(f)
    f = click.option("--today", type=DATE, help="Date used for 'overdue' (default: today).")(f)
    return f


def _find(
    ws: Any,
    statuses: Sequence[str],
    problem_class: str | None,
    township: str | None,
    batch: str | None,
    parcel: str | None,
    overdue: bool,
    today: date | None,
) -> list[Any]:
    from parcelwatch.ledger.workspace import find_problems

    return find_problems(
        ws,
        status=list(statuses) or None,
        problem_class=problem_class,
        township=township,
        batch=batch,
        parcel_id=parcel,
        overdue_on=(today or _now().date()) if overdue else None,
    )


def _list_rows(records: Sequence[Any], today: date) -> list[str]:
    from parcelwatch.ledger.model import effective_deadline, is_overdue
    from parcelwatch.units import m2_to_mu

    def due(r: Any) -> str:
        d = effective_deadline(r)
        return d.isoformat() if d else ""

    rows = [
        (
            r.problem_id,
            r.status.value,
            r.display_class,
            r.township_name,
            "、".join(r.parcel_ids),
            "、".join(r.batches),
            m2_to_mu(r.parcel_area_m2 or 0.0),
            due(r),
            "逾期" if is_overdue(r, today) else "",
            r.measure,
            r.responsible_unit,
        )
        for r in records
    ]
    return _table(
        [
            "问题编号",
            "状态",
            "类别",
            "乡镇",
            "监测编号",
            "批次",
            "图斑(亩)",
            "期限",
            "逾期",
            "整改措施",
            "责任单位",
        ],
        rows,
        max_width=30,
    )


@ledger.command("list")
@click.argument("workspace", type=click.Path(file_okay=False))
@_filters
def list_cmd(workspace: str, today: date | None, **filters: Any) -> None:
    """List problems, optionally filtered."""
    from parcelwatch.ledger.workspace import open_workspace

    with open_workspace(workspace) as ws:
        recs = _find(ws, today=today, **filters)
    _echo_lines(_list_rows(recs, today or _now().date()))
    click.echo(f"{len(recs)} problem(s)")


@ledger.command("show")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.argument("problem_id")
def show_cmd(workspace: str, problem_id: str) -> None:
    """Show every field of one problem, its evidence and recent history."""
    from parcelwatch.ledger.model import FIELDS, class_label, effective_deadline, is_overdue
    from parcelwatch.ledger.workspace import open_workspace
    from parcelwatch.units import m2_to_mu

    with open_workspace(workspace) as ws:
        rec = ws.store.get(problem_id)
        events = ws.store.events(problem_id)
    for f in FIELDS:
        v = getattr(rec, f.name)
        if (
            f.name in ("evidence", "candidate_reasons_en")
            or v in (None, "", (), 0)
            and f.name not in ("status", "version")
        ):
            continue
        if f.kind == "list":
            v = "、".join(v)
        elif f.name in ("candidate_class", "confirmed_class"):
            v = class_label(v)
        elif f.kind == "real" and f.name.endswith("_m2"):
            v = f"{m2_to_mu(v):.2f} 亩 ({v:.2f} m2)"
        click.echo(f"{_pad(f.zh.replace('(m²)', ''), 24)} {v}")
    due = effective_deadline(rec)
    click.echo(
        f"{_pad('当前期限', 24)} {due.isoformat() if due else '-'}{'（已逾期）' if is_overdue(rec, _now().date()) else ''}"
    )
    if rec.evidence:
        click.echo("佐证材料:")
        for e in rec.evidence:
            click.echo(
                f"  [{e.kind}] {e.ref}"
                + (f" sha256 {e.sha256[:16]}..." if e.sha256 else "")
                + (f" ({e.batch}) {e.detail}" if e.batch or e.detail else "")
            )
    click.echo(f"历史（共 {len(events)} 条，最近 10 条；全部见 ledger history）:")
    _echo_lines(_history_rows(events[-10:]))


def _history_rows(events: Sequence[Any]) -> list[str]:
    rows = [
        (
            e.seq,
            e.at,
            e.user,
            e.kind,
            (e.from_status.value if e.from_status else "-") + " -> " + e.to_status.value,
            e.measure,
            e.note,
            len(e.evidence) or "",
        )
        for e in events
    ]
    return _table(
        ["#", "时间", "操作人", "类型", "状态", "整改措施", "说明", "佐证"], rows, max_width=50
    )


@ledger.command("history")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.argument("problem_id")
def history_cmd(workspace: str, problem_id: str) -> None:
    """Every change of one problem: who, when, from, to, measure, note, evidence."""
    from parcelwatch.ledger.workspace import open_workspace

    with open_workspace(workspace) as ws:
        ws.store.get(problem_id)
        events = ws.store.events(problem_id)
    _echo_lines(_history_rows(events))
    for e in events:
        for ev in e.evidence:
            click.echo(
                f"  #{e.seq} [{ev.kind}] {ev.ref}"
                + (f" sha256 {ev.sha256}" if ev.sha256 else "")
                + (f" {ev.detail}" if ev.detail else "")
            )


@ledger.command("set")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.argument("problem_ids", nargs=-1)
@click.option(
    "--where-status",
    "w_status",
    multiple=True,
    help="Select problems in this status (repeatable) instead of naming ids.",
)
@click.option(
    "--where-class", "w_class", help="Select problems of this class (confirmed, else candidate)."
)
@click.option("--where-township", "w_township", help="Select problems of this township.")
@click.option("--where-batch", "w_batch", help="Select problems found in this batch.")
@click.option("--status", help="New status, e.g. 整改中 (see `parcelwatch ledger transitions`).")
@click.option(
    "--judgement-type",
    help="核查结论类型 for 合法/其他, e.g. 设施农用地, 临时用地, 伪变化, 批准建设用地.",
)
@click.option(
    "--class",
    "confirmed_class",
    help="认定类别: I, II, III, conversion (耕地非农化) or non_dpf (非大棚房).",
)
@click.option(
    "--measure",
    help="整改措施: 拆除, 复耕, 恢复种植条件, 补办手续, 补办设施农用地备案, 没收, 罚款, 一事一议 ... joined by + (拆除+复耕).",
)
@click.option("--decision-ref", help="决定文号 (一事一议 decision, 备案编号 ...).")
@click.option("--deadline", type=DATE, help="整改期限 (rectification deadline), e.g. 2026-12-31.")
@click.option("--unit", help="责任单位 (responsible unit).")
@click.option("--person", help="责任人 (responsible person).")
@click.option("--remaining-mu", type=FINITE, help="剩余未整改面积 in 亩.")
@click.option(
    "--field",
    "extra",
    multiple=True,
    metavar="NAME=VALUE",
    help="Another editable field, e.g. project_name=..., owner_name=..., investment_wan=12.5, acceptance_result=合格.",
)
@click.option("--note", default="", help="Why (recorded on the event and as the problem's 备注).")
@click.option(
    "--evidence",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="A photo or document to attach (path and sha256 are recorded). Repeatable.",
)
@click.option(
    "--user", help="Who makes the change (default: [ledger] default_user, else the OS user)."
)
@click.option("--dry-run", is_flag=True, help="Show which problems would change, change nothing.")
def set_cmd(
    workspace: str,
    problem_ids: tuple[str, ...],
    w_status: tuple[str, ...],
    w_class: str | None,
    w_township: str | None,
    w_batch: str | None,
    status: str | None,
    judgement_type: str | None,
    confirmed_class: str | None,
    measure: str | None,
    decision_ref: str | None,
    deadline: date | None,
    unit: str | None,
    person: str | None,
    remaining_mu: float | None,
    extra: tuple[str, ...],
    note: str,
    evidence: tuple[str, ...],
    user: str | None,
    dry_run: bool,
) -> None:
    """Change status, measure, deadline, responsible unit/person, note or evidence of problems.

    Name problem ids, or select them with --where-* filters; all selected problems change in one
    transaction, or none (a refused transition names the problem and the allowed statuses).
    """
    from parcelwatch.ledger.model import EDITABLE_FIELDS
    from parcelwatch.ledger.workspace import find_problems, open_workspace, update_problems
    from parcelwatch.units import mu_to_m2

    where = bool(w_status or w_class or w_township or w_batch)
    if not problem_ids and not where:
        raise click.UsageError(
            "Name the problem id(s), or select problems with --where-status/--where-class/--where-township/--where-batch."
        )
    fields: dict[str, Any] = {}
    for key, value in (("judgement_type", judgement_type), ("confirmed_class", confirmed_class), ("measure", measure), ("decision_ref", decision_ref),
                       ("deadline", deadline), ("responsible_unit", unit), ("responsible_person", person)):  # fmt: skip
        if value is not None:
            fields[key] = value
    if remaining_mu is not None:
        fields["remaining_unrectified_m2"] = mu_to_m2(remaining_mu)
    for item in extra:
        name, sep, value = item.partition("=")
        if not sep or name.strip() not in EDITABLE_FIELDS:
            raise click.UsageError(
                f"--field {item!r}: use NAME=VALUE with NAME one of {', '.join(EDITABLE_FIELDS)}."
            )
        fields[name.strip()] = value
    if status is None and not fields and not note and not evidence:
        raise click.UsageError(
            "Nothing to change: give --status, --measure, --deadline, --unit, --person, --note, --evidence or --field."
        )
    with open_workspace(workspace) as ws:
        ids = list(problem_ids)
        if where:
            found = find_problems(
                ws,
                status=list(w_status) or None,
                problem_class=w_class,
                township=w_township,
                batch=w_batch,
            )
            ids += [r.problem_id for r in found]
        if not ids:
            click.echo("No problem matches; nothing changed.")
            return
        if dry_run:
            click.echo(
                f"Would change {len(ids)} problem(s): "
                + "、".join(ids[:20])
                + (" ..." if len(ids) > 20 else "")
            )
            return
        changed = update_problems(
            ws,
            ids,
            user=_user(user, ws.rules),
            now=_now(),
            status=status,
            note=note,
            evidence=evidence,
            progress=_progress("updating"),
            **fields,
        )
        for pid in changed[:20]:
            r = ws.store.get(pid)
            click.echo(f"{pid}: {r.status.value} (version {r.version})")
    unchanged = len(ids) - len(changed)
    click.echo(
        f"{len(changed)} problem(s) changed"
        + (f", {unchanged} already had these values" if unchanged else "")
        + "."
    )


def _field_pairs(pairs: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in pairs:
        name, sep, value = p.partition("=")
        if not sep or not name.strip():
            raise click.UsageError(
                f"--field {p!r}: write it as NAME=VALUE, e.g. --field bounds_text=东至路"
            )
        out[name.strip()] = value
    return out


@ledger.command("add")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.option(
    "--source",
    required=True,
    type=click.Choice(["卫片", "巡查", "巡察", "举报", "两违", "回头看", "上级交办", "其他"]),
    help="问题来源: 巡查 (town patrol), 巡察 (Party inspection), 举报 (complaint), 两违, 回头看, 上级交办, 其他.",
)
@click.option(
    "--source-ref", default="", help="来源编号: the finding / clue / 巡察 item / complaint id."
)
@click.option("--township", required=True, help="乡镇 (name, or 9-digit code).")
@click.option("--village", default="", help="村 (name, or 12-digit code).")
@click.option("--geometry", "geometry_file", help=f"The site as a polygon ({LAYER_HELP}).")
@click.option("--where", help='Select the polygon in --geometry, e.g. "FID=3".')
@click.option("--lon", type=float, help="Longitude of a point problem (degrees, EPSG:4490).")
@click.option("--lat", type=float, help="Latitude of a point problem (degrees, EPSG:4490).")
@click.option("--place", default="", help="位置描述, e.g. 沙窝营村村西小猛超市西.")
@click.option("--bounds", default="", help="四至: 东至…南至…西至…北至….")
@click.option("--found", type=DATE, help="发现日期 (default: today); its year is the id's year.")
@click.option("--construction-year", type=int, help="建设年份, e.g. 2023.")
@click.option("--leader", default="", help="责任领导.")
@click.option("--unit", default="", help="责任单位.")
@click.option("--farmland", help=f"三调 DLTB, for the overlay ({LAYER_HELP}).")
@click.option("--pbf", help=f"永久基本农田, for the overlay ({LAYER_HELP}).")
@click.option("--buildings", help=f"building footprints, for the overlay ({LAYER_HELP}).")
@click.option("--greenhouses", help=f"大棚 footprints, for the overlay ({LAYER_HELP}).")
@click.option("--approvals", help=f"approvals, for the overlay ({LAYER_HELP}).")
@click.option("--parks", help=f"agricultural parks, for the overlay ({LAYER_HELP}).")
@click.option(
    "--field",
    "field_pairs",
    multiple=True,
    help="Any other staff field as NAME=VALUE (repeatable).",
)
@click.option("--note", default="", help="备注 (recorded on the create event).")
@click.option("--user", help="Who adds it (default: [ledger] default_user, else the OS user).")
def add_cmd(
    workspace: str,
    source: str,
    source_ref: str,
    township: str,
    village: str,
    geometry_file: str | None,
    where: str | None,
    lon: float | None,
    lat: float | None,
    place: str,
    bounds: str,
    found: date | None,
    construction_year: int | None,
    leader: str,
    unit: str,
    field_pairs: Sequence[str],
    note: str,
    user: str | None,
    **reference: str | None,
) -> None:
    """Add a problem found outside a 卫片 batch (巡查, 巡察, 举报 ...): status 未核查, one create event."""
    from parcelwatch.ledger.add import NewProblem, add_problem, read_polygon
    from parcelwatch.ledger.workspace import open_workspace

    fields_: dict[str, Any] = {
        k: v
        for k, v in (
            ("source_ref", source_ref),
            ("place_text", place),
            ("bounds_text", bounds),
            ("construction_year", construction_year),
            ("responsible_leader", leader),
            ("responsible_unit", unit),
        )
        if v not in (None, "")
    }
    fields_.update(_field_pairs(field_pairs))
    geom = read_polygon(geometry_file, where=where) if geometry_file else None
    with open_workspace(workspace) as ws:
        specs = {role: spec for role, spec in reference.items() if spec}
        layers = None
        if geom is not None and specs:  # the overlay of `check` needs the reference layers
            from parcelwatch.pipeline import load_inputs

            layers = load_inputs(specs, rules=ws.rules).layers
        pid = add_problem(
            ws.store,
            NewProblem(source, township, village, geom, lon, lat, found, fields_, note),
            user=_user(user, ws.rules),
            now=_now(),
            rules=ws.rules,
            reference=layers,
        )
        rec = ws.store.get(pid)
        from parcelwatch.reports.org import registry_notices

        notices = registry_notices(
            ws.store, unit=unit, leader=leader, township=township, village=village
        )
    click.echo(f"{pid}: {rec.status.value} (来源 {rec.source})")
    for n in notices:
        click.echo(f"注意：{n}", err=True)


@ledger.command("overdue")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.option("--today", type=DATE, help="Date to judge against (default: today).")
def overdue_cmd(workspace: str, today: date | None) -> None:
    """Open problems past their deadline (整改期限, else the 月清 verification due date)."""
    from parcelwatch.ledger.model import Status
    from parcelwatch.ledger.workspace import find_problems, open_workspace

    day = today or _now().date()
    with open_workspace(workspace) as ws:
        recs = find_problems(ws, overdue_on=day)
        no_deadline = [
            r
            for r in find_problems(ws, status=[Status.ILLEGAL, Status.RECTIFYING])
            if r.deadline is None
        ]
    _echo_lines(_list_rows(recs, day))
    click.echo(f"{len(recs)} problem(s) overdue on {day.isoformat()}")
    if no_deadline:
        click.echo(
            f"{len(no_deadline)} confirmed-illegal problem(s) have no 整改期限 yet: "
            + "、".join(r.problem_id for r in no_deadline[:10])
            + (" ..." if len(no_deadline) > 10 else "")
        )


@ledger.command("stats")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.option("--year", type=int, help="Year of the 违法占用耕地面积比例 (default: this year).")
@click.option("--today", type=DATE, help="Date used for 'overdue' (default: today).")
@click.option(
    "--as-of",
    "as_of",
    type=DATE,
    help="Statistics as the ledger stood at the end of this day (replays the events up to it).",
)
@click.option(
    "--by",
    "by",
    type=click.Choice(["township", "village", "unit", "leader", "source"]),
    help="Add a table grouped by this key (乡镇, 村, 责任单位, 责任领导, 问题来源).",
)
def stats_cmd(
    workspace: str, year: int | None, today: date | None, as_of: date | None, by: str | None
) -> None:
    """Counts and areas (亩) by status, class and township; 整改完成率; 违法占用耕地面积比例."""
    from parcelwatch.ledger.stats import GROUP_KEYS, group_table, ledger_stats, records_as_of
    from parcelwatch.ledger.workspace import open_workspace

    day = as_of or today or _now().date()
    with open_workspace(workspace) as ws:
        if as_of is not None:
            recs = records_as_of(ws.store.events(), as_of)
        else:
            recs = ws.store.records(geometry=False)
        st = ledger_stats(recs, rules=ws.rules, today=day, year=year)
    extra = []
    if by is not None:
        extra.append((f"按{GROUP_KEYS[by][0]}", group_table(recs, by, today=day)))
    if as_of is not None:
        click.echo(f"截至 {as_of.isoformat()}（按事件回放）")
    _echo_lines(stats_lines(st, extra))


def stats_lines(st: Any, extra: Sequence[tuple[str, Any]] = ()) -> list[str]:
    """The text of ``ledger stats``: every figure from :mod:`parcelwatch.ledger.figures`, counts as
    integers, areas in 亩 rounded half-up to 2 decimals. ``extra`` adds (title, table) pairs from
    :func:`parcelwatch.ledger.stats.group_table` (``--by``), each with its 整改完成率 column."""
    from parcelwatch.ledger.figures import FIGURE_LABELS, half_up, rate_text

    heads = [
        "数量",
        FIGURE_LABELS["confirmed"],
        FIGURE_LABELS["closed"],
        FIGURE_LABELS["rectifying"],
        "逾期",
        "图斑(亩)",
        "违法占用耕地-已认定(亩)",
        "疑似违法占用耕地-未认定(亩)",
        "剩余未整改-已认定(亩)",
    ]
    cols = [
        "count",
        "confirmed",
        "closed",
        "rectifying",
        "overdue",
        "parcel_mu",
        "illegal_farmland_mu",
        "candidate_farmland_mu",
        "remaining_mu",
    ]
    lines: list[str] = []
    tables = [("按状态", st.by_status), ("按类别", st.by_class), ("按乡镇", st.by_township), *extra]
    for title, table in tables:
        lines.append(f"{title}:")
        rate_col = ["整改完成率"] if "rate" in table.columns else []
        rows = [
            (
                name,
                *(
                    int(table.at[name, c])
                    if not c.endswith("_mu")
                    else f"{half_up(table.at[name, c]):.2f}"
                    for c in cols
                ),
                *([table.at[name, "rate"]] if rate_col else []),
            )
            for name in table.index
        ]
        lines += ["  " + line for line in _table([str(table.index.name), *heads, *rate_col], rows)]
    rate = (
        "—（无认定违法问题）"
        if st.completion_rate is None
        else f"{rate_text(st.completion_rate)}（{st.closed_confirmed}/{st.confirmed}）"
    )
    lines.append(
        f"问题总数 {st.total}，逾期 {st.overdue}；整改完成率 {rate}（已销号的认定违法问题 ÷ 认定违法问题）"
    )
    lines.append(st.ratio_text())
    return lines


@ledger.command("transitions")
def transitions_cmd() -> None:
    """Print the status transition table (which status may follow which, and what it needs)."""
    from parcelwatch.labels import TRANSITION_MEANING_ZH
    from parcelwatch.ledger.model import FIELD_BY_NAME, TRANSITIONS

    rows = [
        (
            t.source.value,
            t.target.value,
            "、".join(
                FIELD_BY_NAME[n].zh if n in FIELD_BY_NAME else "说明(--note)" for n in t.needs
            ),
            TRANSITION_MEANING_ZH.get(t.meaning, t.meaning),
        )
        for t in TRANSITIONS
    ]
    _echo_lines(_table(["原状态", "新状态", "需要", "含义"], rows, max_width=60))


@ledger.command("export-xlsx")
@click.argument("workspace", type=click.Path(file_okay=False))
@out_file("Excel file to write (.xlsx).")
@_filters
def export_cmd(workspace: str, out_path: str, today: date | None, **filters: Any) -> None:
    """Write the ledger to Excel for staff to edit (Chinese headers, dropdowns, a version per row)."""
    from parcelwatch.ledger.workspace import open_workspace
    from parcelwatch.ledger.xlsx import export_xlsx

    day = today or _now().date()
    with open_workspace(workspace) as ws:
        recs = _find(ws, today=day, **filters) if any(filters.values()) else None
        path = export_xlsx(ws.store, out_path, today=day, records=recs)
        n = len(recs) if recs is not None else len(ws.store.records(geometry=False))
    click.echo(
        f"Written: {path} ({n} problem(s)). Edit the yellow columns, then `parcelwatch ledger import-xlsx {workspace} {path}`."
    )


@ledger.command("import-xlsx")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.argument("xlsx_file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--partial",
    is_flag=True,
    help="Apply the valid rows even if other rows have problems (default: all or nothing).",
)
@click.option("--dry-run", is_flag=True, help="Check every row and report, change nothing.")
@click.option(
    "--user", help="Who makes the changes (default: [ledger] default_user, else the OS user)."
)
def import_cmd(
    workspace: str, xlsx_file: str, partial: bool, dry_run: bool, user: str | None
) -> None:
    """Apply a returned Excel ledger: every row is checked; all valid rows are applied, or none."""
    from parcelwatch.ledger.workspace import open_workspace
    from parcelwatch.ledger.xlsx import import_xlsx

    with open_workspace(workspace) as ws:
        report = import_xlsx(
            ws.store,
            xlsx_file,
            user=_user(user, ws.rules),
            now=_now(),
            partial=partial,
            dry_run=dry_run,
            progress=_progress("importing"),
        )
    _echo_lines(report.lines())
    if report.issues:
        written = (
            f"{len(report.applied)} problem(s) were written"
            if report.applied
            else "nothing was written"
        )
        raise LedgerError(
            f"{report.bad_rows} row(s) of {xlsx_file} have problems (listed above); {written}. Fix those cells and import again."
        )
