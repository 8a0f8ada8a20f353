"""``parcelwatch inspection ...`` (巡察整改, SEED-SYSTEMS §E2) and ``parcelwatch docs add``."""

from __future__ import annotations

from datetime import date

import click

from parcelwatch.atomic import write_text_atomic
from parcelwatch.cli.ledger import DATE, _now, _user
from parcelwatch.cli.options import out_file


@click.group("inspection")
def inspection() -> None:
    """巡察整改: feedback items, dated actions, figures and the report as of a date."""


def _book(ws):  # type: ignore[no-untyped-def]
    from parcelwatch.reports.inspection import InspectionBook

    return InspectionBook(ws.store)


@inspection.command("add")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.option(
    "--source", default="巡察", type=click.Choice(["巡察", "巡视", "督察", "审计", "其他"])
)
@click.option(
    "--unit", "org_unit", required=True, help="The unit inspected, e.g. 太山镇 (report titles)."
)
@click.option("--feedback-ref", required=True, help="《…反馈意见》 title or 文号.")
@click.option(
    "--feedback-on", required=True, type=DATE, help="Date of the feedback, e.g. 2024-10-14."
)
@click.option("--aspect", required=True, help="方面, e.g. 违法违规占用耕地、耕地“非农化”、非粮化.")
@click.option(
    "--no",
    "problem_no",
    required=True,
    type=int,
    help="The problem's number in the feedback (1, 2 ...).",
)
@click.option("--title", required=True, help="问题, e.g. 新增违法占地禁而不绝.")
@click.option("--description", default="", help="具体表现.")
@click.option("--case", "typical_case", default="", help="典型案例.")
@click.option("--measure", "measures", multiple=True, required=True, help="整改措施 (repeatable).")
@click.option("--leader", required=True, help="责任领导.")
@click.option("--resp-unit", "resp_unit", required=True, help="责任单位 / 责任部门.")
@click.option("--due", type=DATE, help="完成时限 (default: feedback date + 4 months).")
@click.option(
    "--problem", "problems", multiple=True, help="A linked ledger problem id (repeatable)."
)
@click.option("--user", help="Who enters it (default: [ledger] default_user, else the OS user).")
def add_cmd(workspace: str, source: str, org_unit: str, feedback_ref: str, feedback_on: date, aspect: str,
            problem_no: int, title: str, description: str, typical_case: str, measures: tuple[str, ...],
            leader: str, resp_unit: str, due: date | None, problems: tuple[str, ...], user: str | None) -> None:  # fmt: skip
    """Record one problem of a 巡察 feedback with its measures and responsibilities."""
    from parcelwatch.ledger.workspace import open_workspace

    with open_workspace(workspace) as ws:
        iid = _book(ws).add_item(
            unit=org_unit, source=source, feedback_ref=feedback_ref, feedback_on=feedback_on,
            aspect=aspect, problem_no=problem_no, title=title, description=description,
            typical_case=typical_case, measures=measures, responsible_leader=leader,
            responsible_unit=resp_unit, due=due, problem_ids=problems, user=_user(user, ws.rules),
            now=_now(),
        )  # fmt: skip
    click.echo(f"{iid}: 问题{problem_no} {title}（未整改）")


@inspection.command("action")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.argument("item_id")
@click.option("--on", "on_date", required=True, type=DATE, help="Date of the action.")
@click.option("--text", required=True, help="What was done.")
@click.option("--evidence", default="", help="佐证 (file or reference).")
@click.option("--user", help="Who enters it.")
def action_cmd(
    workspace: str, item_id: str, on_date: date, text: str, evidence: str, user: str | None
) -> None:
    """Add a dated action (整改进展) to an item."""
    from parcelwatch.ledger.workspace import open_workspace

    with open_workspace(workspace) as ws:
        aid = _book(ws).add_action(
            item_id,
            on=on_date,
            text=text,
            evidence=evidence,
            user=_user(user, ws.rules),
            now=_now(),
        )
    click.echo(f"{aid}: {item_id} {on_date.isoformat()}")


@inspection.command("set")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.argument("item_id")
@click.option("--status", type=click.Choice(["未整改", "整改中", "已完成"]))
@click.option("--completed", type=DATE, help="完成日期 (required for 已完成).")
@click.option("--closed", type=DATE, help="销号日期.")
@click.option("--decision-ref", help="e.g. 获政土〔2024〕27号.")
@click.option("--due", type=DATE, help="完成时限.")
@click.option("--user", help="Who makes the change.")
def set_cmd(workspace: str, item_id: str, status: str | None, completed: date | None, closed: date | None,
            decision_ref: str | None, due: date | None, user: str | None) -> None:  # fmt: skip
    """Change an item's status (已完成 needs --completed), dates or decision."""
    from parcelwatch.ledger.workspace import open_workspace

    with open_workspace(workspace) as ws:
        changed = _book(ws).set_item(
            item_id, status=status, completed_on=completed, closed_on=closed, decision_ref=decision_ref,
            due=due, user=_user(user, ws.rules), now=_now(),
        )  # fmt: skip
    click.echo(f"{item_id}: {'changed' if changed else 'already had these values'}")


