"""``parcelwatch org ...`` (organisation registry, 0.P2), ``parcelwatch reportlog ...`` (报送记录,
0.P4) and ``parcelwatch signoff add`` (0.P3)."""

from __future__ import annotations

from datetime import date, datetime

import click

from parcelwatch.cli.ledger import DATE, LAYER_HELP, _now, _table, _user


class _DateTimeType(click.ParamType):
    name = "DATETIME"

    def convert(self, value, param, ctx):  # type: ignore[no-untyped-def]
        if isinstance(value, (date, datetime)):
            return value
        text = str(value).strip()
        try:
            return (
                datetime.fromisoformat(text)
                if "T" in text or " " in text
                else date.fromisoformat(text)
            )
        except ValueError:
            self.fail(
                f"{value!r} is not a date or time; write 2019-02-20 or 2019-02-20T16:30", param, ctx
            )


DATETIME = _DateTimeType()


@click.group("org")
def org() -> None:
    """The organisation registry: townships, villages, departments, people and roles."""


@org.command("import-villages")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.option("--villages", "villages_src", required=True, help=f"村级调查区 CJDCQ ({LAYER_HELP}).")
@click.option("--town-code", default="", help="Only the villages of this township (9-digit code).")
@click.option("--user", help="Who imports.")
def import_villages_cmd(
    workspace: str, villages_src: str, town_code: str, user: str | None
) -> None:
    """Register the villages (and their townships) of a village-boundary layer."""
    from parcelwatch.io.layers import load_layer
    from parcelwatch.ledger.workspace import open_workspace
    from parcelwatch.pipeline import LayerSource
    from parcelwatch.reports.org import OrgBook

    src = LayerSource.parse(villages_src)
    with open_workspace(workspace) as ws:
        layer = load_layer(src.path, role="villages", layer=src.layer, rules=ws.rules)
        n_v, n_t = OrgBook(ws.store).import_villages(
            layer.frame, user=_user(user, ws.rules), now=_now(), town_code=town_code
        )
    click.echo(f"{n_v} village(s) and {n_t} township(s) added to the organisation registry.")


@org.command("import")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.argument("xlsx_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check every cell and report, change nothing.")
@click.option("--user", help="Who imports.")
def import_cmd(workspace: str, xlsx_file: str, dry_run: bool, user: str | None) -> None:
    """Register units (sheet 单位: 类型, 名称, 代码, 上级, 巡查督查组, 范围说明) and people (sheet 人员:
    姓名, 单位, 职责, 起始日期, 截止日期) from an Excel workbook: all rows or none."""
    from parcelwatch.errors import SchemaError
    from parcelwatch.ledger.workspace import open_workspace
    from parcelwatch.reports.org import OrgBook

    with open_workspace(workspace) as ws:
        report = OrgBook(ws.store).import_xlsx(
            xlsx_file, user=_user(user, ws.rules), now=_now(), dry_run=dry_run
        )
    if report.issues:
        raise SchemaError("\n".join(report.lines()))
    for line in report.lines():
        click.echo(line)


@org.command("add-unit")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.option(
    "--kind",
    required=True,
    type=click.Choice(
        ["county", "town", "village", "community", "department", "patrol_group", "higher"]
    ),
)
@click.option("--name", required=True)
@click.option("--code", default="")
@click.option("--parent", default="", help="Parent unit id or name.")
@click.option("--user", help="Who adds it.")
def add_unit_cmd(
    workspace: str, kind: str, name: str, code: str, parent: str, user: str | None
) -> None:
    """Add a unit (e.g. a department such as 村镇规划建设办公室)."""
    from parcelwatch.ledger.workspace import open_workspace
    from parcelwatch.reports.org import OrgBook

    with open_workspace(workspace) as ws:
        book = OrgBook(ws.store)
        uid = book.add_unit(kind=kind, name=name, code=code, parent_id=book.unit_id(parent) or parent,
                            user=_user(user, ws.rules), now=_now())  # fmt: skip
    click.echo(f"{uid}: {kind} {name}")


@org.command("add-person")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.option("--name", required=True)
@click.option("--unit", required=True, help="Unit id, name or code.")
@click.option(
    "--role", "roles", multiple=True, help="Role (repeatable): 村巡查员, 组长, 书记, 责任领导 ..."
)
@click.option("--from", "valid_from", type=DATE)
@click.option("--to", "valid_to", type=DATE)
@click.option("--user", help="Who adds the person.")
def add_person_cmd(workspace: str, name: str, unit: str, roles: tuple[str, ...], valid_from: date | None,
                   valid_to: date | None, user: str | None) -> None:  # fmt: skip
    """Add a person of a unit with roles."""
    from parcelwatch.ledger.workspace import open_workspace
    from parcelwatch.reports.org import OrgBook

    with open_workspace(workspace) as ws:
        pid = OrgBook(ws.store).add_person(name=name, unit=unit, roles=roles, valid_from=valid_from,
                                           valid_to=valid_to, user=_user(user, ws.rules), now=_now())  # fmt: skip
    click.echo(f"{pid}: {name}")


