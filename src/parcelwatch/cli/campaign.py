"""``parcelwatch campaign ...``: the 回头看 campaign and its two-day progress report (§E1)."""

from __future__ import annotations

from datetime import date

import click

from parcelwatch.cli.ledger import DATE, _now, _user
from parcelwatch.cli.options import out_file
from parcelwatch.labels import CLASS_LABELS


@click.group("campaign")
def campaign() -> None:
    """回头看: clues, rechecks of original problems, greenhouse checks, sign-offs, the two-day report."""


def _cb(ws):  # type: ignore[no-untyped-def]
    from parcelwatch.reports.campaign import CampaignBook

    return CampaignBook(ws.store)


@campaign.command("start")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.option("--name", required=True)
@click.option("--unit", required=True, help="e.g. 水峪贯镇.")
@click.option("--start", "start_on", required=True, type=DATE)
@click.option("--end", "end_on", type=DATE, help="Default: start + 1 month − 1 day.")
@click.option("--every-days", default=2, type=int, show_default=True)
@click.option("--office", default="")
@click.option("--recipient", default="")
@click.option("--doc-ref", default="")
@click.option("--user")
def start_cmd(
    workspace, name, unit, start_on, end_on, every_days, office, recipient, doc_ref, user
):  # type: ignore[no-untyped-def]
    """Start a campaign (window, report cadence, recipient)."""
    from parcelwatch.ledger.workspace import open_workspace

    with open_workspace(workspace) as ws:
        cb = _cb(ws)
        cid = cb.start(name=name, unit=unit, start=start_on, end=end_on, every_days=every_days, office=office,
                       recipient=recipient, doc_ref=doc_ref, user=_user(user, ws.rules), now=_now())  # fmt: skip
        dues = cb.schedule(cid)
    click.echo(
        f"{cid}: {len(dues)} report(s) due {dues[0]} ... {dues[-1]}"
        if dues
        else f"{cid}: no report due"
    )


@campaign.command("clue")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.option("--village", required=True)
@click.option(
    "--source",
    required=True,
    type=click.Choice(["村自查", "群众举报", "镇巡查", "卫片", "上级交办"]),
)
@click.option("--found", required=True, type=DATE)
@click.option("--place", default="")
@click.option("--desc", default="")
@click.option(
    "--suspected",
    default="其他",
    # reports.campaign.SUSPECTED (not imported here: the CLI starts without SQLAlchemy)
    type=click.Choice(
        ["疑似违建别墅", *(CLASS_LABELS["zh"][c] for c in ("I", "II", "III")), "未复垦复耕", "其他"]
    ),
)
@click.option("--lon", type=float)
@click.option("--lat", type=float)
@click.option("--major", is_flag=True)
@click.option("--user")
def clue_cmd(workspace, village, source, found, place, desc, suspected, lon, lat, major, user):  # type: ignore[no-untyped-def]
    """Add a problem clue (问题线索)."""
    from parcelwatch.ledger.workspace import open_workspace

    with open_workspace(workspace) as ws:
        cid = _cb(ws).add_clue(village=village, source=source, found_on=found, place=place, description=desc,
                               suspected=suspected, lon=lon, lat=lat, major=major, user=_user(user, ws.rules),
                               now=_now())  # fmt: skip
    click.echo(cid)


@campaign.command("clue-set")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.argument("clue_id")
@click.option("--status", type=click.Choice(["待核查", "已核查备案", "不属实", "已入账", "已整改"]))
@click.option("--problem", help="The ledger problem the clue was filed as (status 已入账).")
@click.option("--filed", type=DATE)
@click.option("--filed-by")
@click.option("--result", type=click.Choice(["属实", "不属实"]))
@click.option("--user")
def clue_set_cmd(workspace, clue_id, status, problem, filed, filed_by, result, user):  # type: ignore[no-untyped-def]
    """Change a clue (核查备案, 已入账 with --problem, 已整改)."""
    from parcelwatch.ledger.workspace import open_workspace

    with open_workspace(workspace) as ws:
        _cb(ws).set_clue(clue_id, status=status, problem_id=problem, filed_on=filed, filed_by=filed_by,
                         result=result, user=_user(user, ws.rules), now=_now())  # fmt: skip
    click.echo(f"{clue_id}: changed")