def _figures(ws, as_of: date, feedback_ref: str | None):  # type: ignore[no-untyped-def]
    from parcelwatch.reports.inspection import figures_as_of

    return figures_as_of(ws.store, as_of, feedback_ref)


@inspection.command("stats")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.option("--as-of", "as_of", type=DATE, help="Report date (default: today).")
@click.option("--feedback-ref", help="Which feedback (when the ledger holds several).")
def stats_cmd(workspace: str, as_of: date | None, feedback_ref: str | None) -> None:
    """The figure sentence as of a date, then one line per responsible unit."""
    from parcelwatch.ledger.workspace import open_workspace
    from parcelwatch.reports.inspection import figure_sentence, unit_lines

    with open_workspace(workspace) as ws:
        f = _figures(ws, as_of or _now().date(), feedback_ref)
    click.echo(figure_sentence(f))
    for line in unit_lines(f):
        click.echo(line)


@inspection.command("report")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.option("--as-of", "as_of", required=True, type=DATE, help="截至 date.")
@out_file("巡察整改台账.xlsx")
@click.option(
    "--text",
    "text_path",
    type=click.Path(dir_okay=False),
    help="Also write the paste-ready text (.md).",
)
@click.option("--contact", default="", help="Contact line of the 公布 (phone, e-mail).")
@click.option("--feedback-ref", help="Which feedback (when the ledger holds several).")
def report_cmd(workspace: str, as_of: date, out_path: str, text_path: str | None, contact: str,
               feedback_ref: str | None) -> None:  # fmt: skip
    """巡察整改台账.xlsx (整改台账, 整改统计, 整改进展记录) and the text for the 公布 document."""
    from parcelwatch.errors import OutputError
    from parcelwatch.ledger.workspace import open_workspace
    from parcelwatch.reports.inspection import (
        SIGN_ROLES,
        figure_sentence,
        inspection_markdown,
        write_inspection_xlsx,
    )
    from parcelwatch.reports.reportlog import ReportLog, signature_block

    with open_workspace(workspace) as ws:
        f = _figures(ws, as_of, feedback_ref)
        signed = ReportLog(ws.store).signoffs("report", f"巡察整改:{f.feedback_ref}")
    path = write_inspection_xlsx(f, out_path, signatures=signature_block(signed, SIGN_ROLES))
    click.echo(f"Written: {path}")
    if text_path:
        try:
            write_text_atomic(text_path, inspection_markdown(f, contact=contact))
        except OSError as exc:
            raise OutputError(
                f"Cannot write {text_path}: {exc}. Check the folder exists and is writable."
            ) from exc
        click.echo(f"Written: {text_path}")
    click.echo(figure_sentence(f))


@inspection.command("weekly")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.option(
    "--week-of",
    "week_of",
    required=True,
    type=DATE,
    help="First day of the week (e.g. 2025-02-10); the figures are as of its last day.",
)
@out_file("巡察整改周通报.xlsx")
@click.option("--recipient", default="", help="Who receives the bulletin (report log).")
@click.option("--feedback-ref", help="Which feedback (when the ledger holds several).")
@click.option("--user", help="Who writes it (default: [ledger] default_user, else the OS user).")
def weekly_cmd(workspace: str, week_of: date, out_path: str, recipient: str, feedback_ref: str | None,
               user: str | None) -> None:  # fmt: skip
    """巡察整改周通报: per responsible unit, items, done, in progress, overdue, 完成率 and 督办
    (units with an overdue item or below the overall rate); logged as 巡察周通报 in the report log."""
    from parcelwatch.ledger.workspace import open_workspace
    from parcelwatch.reports.inspection import unit_lines, write_inspection_weekly

    with open_workspace(workspace) as ws:
        path, f, rid = write_inspection_weekly(
            ws.store, week_of, out_path, user=_user(user, ws.rules), now=_now(),
            feedback_ref=feedback_ref, recipient=recipient,
        )  # fmt: skip
    click.echo(f"Written: {path} (report log {rid}, 截至 {f.as_of.isoformat()})")
    for line in unit_lines(f):
        click.echo(line)


@click.group("docs")
def docs() -> None:
    """The document register (方案, 制度, 批示, 会议; SEED-SYSTEMS 0.P6, minimal)."""


@docs.command("add")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.option("--kind", required=True, help="e.g. 规章制度, 整改方案, 专题会议纪要.")
@click.option("--title", required=True)
@click.option("--issued", required=True, type=DATE)
@click.option("--ref", default="", help="文号.")
@click.option("--issuer", default="")
@click.option("--tag", "tags", multiple=True, help="e.g. the 巡察 feedback reference it answers.")
@click.option("--user", help="Who enters it.")
def docs_add_cmd(workspace: str, kind: str, title: str, issued: date, ref: str, issuer: str,
                 tags: tuple[str, ...], user: str | None) -> None:  # fmt: skip
    """Register a document."""
    from parcelwatch.ledger.workspace import open_workspace

    with open_workspace(workspace) as ws:
        did = _book(ws).add_document(kind=kind, title=title, issued_on=issued, ref=ref, issuer=issuer, tags=tags,
                                     user=_user(user, ws.rules), now=_now())  # fmt: skip
    click.echo(f"{did}: {kind} {title}")