@org.command("list")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.option("--kind", help="Only units of this kind (village, town, department ...).")
def list_cmd(workspace: str, kind: str | None) -> None:
    """List units (and the people of each)."""
    from parcelwatch.ledger.workspace import open_workspace
    from parcelwatch.reports.org import OrgBook

    with open_workspace(workspace) as ws:
        book = OrgBook(ws.store)
        units, people = book.units(kind), book.people()
    by_unit: dict[str, list[str]] = {}
    for p in people:
        by_unit.setdefault(p["unit_id"], []).append(
            p["name"] + (f"（{'、'.join(p['roles'])}）" if p["roles"] else "")
        )
    rows = [
        (
            u["unit_id"],
            u["kind"],
            u["name"],
            u["parent_id"] or "",
            "；".join(by_unit.get(u["unit_id"], [])),
        )
        for u in units
    ]
    for line in _table(["编号", "类型", "名称", "上级", "人员"], rows, max_width=50):
        click.echo(line)
    click.echo(f"{len(units)} unit(s)")


@click.group("reportlog")
def reportlog() -> None:
    """The report log (报送记录): periodic reports, their due times and submissions."""


@reportlog.command("add")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.option("--kind", required=True, help="e.g. 周三信息, 回头看进展, 巡察周通报.")
@click.option("--due", required=True, type=DATETIME, help="Due date (end of that day) or time.")
@click.option("--submitted", type=DATETIME, help="When it was submitted.")
@click.option("--period-start", type=DATE)
@click.option("--period-end", type=DATE)
@click.option("--recipient", default="")
@click.option("--file", "file_path", type=click.Path(exists=True, dir_okay=False))
@click.option("--user", help="Who logs it.")
def log_add_cmd(workspace: str, kind: str, due, submitted, period_start, period_end, recipient: str,  # type: ignore[no-untyped-def]
                file_path: str | None, user: str | None) -> None:  # fmt: skip
    """Log a report."""
    from parcelwatch.ledger.workspace import open_workspace
    from parcelwatch.reports.reportlog import ReportLog

    with open_workspace(workspace) as ws:
        rid = ReportLog(ws.store).add(kind=kind, due=due, submitted=submitted, period_start=period_start,
                                      period_end=period_end, recipient=recipient, file=file_path,
                                      user=_user(user, ws.rules), now=_now())  # fmt: skip
    click.echo(rid)


@reportlog.command("submit")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.argument("report_id")
@click.option(
    "--at", "at_", required=True, type=DATETIME, help="Submission time, e.g. 2019-02-21T09:00."
)
@click.option("--user", help="Who submitted it.")
def log_submit_cmd(workspace: str, report_id: str, at_, user: str | None) -> None:  # type: ignore[no-untyped-def]
    """Record that a logged report was submitted."""
    from parcelwatch.ledger.workspace import open_workspace
    from parcelwatch.reports.reportlog import ReportLog

    with open_workspace(workspace) as ws:
        ReportLog(ws.store).submit(report_id, at=at_, user=_user(user, ws.rules), now=_now())
    click.echo(f"{report_id}: submitted")


@reportlog.command("list")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.option("--kind")
@click.option("--late", is_flag=True, help="Only reports submitted late or overdue.")
@click.option(
    "--now", "judged_at", type=DATETIME, help="Judge lateness at this time (default: now)."
)
def log_list_cmd(workspace: str, kind: str | None, late: bool, judged_at) -> None:  # type: ignore[no-untyped-def]
    """List logged reports (逾期 = submitted after the due time, or overdue and not submitted)."""
    from parcelwatch.ledger.workspace import open_workspace
    from parcelwatch.reports.reportlog import ReportLog, due_datetime

    now = due_datetime(judged_at) if judged_at else _now()
    with open_workspace(workspace) as ws:
        rows = ReportLog(ws.store).rows(kind=kind, late=late, now=now)
    table = [(r["report_id"], r["kind"], r["period_end"] or "", r["due_at"], r["submitted_at"] or "未报送",
              r["recipient"] or "", "逾期" if r["late"] else "") for r in rows]  # fmt: skip
    for line in _table(
        ["编号", "类型", "统计截至", "应报时间", "报送时间", "报送对象", "逾期"], table
    ):
        click.echo(line)
    click.echo(f"{len(rows)} report(s)")


@click.group("signoff")
def signoff() -> None:
    """Sign-offs (签字) of forms, reports and campaign submissions."""


@signoff.command("add")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.option(
    "--object-kind", required=True, type=click.Choice(["campaign_submission", "form", "report"])
)
@click.option("--object-id", required=True, help="e.g. 巡察整改:《…反馈意见》 for the 巡察 report.")
@click.option("--role", required=True, help="e.g. 党委书记, 村支书, 村主任.")
@click.option("--name", required=True)
@click.option("--on", "signed_on", required=True, type=DATE)
@click.option("--evidence", type=click.Path(exists=True, dir_okay=False), help="The signed scan.")
@click.option("--user", help="Who records it.")
def signoff_add_cmd(workspace: str, object_kind: str, object_id: str, role: str, name: str, signed_on: date,
                    evidence: str | None, user: str | None) -> None:  # fmt: skip
    """Record a sign-off; the form's signature block shows it."""
    from parcelwatch.ledger.workspace import open_workspace
    from parcelwatch.reports.reportlog import ReportLog

    with open_workspace(workspace) as ws:
        sid = ReportLog(ws.store).sign(object_kind=object_kind, object_id=object_id, role=role, name=name,
                                       signed_on=signed_on, evidence=evidence, user=_user(user, ws.rules),
                                       now=_now())  # fmt: skip
    click.echo(f"{sid}: {role} {name}")
