"""``parcelwatch violations ...``: the 两违 case ledger, targets, blacklist, comparison and reports
(seed 003, SEED-SYSTEMS §A). Settings come from ``WS/violations.toml`` ([violations]; optional)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
import tomllib

from parcelwatch.cli.ledger import DATE, _now, _table, _user
from parcelwatch.cli.patrol import DATETIME
from parcelwatch.errors import ConfigError

SETTINGS_FILE = "violations.toml"


@contextmanager
def _opened(ws: str) -> Iterator[tuple[Any, Any, Any]]:
    from parcelwatch.ledger.workspace import open_workspace
    from parcelwatch.patrol.records import RecordBook
    from parcelwatch.violations import records as _records  # noqa: F401  (registers the tables)
    from parcelwatch.violations.cases import ViolationSettings, settings_from_mapping

    w = open_workspace(ws)
    try:
        path = w.path / SETTINGS_FILE
        settings = ViolationSettings()
        if path.is_file():
            try:
                data = tomllib.loads(path.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(f"{path} is not valid TOML: {exc}.") from exc
            settings = settings_from_mapping(
                data.get("violations", {}), where=f"{path} [violations]"
            )
        yield w, settings, RecordBook(w.store)  # type: ignore[arg-type]  # every LedgerStore is a SqlStore
    finally:
        w.close()


def _county(w: Any) -> str:
    return w.store.meta().get("county_code") or w.rules.county.code or "000000"


@click.group("violations")
def violations() -> None:
    """两违 governance: cases, targets, blacklist, aerial/satellite comparison, reports."""


@violations.command("target")
@click.argument("ws", type=click.Path(file_okay=False))
@click.option("--year", type=int, required=True)
@click.option(
    "--m2",
    "target_m2",
    type=float,
    required=True,
    help="Target area in m² (seed 003: 320000 a year).",
)
@click.option("--scope", default="county", show_default=True, help="county, or a township name.")
@click.option("--user", default=None)
def target_cmd(ws: str, year: int, target_m2: float, scope: str, user: str | None) -> None:
    """Set the annual 治理 target."""
    from parcelwatch.violations import records as R

    with _opened(ws) as (w, _s, book):
        tid = R.set_target(
            book, year=year, target_m2=target_m2, scope=scope, user=_user(user, w.rules), now=_now()
        )
    click.echo(f"{tid}: {year} {scope} {target_m2:.2f} ㎡")


@violations.command("add")
@click.argument("ws", type=click.Path(file_okay=False))
@click.option("--found", type=DATETIME, required=True)
@click.option(
    "--found-by",
    required=True,
    help="村网格巡查, 镇巡查, 卫片, 航拍, 举报, 物业, 数字城管, 上级交办, 其他.",
)
@click.option("--township", default="")
@click.option("--village", default="")
@click.option("--household", default="", help="户主 / 当事人.")
@click.option("--party", default="", help="Party id (violations party add).")
@click.option("--address", default="")
@click.option("--land", "illegal_land", is_flag=True, help="违法占地.")
@click.option("--building", "illegal_building", is_flag=True, help="违法建设.")
@click.option("--floor-m2", type=float, default=None)
@click.option("--land-m2", type=float, default=None)
@click.option("--started", type=DATE, default=None, help="建设时间 (增量/存量).")
@click.option(
    "--geometry", "geometry_file", default=None, help="The site as one polygon, FILE[:LAYER]."
)
@click.option("--where", default=None, help='Select the polygon in --geometry, e.g. "FID=3".')
@click.option("--lon", type=float, default=None, help="Or a point: longitude (EPSG:4490).")
@click.option("--lat", type=float, default=None, help="Latitude (EPSG:4490).")
@click.option("--user", default=None)
def add_cmd(ws: str, found: datetime, found_by: str, township: str, village: str, household: str, party: str, address: str,
            illegal_land: bool, illegal_building: bool, floor_m2: float | None, land_m2: float | None, started: date | None,
            geometry_file: str | None, where: str | None, lon: float | None, lat: float | None,
            user: str | None) -> None:  # fmt: skip
    """Record a 两违 case (待核实), with its site as a polygon or a point (optional)."""
    from parcelwatch.violations import records as R

    geom_wkt = None
    if geometry_file and (lon is not None or lat is not None):
        raise click.UsageError(
            "Give the site either as --geometry FILE or as --lon/--lat, not both."
        )
    if geometry_file:
        import shapely

        from parcelwatch.ledger.add import read_polygon

        geom_wkt = shapely.to_wkt(read_polygon(geometry_file, where=where), rounding_precision=8)
    elif lon is not None or lat is not None:
        if lon is None or lat is None or not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise click.UsageError("A point needs both --lon and --lat in degrees (EPSG:4490).")
        geom_wkt = f"POINT ({lon:.7f} {lat:.7f})"

    fields = {"township_name": township, "village_name": village, "household": household, "party_id": party, "address": address,
              "illegal_land": illegal_land or None, "illegal_building": illegal_building or None, "floor_area_m2": floor_m2,
              "land_area_m2": land_m2, "construction_started": started, "geom_wkt": geom_wkt}  # fmt: skip
    with _opened(ws) as (w, s, book):
        cid, notes = R.add_case(book, s, county_code=_county(w), found_at=found, found_by=found_by,
                                fields={k: v for k, v in fields.items() if v not in (None, "")}, user=_user(user, w.rules), now=_now())  # fmt: skip
        c = book.get("violation_cases", cid)
    click.echo(f"{cid}: 待核实（{c['stock']}{'，顶风突击' if c['defiant'] == '是' else ''}）")
    for n in notes:
        click.echo(f"WARNING: {n}", err=True)


@violations.command("set")
@click.argument("ws", type=click.Path(file_okay=False))
@click.argument("case_id")
@click.option("--status", default=None)
@click.option("--field", "fields", multiple=True, help="NAME=VALUE (repeat), e.g. disposal=拆除.")
@click.option("--note", default="")
@click.option("--user", default=None)
def set_cmd(
    ws: str, case_id: str, status: str | None, fields: tuple[str, ...], note: str, user: str | None
) -> None:
    """Change a case's fields and/or status (the transition's requirements are checked)."""
    from parcelwatch.violations import records as R

    values = {}
    for f in fields:
        if "=" not in f:
            raise click.UsageError(f"--field {f!r}: write NAME=VALUE.")
        k, v = f.split("=", 1)
        values[k.strip()] = v.strip()
    with _opened(ws) as (w, s, book):
        R.update_case(
            book,
            s,
            case_id,
            status=status,
            fields=values,
            note=note,
            user=_user(user, w.rules),
            now=_now(),
        )
        c = book.get("violation_cases", case_id)
    click.echo(f"{case_id}: {c['status']}")


@violations.command("stats")
@click.argument("ws", type=click.Path(file_okay=False))
@click.option("--year", type=int, required=True)
@click.option(
    "--as-of", type=DATE, default=None, help="Default: today (or the year's end for a past year)."
)
def stats_cmd(ws: str, year: int, as_of: date | None) -> None:
    """Governed area against the target and the calendar (序时进度)."""
    from parcelwatch.violations import records as R
    from parcelwatch.violations.reports import stats_lines

    with _opened(ws) as (_w, s, book):
        today = _now().date()
        as_of = as_of or (today if today.year == year else date(year, 12, 31))
        lines = stats_lines(book.all("violation_cases"), year, R.targets(book), s, as_of=as_of)
    for line in lines:
        click.echo(line)


@violations.command("monthly")
@click.argument("ws", type=click.Path(file_okay=False))
@click.option("--month", required=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None)
@click.option("--user", default=None)
def monthly_cmd(ws: str, month: str, output: str | None, user: str | None) -> None:
    """The monthly bulletin 两违月通报 (Excel), logged in the report log (报送记录; due on the 10th
    of the next month [inferred: the seed says 月通报 without a day])."""
    from parcelwatch.cli.patrol import _check_month
    from parcelwatch.violations import records as R
    from parcelwatch.violations.reports import write_monthly_bulletin

    _check_month(month)
    with _opened(ws) as (w, s, book):
        out = (
            Path(output)
            if output
            else w.path / "outputs" / f"两违月通报_{month[:4]}年{month[5:]}月.xlsx"
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        tg = R.targets(book)
        towns = {}
        for t in book.all("violation_targets"):
            if t["scope"] != "county" and int(t["year"]) == int(month[:4]):
                towns[t["scope"]] = Decimal(t["target_m2"])
        write_monthly_bulletin(book.all("violation_cases"), month, s, out, county_name=w.rules.county.name,
                               year_target_m2=tg.get(int(month[:4])), issued_on=_now().date(), town_targets=towns)  # fmt: skip
        from datetime import timedelta

        from parcelwatch.reports.reportlog import ReportLog

        y, m = int(month[:4]), int(month[5:])
        last = date(y + (m == 12), m % 12 + 1, 1) - timedelta(days=1)
        rid = ReportLog(w.store).log_written(kind="两违月通报", period_start=date(y, m, 1), period_end=last,
                                             due=last + timedelta(days=10), file=out, recipient="",
                                             user=_user(user, w.rules), now=_now())  # fmt: skip
    click.echo(f"{out} written（报送记录 {rid}）.")


@violations.command("list")
@click.argument("ws", type=click.Path(file_okay=False))
def list_cmd(ws: str) -> None:
    """List the cases."""
    with _opened(ws) as (_w, _s, book):
        cases = book.all("violation_cases")
    rows = [[c["case_id"], c["status"], c.get("township_name") or "", c.get("stock") or "", c.get("disposal") or "",
             c.get("disposed_area_m2") or "", "、".join(c.get("priority_tags") or [])] for c in cases]  # fmt: skip
    for line in _table(["编号", "状态", "乡镇", "增量/存量", "处置", "治理面积", "标签"], rows):
        click.echo(line)


@violations.command("party")
@click.argument("ws", type=click.Path(file_okay=False))
@click.option("--kind", type=click.Choice(["个人", "单位"]), required=True)
@click.option("--name", required=True)
@click.option(
    "--id-number", default="", help="身份证号: stored only as its sha256 and last 4 characters."
)
@click.option("--credit-code", default="", help="统一社会信用代码 (units).")
@click.option("--user", default=None)
def party_cmd(
    ws: str, kind: str, name: str, id_number: str, credit_code: str, user: str | None
) -> None:
    """Register a builder (当事人)."""
    from parcelwatch.violations import records as R

    with _opened(ws) as (w, _s, book):
        pid = R.add_party(
            book,
            kind=kind,
            name=name,
            id_number=id_number,
            credit_code=credit_code,
            user=_user(user, w.rules),
            now=_now(),
        )
    click.echo(f"{pid} {kind} {name}")


@violations.group("blacklist")
def blacklist_group() -> None:
    """The 两违 blacklist (情节严重 cases only)."""


@blacklist_group.command("add")
@click.argument("ws", type=click.Path(file_okay=False))
@click.option("--party", required=True)
@click.option("--case", "cases", multiple=True, required=True)
@click.option("--reason", required=True)
@click.option("--approved-ref", default="")
@click.option("--on", "listed_on", type=DATE, default=None, help="Listing date (default: today).")
@click.option("--user", default=None)
def blacklist_add_cmd(
    ws: str,
    party: str,
    cases: tuple[str, ...],
    reason: str,
    approved_ref: str,
    listed_on: date | None,
    user: str | None,
) -> None:
    """List a party (its cases must be 已认定 and 情节严重)."""
    from parcelwatch.violations import records as R

    with _opened(ws) as (w, _s, book):
        now = _now()
        eid = R.blacklist_add(book, party_id=party, case_ids=cases, reason=reason, listed_on=listed_on or now.date(),
                              approved_ref=approved_ref, user=_user(user, w.rules), now=now)  # fmt: skip
    click.echo(f"{eid}: {party} 列入两违黑名单")


@blacklist_group.command("remove")
@click.argument("ws", type=click.Path(file_okay=False))
@click.argument("entry_id")
@click.option("--reason", required=True)
@click.option("--on", "removed_on", type=DATE, default=None)
@click.option("--user", default=None)
def blacklist_remove_cmd(
    ws: str, entry_id: str, reason: str, removed_on: date | None, user: str | None
) -> None:
    """Remove an entry (a reason is required)."""
    from parcelwatch.violations import records as R

    with _opened(ws) as (w, _s, book):
        now = _now()
        R.blacklist_remove(
            book,
            entry_id,
            reason=reason,
            on=removed_on or now.date(),
            user=_user(user, w.rules),
            now=now,
        )
    click.echo(f"{entry_id}: 已移出")


@blacklist_group.command("list")
@click.argument("ws", type=click.Path(file_okay=False))
@click.option("--active", is_flag=True)
def blacklist_list_cmd(ws: str, active: bool) -> None:
    """The blacklist (ID numbers shown as their last 4 characters only)."""
    with _opened(ws) as (_w, _s, book):
        parties = {p["party_id"]: p for p in book.all("violation_parties")}
        entries = [
            e for e in book.all("violation_blacklist") if not (active and e.get("removed_on"))
        ]
    rows = [[e["entry_id"], parties[e["party_id"]]["kind"], parties[e["party_id"]]["name"], parties[e["party_id"]].get("id_tail") or "",
             parties[e["party_id"]].get("credit_code") or "", "、".join(e["case_ids"]), e["listed_on"], "已移出" if e.get("removed_on") else "在册"]
            for e in entries]  # fmt: skip
    for line in _table(
        [
            "名单编号",
            "类型",
            "姓名/名称",
            "证件号后4位",
            "信用代码",
            "涉及案件",
            "列入日期",
            "状态",
        ],
        rows,
    ):
        click.echo(line)


@violations.command("compare")
@click.argument("ws", type=click.Path(file_okay=False))
@click.option(
    "--parcels",
    required=True,
    help="Aerial/satellite change parcels FILE[:LAYER] (id column parcel_id, JCBH or 图斑编号).",
)
@click.option(
    "--run", "run_name", required=True, help="Name of this comparison, e.g. 2018年第2期航拍."
)
@click.option("--found-by", type=click.Choice(["航拍", "卫片"]), default="航拍", show_default=True)
@click.option(
    "--record",
    is_flag=True,
    help="Create 待核实 cases for 未登记 parcels and mark 疑似反弹 cases as 反弹.",
)
@click.option("--user", default=None)
def compare_cmd(
    ws: str, parcels: str, run_name: str, found_by: str, record: bool, user: str | None
) -> None:
    """Compare aerial/satellite parcels with the cases: 已登记 / 疑似反弹 / 未登记."""
    import pyogrio

    from parcelwatch.cli.patrol import _split_layer
    from parcelwatch.errors import InputError
    from parcelwatch.violations import records as R

    path, layer = _split_layer(parcels)
    try:
        gdf = pyogrio.read_dataframe(path, layer=layer)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise InputError(f"Cannot read --parcels {parcels}: {exc}.") from exc
    idcol = next((c for c in ("parcel_id", "JCBH", "图斑编号", "TBBH") if c in gdf.columns), None)
    if idcol is None:
        raise InputError(
            f"--parcels {parcels}: no id column (parcel_id, JCBH, 图斑编号 or TBBH). Rename the id field."
        )
    gdf = gdf.rename(columns={idcol: "parcel_id"})
    with _opened(ws) as (w, s, book):
        rows = R.record_compare(book, s, gdf, run=run_name, found_by=found_by, county_code=_county(w), record=record,
                                user=_user(user, w.rules), now=_now())  # fmt: skip
    for line in _table(
        ["图斑", "比对结果", "案件", "重叠比例", "交并比"],
        [[r.parcel_id, r.outcome, r.case_id, f"{r.share:.2f}", f"{r.iou:.2f}"] for r in rows],
    ):
        click.echo(line)
    counts = {k: sum(1 for r in rows if r.outcome == k) for k in ("已登记", "疑似反弹", "未登记")}
    click.echo(
        "，".join(f"{k} {v}" for k, v in counts.items())
        + ("（已记录）" if record else "（未记录；--record 写入）")
    )


def _towns_targets(book: Any, year: int) -> dict[str, Decimal]:
    return {
        t["scope"]: Decimal(t["target_m2"])
        for t in book.all("violation_targets")
        if t["scope"] != "county" and int(t["year"]) == year
    }


@violations.command("daily")
@click.argument("ws", type=click.Path(file_okay=False))
@click.option("--date", "day", type=DATE, default=None, help="The day (default: today).")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), default=None, help="Also write Excel."
)
def daily_cmd(ws: str, day: date | None, output: str | None) -> None:
    """The daily report 日报告: per town the day's new cases, 制止, 拆除, other disposals and the
    year's governed area; then the day's new cases."""
    from parcelwatch.violations.blacklist import mask_name
    from parcelwatch.violations.reports import DAILY_HEADERS, daily_rows, daily_table, write_daily

    with _opened(ws) as (w, s, book):
        day = day or _now().date()
        rows, new = daily_rows(book.all("violation_cases"), day, s)
        county = w.rules.county.name
        if output:
            Path(output).parent.mkdir(parents=True, exist_ok=True)
            write_daily(rows, new, day, output, county_name=county)
    click.echo(f"{county}“两违”治理日报告（{day.isoformat()}）")
    for line in _table(DAILY_HEADERS, daily_table(rows)):
        click.echo(line)
    click.echo(f"当日新发现 {len(new)} 宗" + ("：" if new else "。"))
    for c in new:
        area = c.get("floor_area_m2") or c.get("land_area_m2") or ""
        click.echo(
            f"  {c['case_id']} {c.get('township_name') or ''}{c.get('village_name') or ''} {mask_name(c.get('household') or '')} "
            f"{c.get('address') or ''} {area}㎡ {c.get('found_by') or ''} {c.get('stock') or ''}".rstrip()
        )
    if output:
        click.echo(f"{output} written.")


@violations.command("evaluate")
@click.argument("ws", type=click.Path(file_okay=False))
@click.option("--half", default=None, help="e.g. 2018H1 (半年考评).")
@click.option("--year", type=int, default=None, help="e.g. 2018 (年度总评).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None)
def evaluate_cmd(ws: str, half: str | None, year: int | None, output: str | None) -> None:
    """The half-year or annual evaluation 两违考评 (no score: the seed gives no criteria)."""
    from parcelwatch.violations import records as R
    from parcelwatch.violations.reports import period_of, write_evaluation

    if bool(half) == bool(year):
        raise click.UsageError("Give one of --half 2018H1 or --year 2018.")
    start, end, label = period_of(half, year)
    with _opened(ws) as (w, s, book):
        out = Path(output) if output else w.path / "outputs" / f"两违考评_{label}.xlsx"
        out.parent.mkdir(parents=True, exist_ok=True)
        write_evaluation(book.all("violation_cases"), start, end, label, s, out, county_name=w.rules.county.name,
                         year_target_m2=R.targets(book).get(end.year), town_targets=_towns_targets(book, end.year),
                         blacklist=book.all("violation_blacklist"), issued_on=_now().date())  # fmt: skip
    click.echo(f"{out} written.")


@violations.command("publish")
@click.argument("ws", type=click.Path(file_okay=False))
@click.option("--list", "which", type=click.Choice(["planned", "demolished"]), required=True)
@click.option("--since", type=DATE, default=None, help="First day of the period (default: all).")
@click.option("--until", type=DATE, default=None, help="Last day of the period (default: today).")
@click.option("--deadline", type=DATE, default=None, help="拟拆期限 printed on a planned list.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None)
def publish_cmd(ws: str, which: str, since: date | None, until: date | None, deadline: date | None,
                output: str | None) -> None:  # fmt: skip
    """The list to publish: 拟拆名单 (planned) or 拆除情况 (demolished); names as 姓 + 某."""
    from parcelwatch.violations.reports import publish_rows, write_publish_list

    with _opened(ws) as (w, _s, book):
        until = until or _now().date()
        rows = publish_rows(book.all("violation_cases"), which, since, until, deadline=deadline)
        name = "拟拆名单" if which == "planned" else "拆除情况"
        out = (
            Path(output) if output else w.path / "outputs" / f"两违{name}_{until.isoformat()}.xlsx"
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        period = f"{since.isoformat() if since else '—'}至{until.isoformat()}"
        write_publish_list(rows, which, out, county_name=w.rules.county.name, period=period)
    click.echo(f"{out} written ({len(rows)} 宗).")


@blacklist_group.command("export")
@click.argument("ws", type=click.Path(file_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None)
def blacklist_export_cmd(ws: str, output: str | None) -> None:
    """The blacklist as Excel (sheet 两违黑名单; ID numbers as their last 4 characters)."""
    from parcelwatch.violations.reports import write_blacklist

    with _opened(ws) as (w, _s, book):
        parties = {p["party_id"]: p for p in book.all("violation_parties")}
        entries = book.all("violation_blacklist")
        out = Path(output) if output else w.path / "outputs" / "两违黑名单.xlsx"
        out.parent.mkdir(parents=True, exist_ok=True)
        write_blacklist(entries, parties, out)
    click.echo(f"{out} written ({len(entries)} 条).")


@violations.command("to-ledger")
@click.argument("ws", type=click.Path(file_okay=False))
@click.argument("case_id")
@click.option("--township", default="", help="乡镇 of the problem (default: the case's).")
@click.option("--farmland", default=None, help="三调 land use FILE[:LAYER], for the overlay.")
@click.option("--pbf", default=None, help="永久基本农田 FILE[:LAYER], for the overlay.")
@click.option("--user", default=None)
def to_ledger_cmd(ws: str, case_id: str, township: str, farmland: str | None, pbf: str | None,
                  user: str | None) -> None:  # fmt: skip
    """Send a 两违 case to the land ledger (ledger add --source 两违), linked both ways."""
    from parcelwatch.violations.links import case_to_ledger

    with _opened(ws) as (w, _s, book):
        specs = {role: spec for role, spec in (("farmland", farmland), ("pbf", pbf)) if spec}
        layers = None
        if specs:  # the overlay of `check` needs the reference layers, loaded as `check` loads them
            from parcelwatch.pipeline import load_inputs

            layers = load_inputs(specs, rules=w.rules).layers
        pid = case_to_ledger(w.store, book, case_id, township=township, reference=layers,
                             rules=w.rules, user=_user(user, w.rules), now=_now())  # fmt: skip
        rec = w.store.get(pid)
    area = "" if rec.farmland_m2 is None else f"，耕地 {rec.farmland_m2:.2f} ㎡"
    click.echo(f"{case_id} -> {pid}: {rec.status.value}（来源 两违{area}）")


@violations.command("chain")
@click.argument("ws", type=click.Path(file_okay=False))
@click.argument("case_id")
@click.option("--party", required=True, help="Party id (violations party).")
@click.option(
    "--role", required=True, help="建设, 施工, 设计, 监理, 供水, 供电 or 建材 (利益链条)."
)
@click.option("--user", default=None)
def chain_cmd(ws: str, case_id: str, party: str, role: str, user: str | None) -> None:
    """Record a party's role in a case (利益链条, for 倒查追责)."""
    from parcelwatch.violations import records as R

    with _opened(ws) as (w, _s, book):
        lid = R.add_case_party(
            book, case_id=case_id, party_id=party, role=role, user=_user(user, w.rules), now=_now()
        )
    click.echo(f"{lid}: {case_id} {role} {party}")