@campaign.command("recheck")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.argument("problem_id")
@click.option("--on", "on_date", required=True, type=DATE)
@click.option("--by", "by_", required=True)
@click.option(
    "--result",
    required=True,
    type=click.Choice(["整改到位", "整改不到位", "反弹回潮", "未复垦复耕"]),
)
@click.option("--user")
def recheck_cmd(workspace, problem_id, on_date, by_, result, user):  # type: ignore[no-untyped-def]
    """Record a recheck visit of an original problem (反弹回潮 reopens a closed problem)."""
    from parcelwatch.ledger.workspace import open_workspace

    with open_workspace(workspace) as ws:
        rid = _cb(ws).recheck(
            problem_id, on=on_date, by=by_, result=result, user=_user(user, ws.rules), now=_now()
        )
        status = ws.store.get(problem_id).status.value
    click.echo(f"{rid}: {problem_id} {result}（台账状态 {status}）")


@campaign.command("greenhouses")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.option("--village", required=True)
@click.option("--target", type=int, help="应排查: the village's greenhouses.")
@click.option("--checked", type=int, help="Greenhouses visited on --on.")
@click.option("--on", "on_date", required=True, type=DATE)
@click.option("--user")
def greenhouses_cmd(workspace, village, target, checked, on_date, user):  # type: ignore[no-untyped-def]
    """Greenhouse counts of a village (until the greenhouse registry exists)."""
    from parcelwatch.ledger.workspace import open_workspace

    with open_workspace(workspace) as ws:
        cb = _cb(ws)
        for kind, n in (("应排查", target), ("排查", checked)):
            if n is not None:
                cb.greenhouses(
                    village=village,
                    kind=kind,
                    on=on_date,
                    count=n,
                    user=_user(user, ws.rules),
                    now=_now(),
                )
    click.echo(f"{village}: recorded")


@campaign.command("submit")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.option("--village", required=True)
@click.option("--on", "on_date", required=True, type=DATE)
@click.option("--secretary", help="村支书 who signed.")
@click.option("--director", help="村主任 who signed.")
@click.option("--user")
def submit_cmd(workspace, village, on_date, secretary, director, user):  # type: ignore[no-untyped-def]
    """A village's self-check submission with the 村两委 sign-offs (双签字)."""
    from parcelwatch.ledger.workspace import open_workspace
    from parcelwatch.reports.reportlog import ReportLog

    with open_workspace(workspace) as ws:
        cid = _cb(ws).campaign()["campaign_id"]
        log = ReportLog(ws.store)
        for role, name in (("村支书", secretary), ("村主任", director)):
            if name:
                log.sign(object_kind="campaign_submission", object_id=f"{cid}:{village}", role=role, name=name,
                         signed_on=on_date, user=_user(user, ws.rules), now=_now())  # fmt: skip
    click.echo(f"{village}: {'双签字' if secretary and director else '单签字'} {on_date}")


@campaign.command("due")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.option("--today", type=DATE)
def due_cmd(workspace: str, today: date | None) -> None:
    """Next report due and the reports overdue (due, not written)."""
    from parcelwatch.ledger.workspace import open_workspace
    from parcelwatch.reports.campaign import due_status

    with open_workspace(workspace) as ws:
        nxt, overdue = due_status(ws.store, today or _now().date())
    click.echo(
        f"下一期：第{nxt[0]}期 {nxt[1].isoformat()}" if nxt else "下一期：无（专项行动已结束）"
    )
    click.echo(
        "逾期未报：" + ("、".join(f"第{k}期（{d.isoformat()}）" for k, d in overdue) or "无")
    )


@campaign.command("report")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.option("--date", "report_date", required=True, type=DATE)
@out_file()
@click.option("--user")
def report_cmd(workspace: str, report_date: date, out_path: str, user: str | None) -> None:
    """Write the progress report of that due date and log it (report_log kind 回头看进展)."""
    from parcelwatch.ledger.workspace import open_workspace
    from parcelwatch.reports.campaign import write_campaign_report

    with open_workspace(workspace) as ws:
        path, n, rid = write_campaign_report(
            ws.store, report_date, out_path, user=_user(user, ws.rules), now=_now()
        )
    click.echo(f"Written: {path}（第{n}期，{rid}）")
