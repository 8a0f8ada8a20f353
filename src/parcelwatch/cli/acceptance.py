"""``parcelwatch acceptance``: the 100-point self-score (score, form)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import click

if TYPE_CHECKING:
    from parcelwatch.ledger.sqlstore import SqlStore

__all__ = ["acceptance"]


def _today() -> date:
    from parcelwatch.cli.options import today

    return today()


@click.group()
def acceptance() -> None:
    """County self-acceptance: the 考核验收评分表 (100-point self-score)."""


_answers = click.option(
    "--answers",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Manual answers file (default WS/acceptance.toml).",
)


@acceptance.command("score")
@click.argument("workspace", type=click.Path(file_okay=False))
@_answers
def score_cmd(workspace: str, answers: Path | None) -> None:
    """Print each item of the self-score with its evidence, then the total."""
    from parcelwatch.acceptance.report import score_lines, score_workspace
    from parcelwatch.ledger.workspace import open_workspace

    with open_workspace(workspace) as ws:
        res = score_workspace(ws, answers)
    for line in score_lines(res):
        click.echo(line)


@acceptance.command("form")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@_answers
@click.option(
    "--today", type=click.DateTime(["%Y-%m-%d"]), default=None, help="评分日期 (default: today)."
)
def form_cmd(workspace: str, output: Path, answers: Path | None, today: datetime | None) -> None:
    """Write the 考核验收评分表 (xlsx)."""
    from parcelwatch.acceptance.report import score_workspace, write_score_form
    from parcelwatch.ledger.workspace import open_workspace

    with open_workspace(workspace) as ws:
        res = score_workspace(ws, answers)
        county = ws.rules.county.name
    write_score_form(res, output, county_name=county, scored_on=today.date() if today else _today())
    click.echo(f"{output}: 合计 {res.total}，{res.veto_text}")


# ------------------------------------------------------------------------------------------
# 追责问责


def _now() -> datetime:
    from parcelwatch.cli.options import now

    return now()


def _who(user: str | None, ws: object) -> str:
    from parcelwatch.cli.ledger import _user

    return _user(user, getattr(ws, "rules", None))


@click.group()
def accountability() -> None:
    """追责问责: sanctions, cases, funds and the county statistics form (seed 002 附件3)."""


_user_opt = click.option(
    "--user",
    default=None,
    help="Who records this (default: [ledger] default_user, else the OS user).",
)


@accountability.command("add-sanction")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.option("--person", required=True)
@click.option("--unit", default="")
@click.option("--position", default="")
@click.option("--public-official/--not-public-official", default=False)
@click.option("--category", type=click.Choice(["党纪处分", "政务处分"]), default=None)
@click.option("--type", "type_", required=True, help="警告, 严重警告, ... 诫勉谈话, 记过 ...")
@click.option("--decided", type=click.DateTime(["%Y-%m-%d"]), required=True)
@click.option("--ref", default="")
@click.option("--reason", default="")
@click.option("--township", required=True)
@click.option("--campaign", default="大棚房")
@click.option("--link", "links", multiple=True, help="Linked ledger problem id (repeatable).")
@_user_opt
def add_sanction_cmd(workspace: str, person: str, unit: str, position: str, public_official: bool, category: str | None, type_: str, decided: datetime, ref: str, reason: str, township: str, campaign: str, links: tuple[str, ...], user: str | None) -> None:  # fmt: skip
    """Record a sanction (处分) of a person."""
    from parcelwatch.acceptance.accountability import add_sanction
    from parcelwatch.acceptance.records import RecordBook
    from parcelwatch.ledger.workspace import open_workspace

    with open_workspace(workspace) as ws:
        for pid in links:
            ws.store.get(pid)  # refuses an unknown problem id
        sid = add_sanction(
            RecordBook(_records_store(ws)), person=person, unit=unit, position=position,
            public_official=public_official, category=category or "", type=type_,
            decided_on=decided.date(), decision_ref=ref, reason=reason, township=township,
            campaign=campaign, links=links, user=_who(user, ws), now=_now(),
        )  # fmt: skip
    click.echo(f"{sid}: {person} {category or ''}{type_}")


@accountability.command("add-case")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.option("--case-no", required=True)
@click.option("--filed", type=click.DateTime(["%Y-%m-%d"]), required=True)
@click.option("--persons", type=int, required=True)
@click.option("--kind", required=True, help="纪律审查 | 行政立案 | 刑事立案")
@click.option("--township", required=True)
@click.option("--campaign", default="大棚房")
@click.option("--link", "links", multiple=True)
@_user_opt
def add_case_cmd(workspace: str, case_no: str, filed: datetime, persons: int, kind: str, township: str, campaign: str, links: tuple[str, ...], user: str | None) -> None:  # fmt: skip
    """Record a case (立案查处)."""
    from parcelwatch.acceptance.accountability import add_case
    from parcelwatch.acceptance.records import RecordBook
    from parcelwatch.ledger.workspace import open_workspace

    with open_workspace(workspace) as ws:
        cid = add_case(
            RecordBook(_records_store(ws)), case_no=case_no, filed_on=filed.date(), persons=persons,
            kind=kind, township=township, campaign=campaign, links=links,
            user=_who(user, ws), now=_now(),
        )  # fmt: skip
    click.echo(f"{cid}: {kind} {persons} 人")


@accountability.command("import")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.argument("xlsx", type=click.Path(dir_okay=False, path_type=Path))
@_user_opt
def import_cmd(workspace: str, xlsx: Path, user: str | None) -> None:
    """Import sanctions (sheet 处分) and cases (sheet 立案) from Excel: all rows or none.

    处分 columns: 姓名, 单位, 职务, 乡镇, 公职人员 (是/否), 处分类别, 处分种类, 决定日期, 文号, 事由,
    专项, 关联编号. 立案 columns: 案号, 立案日期, 立案类别, 涉案人数, 乡镇, 专项, 关联编号.
    """
    from parcelwatch.acceptance.accountability import import_accountability
    from parcelwatch.acceptance.records import RecordBook
    from parcelwatch.ledger.workspace import open_workspace

    with open_workspace(workspace) as ws:
        res = import_accountability(RecordBook(ws.store), xlsx, user=_who(user, ws), now=_now())
    click.echo(f"{xlsx}: {len(res.sanction_ids)} 条处分, {len(res.case_ids)} 件立案已导入")
    if res.sanction_ids:
        click.echo(f"  处分 {res.sanction_ids[0]} … {res.sanction_ids[-1]}")


@accountability.command("funds")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.argument("problem_id")
@click.option("--suspected", type=str, default=None, help="涉嫌骗取资金 (万元)")
@click.option("--in-recovery", type=str, default=None, help="正在追回 (万元)")
@click.option("--special-account", type=click.Choice(["是", "否", ""]), default="")
@_user_opt
def funds_cmd(workspace: str, problem_id: str, suspected: str | None, in_recovery: str | None, special_account: str, user: str | None) -> None:  # fmt: skip
    """Record a problem's 涉嫌骗取 / 正在追回 funds (已追回 stays the ledger's funds_recovered_wan)."""
    from decimal import Decimal, InvalidOperation

    from parcelwatch.acceptance.accountability import set_funds
    from parcelwatch.acceptance.records import RecordBook
    from parcelwatch.ledger.workspace import open_workspace

    def dec(name: str, v: str | None) -> Decimal | None:
        try:
            return None if v is None else Decimal(v)
        except InvalidOperation:
            raise click.BadParameter(f"{v!r} is not a number (万元)", param_hint=name) from None

    with open_workspace(workspace) as ws:
        set_funds(
            RecordBook(_records_store(ws)), ws.store.get(problem_id),
            suspected_wan=dec("--suspected", suspected), in_recovery_wan=dec("--in-recovery", in_recovery),
            special_account=special_account, user=_who(user, ws), now=_now(),
        )  # fmt: skip
    click.echo(f"{problem_id}: 资金已记录")


def _acc_stats(ws: object, campaign: str, start: datetime | None, end: datetime | None, by: str):  # type: ignore[no-untyped-def]
    from parcelwatch.acceptance.accountability import statistics
    from parcelwatch.acceptance.records import RecordBook

    book = RecordBook(_records_store(ws))  # type: ignore[attr-defined]
    return statistics(
        book.all("acc_sanctions"),
        book.all("acc_cases"),
        ws.store.records(geometry=False),  # type: ignore[attr-defined]
        {f["problem_id"]: f for f in book.all("acc_funds")},
        campaign=campaign,
        start=start.date() if start else None,
        end=end.date() if end else None,
        by=by,
    )


_scope = [
    click.option("--campaign", default="大棚房"),
    click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), default=None),
    click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), default=None),
]


def _scoped(f):  # type: ignore[no-untyped-def]
    for opt in reversed(_scope):
        f = opt(f)
    return f


@accountability.command("stats")
@click.argument("workspace", type=click.Path(file_okay=False))
@_scoped
def acc_stats_cmd(
    workspace: str, campaign: str, start: datetime | None, end: datetime | None
) -> None:
    """Print the 17 totals, then the money totals in 元."""
    from parcelwatch.acceptance.accountability import stats_lines
    from parcelwatch.ledger.workspace import open_workspace

    with open_workspace(workspace) as ws:
        st = _acc_stats(ws, campaign, start, end, "township")
    for line in stats_lines(st):
        click.echo(line)


@accountability.command("form")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--by", type=click.Choice(["township", "county"]), default="township")
@_scoped
def acc_form_cmd(workspace: str, output: Path, by: str, campaign: str, start: datetime | None, end: datetime | None) -> None:  # fmt: skip
    """Write the “大棚房”问题追责问责县级统计表 (xlsx)."""
    from parcelwatch.acceptance.accountability import write_accountability_form
    from parcelwatch.ledger.workspace import open_workspace

    with open_workspace(workspace) as ws:
        st = _acc_stats(ws, campaign, start, end, by)
        county = ws.rules.county.name
    write_accountability_form(st, output, county_name=county)
    click.echo(f"{output}: {len(st.rows)} 行 + 合计")


# ------------------------------------------------------------------------------------------
# 棚室台账


@click.group()
def greenhouses() -> None:
    """Greenhouse registry (棚室台账): import, visits, list, export (Excel and map layer)."""


@greenhouses.command("import")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.option(
    "--greenhouses",
    "source",
    required=True,
    help="Polygon layer FILE[:LAYER] with 乡镇, 村, 组 columns.",
)
@_user_opt
def gh_import_cmd(workspace: str, source: str, user: str | None) -> None:
    """Import greenhouses; the ones without 编号 are numbered 乡镇-村-组-NNN."""
    import pyogrio

    from parcelwatch.acceptance.greenhouses import import_greenhouses
    from parcelwatch.acceptance.records import RecordBook
    from parcelwatch.errors import InputError
    from parcelwatch.ledger.workspace import open_workspace

    file, _, layer = source.partition(":") if not Path(source).exists() else (source, "", "")
    try:
        gdf = pyogrio.read_dataframe(file, layer=layer or None)
    except (OSError, pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise InputError(f"{source}: cannot read this layer ({exc}).") from exc
    with open_workspace(workspace) as ws:
        ids = import_greenhouses(
            RecordBook(_records_store(ws)), gdf, source=source, user=_who(user, ws), now=_now()
        )
    click.echo(f"{len(ids)} 个棚室已登记：{ids[0]} … {ids[-1]}")


@greenhouses.command("visit")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.option("--no", "numbers", multiple=True, help="Greenhouse number (repeatable).")
@click.option(
    "--import",
    "sheet",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Excel with a 棚室编号 column.",
)
@click.option("--on", "on", type=click.DateTime(["%Y-%m-%d"]), required=True)
@click.option("--by", "by", required=True)
@_user_opt
def gh_visit_cmd(workspace: str, numbers: tuple[str, ...], sheet: Path | None, on: datetime, by: str, user: str | None) -> None:  # fmt: skip
    """Record 入棚核查 visits (one or more --no, or a sheet)."""
    from parcelwatch.acceptance.greenhouses import read_visit_numbers, record_visits
    from parcelwatch.acceptance.records import RecordBook
    from parcelwatch.ledger.workspace import open_workspace

    nos = list(numbers) + (read_visit_numbers(sheet) if sheet else [])
    if not nos:
        raise click.UsageError("Give --no NUMBER or --import visits.xlsx.")
    with open_workspace(workspace) as ws:
        n = record_visits(
            RecordBook(_records_store(ws)), nos, on=on.date(), by=by, user=_who(user, ws), now=_now(),
            source=str(sheet) if sheet and not numbers else "",
        )  # fmt: skip
    click.echo(f"{n} 次入棚核查已记录")


@greenhouses.command("list")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.option("--village", default=None)
def gh_list_cmd(workspace: str, village: str | None) -> None:
    """List the registry, then coverage per village."""
    from parcelwatch.acceptance.greenhouses import coverage
    from parcelwatch.acceptance.records import read_if_present
    from parcelwatch.ledger.workspace import open_workspace

    with open_workspace(workspace) as ws:
        reg = read_if_present(_records_store(ws), "greenhouse_registry")
    reg = [r for r in reg if not village or r.get("village") == village]
    for r in reg:
        click.echo(
            f"{r['greenhouse_no']}  {r.get('owner') or ''}  {r.get('type') or ''}  {r.get('size_m2') or ''} m²  核查 {r.get('last_visit_on') or '无'}"
        )
    for c in coverage(reg):
        click.echo(f"{c.village}: 已核查 {c.visited}/{c.registered}")


@greenhouses.command("export")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="棚室台账.xlsx (a .gpkg writes the map layer)",
)
def gh_export_cmd(workspace: str, output: Path) -> None:
    """Write the registry as Excel (with coverage) or as a GeoPackage map layer."""
    from parcelwatch.acceptance.greenhouses import write_registry_layer, write_registry_xlsx
    from parcelwatch.acceptance.records import read_if_present
    from parcelwatch.ledger.workspace import open_workspace

    with open_workspace(workspace) as ws:
        reg = read_if_present(_records_store(ws), "greenhouse_registry")
        county = ws.rules.county.name
    if output.suffix.lower() == ".gpkg":
        write_registry_layer(reg, output)
    else:
        write_registry_xlsx(reg, output, county_name=county)
    click.echo(f"{output}: {len(reg)} 个棚室")


def _records_store(ws: Any) -> SqlStore:
    """The workspace's store as the record books take it: both stores (GeoPackage, PostgreSQL)
    are SQL stores that keep them; the Workspace types its store by the ledger interface."""
    return cast("SqlStore", ws.store)