@violations.command("hotspots")
@click.argument("ws", type=click.Path(file_okay=False))
@click.option("--since", type=DATE, required=True)
@click.option("--until", type=DATE, default=None, help="Default: today.")
def hotspots_cmd(ws: str, since: date, until: date | None) -> None:
    """易违区域、易违时间点、易违人群: cases by village and by month, parties with >= 2 cases."""
    from parcelwatch.violations.reports import hot_spots

    with _opened(ws) as (_w, _s, book):
        until = until or _now().date()
        parties = {p["party_id"]: p for p in book.all("violation_parties")}
        hs = hot_spots(
            book.all("violation_cases"), book.all("violation_case_parties"), parties, since, until
        )
    click.echo(f"两违易发情况（{since.isoformat()}至{until.isoformat()}）")
    for line in _table(["乡镇/村(居)", "宗数"], [list(x) for x in hs.by_village]):
        click.echo(line)
    for line in _table(["月份", "宗数"], [list(x) for x in hs.by_month]):
        click.echo(line)
    click.echo(
        f"涉及2宗及以上的当事人 {len(hs.repeat_parties)} 个" + ("：" if hs.repeat_parties else "。")
    )
    for pid, name, cs in hs.repeat_parties:
        click.echo(f"  {pid} {name}: {'、'.join(cs)}")


@violations.command("unit")
@click.argument("ws", type=click.Path(file_okay=False))
@click.option("--unit", required=True, help="Village or township name.")
@click.option(
    "--status", type=click.Choice(["创建中", "申请验收", "已验收", "未通过"]), required=True
)
@click.option("--on", "on", type=DATE, default=None, help="验收日期 (for 已验收).")
@click.option("--doc-ref", default="", help="文号.")
@click.option("--user", default=None)
def unit_cmd(
    ws: str, unit: str, status: str, on: date | None, doc_ref: str, user: str | None
) -> None:
    """“无违建”创建 of a village or town (已验收 refused while it has undisposed cases)."""
    from parcelwatch.violations import records as R

    with _opened(ws) as (w, _s, book):
        eid = R.set_no_violation_unit(book, unit=unit, status=status, on=on, doc_ref=doc_ref,
                                      user=_user(user, w.rules), now=_now())  # fmt: skip
    click.echo(f"{eid}: {unit} {status}")
