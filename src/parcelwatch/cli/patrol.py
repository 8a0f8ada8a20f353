"""``parcelwatch patrol ...``: town patrol records and monthly village scoring (seed 004, §B.4).

Thin shells over :mod:`parcelwatch.patrol`. Times without an offset are Asia/Shanghai local time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from parcelwatch.atomic import write_text_atomic
from parcelwatch.cli.ledger import DATE, _now, _table, _user
from parcelwatch.errors import ConfigError, LedgerError

LOCAL = "Asia/Shanghai"


class _DateTimeType(click.ParamType):
    name = "DATETIME"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        from parcelwatch.patrol.scoring import LOCAL_TZ

        text = str(value).strip().replace("/", "-").replace(" ", "T")
        try:
            t = datetime.fromisoformat(text)
        except ValueError:
            self.fail(
                f"{value!r} is not a date-time; write it as 2026-04-02T15:30 (local time) or 2026-04-02",
                param,
                ctx,
            )
        return t if t.tzinfo is not None else t.replace(tzinfo=LOCAL_TZ)


DATETIME = _DateTimeType()


@contextmanager
def _opened(ws: str) -> Iterator[tuple[Any, Any, Any]]:
    from parcelwatch.ledger.workspace import open_workspace
    from parcelwatch.patrol import scores as _scores  # noqa: F401  (registers patrol_scores)
    from parcelwatch.patrol.records import PatrolBook
    from parcelwatch.patrol.scheme import PATROL_FILE, load_scheme

    w = open_workspace(ws)
    try:
        scheme = load_scheme(w.path / PATROL_FILE)
        yield w, scheme, PatrolBook(w.store)  # type: ignore[arg-type]  # every LedgerStore is a SqlStore
    finally:
        w.close()


def _notes(notes: list[str]) -> None:
    for n in notes:
        click.echo(f"WARNING: {n}", err=True)


def _fmt(v: Any) -> str:
    from parcelwatch.patrol.scoring import display

    return f"{display(v)}"


@click.group("patrol")
def patrol() -> None:
    """Town patrol (大巡查): reports, findings, complaints, verification, monthly scores, bulletin."""


@patrol.command("init")
@click.argument("ws", type=click.Path(file_okay=False))
@click.option(
    "--scheme",
    "name",
    default="太平镇大巡查",
    show_default=True,
    help="Scheme name (title of the bulletin).",
)
@click.option("--force", is_flag=True, help="Overwrite an existing patrol.toml.")
def init_cmd(ws: str, name: str, force: bool) -> None:
    """Write WS/patrol.toml: the seed's scheme, groups and catalogue (fill in the item points)."""
    from parcelwatch.patrol.scheme import PATROL_FILE, template_toml

    path = Path(ws) / PATROL_FILE
    if not Path(ws).is_dir():
        raise LedgerError(
            f"{ws} is not a workspace folder. Create it with `parcelwatch init {ws}` first."
        )
    if path.exists() and not force:
        raise LedgerError(
            f"{path} already exists. Edit it, or pass --force to overwrite it with the template."
        )
    write_text_atomic(path, template_toml(name=name))
    click.echo(
        f"{path} written. Fill in `points` for every catalogue item (附件2), then run `parcelwatch patrol config check {ws}`."
    )


@patrol.group("config")
def config_group() -> None:
    """The patrol scheme file (patrol.toml)."""


@config_group.command("check")
@click.argument("ws", type=click.Path(file_okay=False))
def config_check(ws: str) -> None:
    """Validate WS/patrol.toml and list the catalogue items without points."""
    from parcelwatch.patrol.scheme import PATROL_FILE, items_without_points, load_scheme

    scheme = load_scheme(Path(ws) / PATROL_FILE)
    missing = items_without_points(scheme)
    click.echo(
        f"{scheme.name}: {len(scheme.groups)} 个巡查督查组，{len(scheme.villages)} 个村(居)，{len(scheme.catalogue)} 个目录事项。"
    )
    if missing:
        click.echo(f"{len(missing)} 个目录事项未填写对应分值（附件2），计分时用到会被拒绝：")
        for i in missing:
            click.echo(f"  {i.code} {i.name} ({i.dept})")
    else:
        click.echo("所有目录事项已填写对应分值。")


_USER = click.option(
    "--user",
    default=None,
    help="Who enters this (default: [ledger] default_user, else the OS user).",
)
_PLACE = [
    click.option("--place", default="", help="地点."),
    click.option("--content", default="", help="事项内容."),
    click.option(
        "--photo",
        "photos",
        multiple=True,
        type=click.Path(dir_okay=False),
        help="Photo (repeat); EXIF time/GPS read with Pillow.",
    ),
    click.option(
        "--lon",
        type=float,
        default=None,
        help="Longitude (EPSG:4490); default: the first photo's EXIF GPS.",
    ),
    click.option("--lat", type=float, default=None, help="Latitude (EPSG:4490)."),
    click.option(
        "--gcj02",
        is_flag=True,
        help="Positions (photo GPS and --lon/--lat) are GCJ-02 (高德); remove the offset.",
    ),
]


def _place_opts(f: Any) -> Any:
    for opt in reversed(_PLACE):
        f = opt(f)
    return f


@patrol.command("report")
@click.argument("ws", type=click.Path(file_okay=False))
@click.option("--village", required=True, help="村(居), e.g. 马塘 or 马塘村.")
@click.option("--item", default="", help="Catalogue code (e.g. ZR-02); leave out for 目录外.")
@click.option("--occurred", type=DATE, required=True, help="发生时间 (date).")
@click.option(
    "--reported",
    type=DATETIME,
    required=True,
    help="When the village reported it to the lead department.",
)
@click.option("--by", default="", help="村巡查员.")
@_place_opts
@_USER
def report_cmd(ws: str, village: str, item: str, occurred: date, reported: datetime, place: str, content: str,
               photos: tuple[str, ...], lon: float | None, lat: float | None, gcj02: bool, by: str, user: str | None) -> None:  # fmt: skip
    """A village's own report (村上报, R1)."""
    from parcelwatch.patrol import findings as F

    with _opened(ws) as (w, scheme, book):
        fid, notes = F.report(book, scheme, village=village, item=item, occurred=occurred, reported_at=reported,
                              place=place, content=content, photos=photos, by=by, lon=lon, lat=lat,
                              user=_user(user, w.rules), now=_now(), base=w.path, gcj02=gcj02)  # fmt: skip
        f = book.get("patrol_findings", fid)
    item_name = scheme.item(item).name if item else "目录外"
    pos = "，位置取自照片 EXIF" if "位置取自照片 EXIF" in notes else ""
    click.echo(
        f"{fid} {f['village']} {item_name} 待核实（村上报 {reported.strftime('%Y-%m-%d %H:%M')}，照片 {len(f['photos'])} 张{pos}）"
    )
    _notes([n for n in notes if n != "位置取自照片 EXIF"])


@patrol.command("find")
@click.argument("ws", type=click.Path(file_okay=False))
@click.option(
    "--from-complaint", "complaint", default="", help="Make the finding from a complaint (R4)."
)
@click.option("--village", default="", help="村(居).")
@click.option("--item", default="", help="Catalogue code; leave out for 目录外.")
@click.option(
    "--finder", default="", help="town_group, town_dept, district, city, province, central."
)
@click.option("--finder-name", default="", help="e.g. 第三巡查督查组, 区自然资源局.")
@click.option("--found", type=DATETIME, default=None, help="When the finder found it.")
@click.option("--occurred", type=DATE, default=None, help="发生时间, if known.")
@_place_opts
@_USER
def find_cmd(ws: str, complaint: str, village: str, item: str, finder: str, finder_name: str, found: datetime | None,
             occurred: date | None, place: str, content: str, photos: tuple[str, ...], lon: float | None,
             lat: float | None, gcj02: bool, user: str | None) -> None:  # fmt: skip
    """A finding by a town group or department, a higher level, or from a complaint (R2-R5)."""
    from parcelwatch.patrol import findings as F

    with _opened(ws) as (w, scheme, book):
        who = _user(user, w.rules)
        if complaint:
            fid = F.find_from_complaint(book, scheme, complaint, user=who, now=_now())
            notes: list[str] = []
        else:
            missing = [
                n
                for n, v in (("--village", village), ("--finder", finder), ("--found", found))
                if not v
            ]
            if missing:
                raise click.UsageError(f"Give {', '.join(missing)} (or --from-complaint ID).")
            assert found is not None
            fid, notes = F.find(book, scheme, village=village, item=item, finder_kind=finder, finder_name=finder_name,
                                found_at=found, occurred=occurred, place=place, content=content, photos=photos,
                                lon=lon, lat=lat, user=who, now=_now(), base=w.path, gcj02=gcj02)  # fmt: skip
        f = book.get("patrol_findings", fid)
    click.echo(
        f"{fid} {f['village']} {f['item_code'] or '目录外'} 发现方 {f['finder_name']} 待核实"
    )
    _notes(notes)


@patrol.command("verify")
@click.argument("ws", type=click.Path(file_okay=False))
@click.argument("finding_id")
@click.option("--result", type=click.Choice(["属实", "不属实", "待核实"]), required=True)
@click.option(
    "--by", "dept", required=True, help="Verifying department (the item's lead department)."
)
@click.option(
    "--at", "at", type=DATETIME, default=None, help="When it was verified (default: now)."
)
@click.option("--same-as", default="", help="Another finding of the same real-world issue.")
@click.option(
    "--override", is_flag=True, help="Allow a department other than the lead one (logged)."
)
@click.option("--note", default="")
@_USER
def verify_cmd(ws: str, finding_id: str, result: str, dept: str, at: datetime | None, same_as: str,
               override: bool, note: str, user: str | None) -> None:  # fmt: skip
    """核实认定; prints "same as" candidates (never links them by itself)."""
    from parcelwatch.patrol import findings as F

    with _opened(ws) as (w, scheme, book):
        now = _now()
        notes = F.verify(book, scheme, finding_id, result=result, by=dept, at=at or now, same_as=same_as,
                         override=override, note=note, user=_user(user, w.rules), now=now)  # fmt: skip
        cands = [] if same_as else F.same_as_candidates(book, scheme, finding_id)
    click.echo(
        f"{finding_id}: {result}（{dept}）" + (f"，与 {same_as} 为同一问题" if same_as else "")
    )
    for c in cands:
        click.echo(
            f"  可能为同一问题: {c['finding_id']} {c['finder_name']} {(c.get('reported_at') or c['found_at'])[:16]}  (--same-as {c['finding_id']})"
        )
    _notes(notes)


@patrol.group("complaint")
def complaint_group() -> None:
    """Complaints (举报电话, 12345, 信访, 市长信箱, 舆情)."""


@complaint_group.command("add")
@click.argument("ws", type=click.Path(file_okay=False))
@click.option(
    "--channel",
    required=True,
    help="举报电话, 12345, 镇信访, 区信访, 市信访, 省信访, 市长信箱, 舆情.",
)
@click.option("--received", type=DATETIME, required=True, help="投诉之日 (date-time).")
@click.option("--village", required=True)
@click.option("--item", default="", help="Catalogue code, if the matter is in the catalogue.")
@click.option("--content", default="")
@click.option("--ref", default="", help="工单号.")
@click.option("--major-impact", is_flag=True)
@_USER
def complaint_add(ws: str, channel: str, received: datetime, village: str, item: str, content: str, ref: str,
                  major_impact: bool, user: str | None) -> None:  # fmt: skip
    """Record a complaint (待核实)."""
    from parcelwatch.patrol import findings as F

    with _opened(ws) as (w, scheme, book):
        cid = F.add_complaint(book, scheme, channel=channel, received_at=received, village=village, content=content,
                              item=item, ref=ref, major_impact=major_impact, user=_user(user, w.rules), now=_now())  # fmt: skip
    click.echo(f"{cid} {channel} 待核实")


@complaint_group.command("verify")
@click.argument("ws", type=click.Path(file_okay=False))
@click.argument("complaint_id")
@click.option("--result", type=click.Choice(["属实", "不属实", "待核实"]), required=True)
@click.option("--by", "dept", required=True, help="Verifying department.")
@click.option(
    "--at", "at", type=DATETIME, default=None, help="When it was verified (default: now)."
)
@_USER
def complaint_verify(
    ws: str, complaint_id: str, result: str, dept: str, at: datetime | None, user: str | None
) -> None:
    """Verify a complaint (its finding, if any, gets the same result)."""
    from parcelwatch.patrol import findings as F

    with _opened(ws) as (w, _scheme, book):
        now = _now()
        F.verify_complaint(
            book, complaint_id, result, by=dept, at=at or now, user=_user(user, w.rules), now=now
        )
    click.echo(f"{complaint_id}: {result}")


@complaint_group.command("link")
@click.argument("ws", type=click.Path(file_okay=False))
@click.argument("complaint_id")
@click.option("--problem", "problem_id", default="", help="Land-ledger problem id.")
@click.option("--case", "case_id", default="", help="两违 case id (LW-…).")
@_USER
def complaint_link(
    ws: str, complaint_id: str, problem_id: str, case_id: str, user: str | None
) -> None:
    """Link a complaint to a ledger problem and/or a 两违 case."""
    from parcelwatch.patrol import findings as F
    from parcelwatch.violations import records as _violations  # noqa: F401  (registers the tables)

    with _opened(ws) as (w, _scheme, book):
        if problem_id:
            w.store.get(problem_id)  # a clear error when there is no such problem
        F.link_complaint(book, complaint_id, problem_id=problem_id, case_id=case_id,
                         user=_user(user, w.rules), now=_now())  # fmt: skip
    click.echo(f"{complaint_id} -> " + "，".join(x for x in (problem_id, case_id) if x))


@complaint_group.command("resolve")
@click.argument("ws", type=click.Path(file_okay=False))
@click.argument("complaint_id")
@click.option("--on", "on", type=DATE, default=None, help="办结日期 (default: today).")
@_USER
def complaint_resolve(ws: str, complaint_id: str, on: date | None, user: str | None) -> None:
    """Mark a verified complaint resolved (办结)."""
    from parcelwatch.patrol import findings as F

    with _opened(ws) as (w, _scheme, book):
        now = _now()
        F.resolve_complaint(
            book, complaint_id, on=on or now.date(), user=_user(user, w.rules), now=now
        )
    click.echo(f"{complaint_id}: 已办结（{(on or now.date()).isoformat()}）")


@patrol.command("visit")
@click.argument("ws", type=click.Path(file_okay=False))
@click.option(
    "--group", "group_id", default="", help="Patrol group id (G1..G4); else --by-village."
)
@click.option("--by-village", is_flag=True, help="A village's own patrol.")
@click.option("--village", required=True)
@click.option("--start", type=DATETIME, required=True)
@click.option("--end", type=DATETIME, required=True)
@click.option("--people", default="", help="Comma-separated names.")
@click.option(
    "--route", type=click.Path(dir_okay=False, exists=True), default=None, help="GPX track."
)
@click.option("--items", default="", help="Catalogue codes checked, comma-separated.")
@click.option("--note", default="")
@_USER
def visit_cmd(ws: str, group_id: str, by_village: bool, village: str, start: datetime, end: datetime, people: str,
              route: str | None, items: str, note: str, user: str | None) -> None:  # fmt: skip
    """Record a patrol visit (巡查记录台账) with an optional GPX route."""
    from parcelwatch.patrol import findings as F

    with _opened(ws) as (w, scheme, book):
        if group_id:
            g = next((g for g in scheme.groups if g.id == group_id), None)
            if g is None:
                raise ConfigError(
                    f"No patrol group {group_id!r} in patrol.toml ({', '.join(x.id for x in scheme.groups)})."
                )
            kind, unit = "group", g.name
        elif by_village:
            kind, unit = "village", village
        else:
            raise click.UsageError("Give --group ID or --by-village.")
        vid = F.add_visit(book, scheme, by_kind=kind, by_unit=unit, village=village, start=start, end=end,
                          people=[p.strip() for p in people.split(",") if p.strip()], route=route,
                          items_checked=[i.strip() for i in items.split(",") if i.strip()], notes=note,
                          user=_user(user, w.rules), now=_now())  # fmt: skip
    click.echo(f"{vid} {unit} {village} {start.strftime('%Y-%m-%d %H:%M')}-{end.strftime('%H:%M')}")


@patrol.command("score")
@click.argument("ws", type=click.Path(file_okay=False))
@click.option("--month", default=None, help="YYYY-MM.")
@click.option("--quarter", default=None, help="e.g. 2026Q2.")
@click.option(
    "--commit",
    is_flag=True,
    help="Store the month's scores as records (audited; re-commit overwrites changed villages).",
)
@click.option(
    "--committed-only",
    is_flag=True,
    help="Quarter: refuse unless all three months are committed.",
)
@_USER
def score_cmd(ws: str, month: str | None, quarter: str | None, commit: bool, committed_only: bool,
              user: str | None) -> None:  # fmt: skip
    """The month's village scores (R1-R6), or the quarter's averages and grades (R7, R8) from
    the committed months (a month not committed is computed from the current records)."""
    from parcelwatch.patrol import findings as F
    from parcelwatch.patrol.bulletin import due_dates
    from parcelwatch.patrol.scheme import PATROL_FILE
    from parcelwatch.patrol.scores import commit_month, quarter_from_committed, scheme_digest

    if bool(month) == bool(quarter):
        raise click.UsageError("Give one of --month YYYY-MM or --quarter 2026Q2.")
    if commit and not month:
        raise click.UsageError("--commit stores one month: give --month YYYY-MM.")
    with _opened(ws) as (w, scheme, book):
        if month:
            _check_month(month)
            res = F.score_month(book, scheme, month)
            y, m = month.split("-")
            click.echo(
                f"{y}年{int(m)}月 村(居)巡查考评（基础分{_fmt(scheme.base)}，上限{_fmt(scheme.cap)}；目录分值见 patrol.toml）"
            )
            rows = [
                [v.rank, v.village, _fmt(v.bonus), _fmt(v.deduction_town), _fmt(v.deduction_district),
                 _fmt(v.deduction_city), _fmt(v.deduction_province), _fmt(v.deduction_hotline_petition),
                 "是" if v.vetoed else "否", _fmt(v.score)]
                for v in sorted(res.villages, key=lambda v: (v.rank, scheme.villages.index(v.village) if v.village in scheme.villages else 999))
            ]  # fmt: skip
            for line in _table(
                [
                    "排名",
                    "村(居)",
                    "加分",
                    "扣分(镇)",
                    "扣分(区)",
                    "扣分(市)",
                    "扣分(省)",
                    "扣分(12345/信访)",
                    "一票否决",
                    "得分",
                ],
                rows,
            ):
                click.echo(line)
            dd, bd = due_dates(month, scheme)
            click.echo(
                f"待核实 {res.pending} 条（不计分）；目录外 {res.out_of_catalogue} 条（不计分）。部门考评报送期限 {dd}，通报期限 {bd}。"
            )
            if commit:
                cr = commit_month(book, res, digest=scheme_digest(w.path / PATROL_FILE),
                                  user=_user(user, w.rules), now=_now())  # fmt: skip
                click.echo(
                    f"已提交 {month} 得分：新增 {len(cr.created)} 条，更新 {len(cr.changed)} 条，未变 {cr.unchanged} 条"
                    + (f"（{cr.created[0]} … {cr.created[-1]}）" if cr.created else "")
                )
        else:
            assert quarter is not None
            _qs, live = F.score_quarter(book, scheme, quarter)
            qs, months, qnotes = quarter_from_committed(
                book, scheme, quarter, live, committed_only=committed_only
            )
            heads = [
                "排名",
                "村(居)",
                *[f"{int(m.month[5:])}月" for m in months],
                "季度平均",
                "等次",
                "奖励",
            ]
            rows = [[q.rank, q.village, *[_fmt(s) for s in q.scores], _fmt(q.average), q.grade, "是" if q.reward else "否"]
                    for q in sorted(qs, key=lambda q: q.rank)]  # fmt: skip
            click.echo(f"{quarter} 村(居)巡查季度考评（季度平均分 = 三个月得分之和 / 3）")
            for line in _table(heads, rows):
                click.echo(line)
            _notes(qnotes)


def _check_month(month: str) -> None:
    try:
        y, m = month.split("-")
        if len(y) != 4 or not 1 <= int(m) <= 12:
            raise ValueError
    except ValueError:
        raise click.UsageError(f"--month {month!r}: write it as 2026-04.") from None


@patrol.command("bulletin")
@click.argument("ws", type=click.Path(file_okay=False))
@click.option("--month", default=None)
@click.option("--quarter", default=None)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    default=None,
    help="Default: WS/outputs/巡查考评通报_….xlsx",
)
@_USER
def bulletin_cmd(ws: str, month: str | None, quarter: str | None, output: str | None, user: str | None) -> None:  # fmt: skip
    """Write the monthly (or quarterly) bulletin 巡查考评通报 as Excel and log it in the report
    log (报送记录, due on the scheme's bulletin day of the next month)."""
    from parcelwatch.patrol import findings as F
    from parcelwatch.patrol.bulletin import due_dates, write_month_bulletin, write_quarter_bulletin
    from parcelwatch.patrol.scoring import month_bounds, quarter_months
    from parcelwatch.reports.reportlog import ReportLog

    if bool(month) == bool(quarter):
        raise click.UsageError("Give one of --month YYYY-MM or --quarter 2026Q2.")
    with _opened(ws) as (w, scheme, book):
        if month:
            _check_month(month)
            res = F.score_month(book, scheme, month)
            out = (
                Path(output)
                if output
                else w.path / "outputs" / f"巡查考评通报_{month[:4]}年{month[5:]}月.xlsx"
            )
            out.parent.mkdir(parents=True, exist_ok=True)
            fs = {f["finding_id"]: f for f in book.all("patrol_findings")}
            write_month_bulletin(res, scheme, out, findings=fs)
            from parcelwatch.patrol.scores import month_notices

            _notes(month_notices(book, res))
        else:
            assert quarter is not None
            from parcelwatch.patrol.scores import quarter_from_committed

            _qs, live = F.score_quarter(book, scheme, quarter)
            qs, months, qnotes = quarter_from_committed(book, scheme, quarter, live)
            _notes(qnotes)
            year_q = {}
            for k in range(1, int(quarter[-1])):  # the year's earlier quarters, for 年度汇总
                qq = f"{quarter[:4]}Q{k}"
                year_q[qq] = quarter_from_committed(
                    book, scheme, qq, F.score_quarter(book, scheme, qq)[1]
                )[0]
            year_q[quarter] = qs
            out = Path(output) if output else w.path / "outputs" / f"巡查考评通报_{quarter}.xlsx"
            out.parent.mkdir(parents=True, exist_ok=True)
            write_quarter_bulletin(quarter, qs, months, scheme, out, year_quarters=year_q)
        ms = [month] if month else list(quarter_months(quarter or ""))
        first, last = month_bounds(ms[0])[0], month_bounds(ms[-1])[1]
        rid = ReportLog(w.store).log_written(
            kind="月度巡查考评通报" if month else "季度巡查考评通报", period_start=first, period_end=last,
            due=due_dates(ms[-1], scheme)[1], file=out, recipient="各村(居)", user=_user(user, w.rules), now=_now(),
        )  # fmt: skip
    click.echo(f"{out} written（报送记录 {rid}）.")


@patrol.command("list")
@click.argument("ws", type=click.Path(file_okay=False))
@click.option("--village", default="")
@click.option(
    "--kind",
    type=click.Choice(["findings", "complaints", "visits", "scores"]),
    default="findings",
    show_default=True,
)
def list_cmd(ws: str, village: str, kind: str) -> None:
    """List findings, complaints, visits or committed monthly scores."""
    entity = {"findings": "patrol_findings", "complaints": "complaints", "visits": "patrol_visits",
              "scores": "patrol_scores"}[kind]  # fmt: skip
    with _opened(ws) as (_w, scheme, book):
        recs = book.all(entity)
        if village:
            v = scheme.village_name(village) or village
            recs = [r for r in recs if r.get("village") == v]
    if kind == "findings":
        rows = [[r["finding_id"], r["village"], r["item_code"] or "目录外", r["finder_name"], (r.get("complaint_at") or r["found_at"] or "")[:16],
                 r["verified_result"], r.get("issue_id") or "", r.get("ledger_problem_id") or ""] for r in recs]  # fmt: skip
        heads = ["编号", "村(居)", "事项", "发现方", "发现时间", "核实结果", "同一问题", "台账问题"]
    elif kind == "complaints":
        rows = [[r["complaint_id"], r["channel"], r["village"], r["item_code"] or "", r["received_at"][:16], r["verified"],
                 r.get("finding_id") or "", r.get("problem_id") or r.get("case_id") or "",
                 r.get("resolved_on") or ("" if r.get("resolved") != "是" else "是")] for r in recs]  # fmt: skip
        heads = [
            "编号",
            "渠道",
            "村(居)",
            "事项",
            "投诉时间",
            "核实",
            "巡查发现",
            "问题/案件",
            "办结",
        ]
    elif kind == "scores":
        rows = [[r["month"], r["village"], _fmt(Decimal(r["score"])), r["vetoed"], r["rank"], r["computed_at"][:16],
                 r["version"]] for r in sorted(recs, key=lambda r: (r["month"], int(r["rank"]), r["village"]))]  # fmt: skip
        heads = ["月份", "村(居)", "得分", "一票否决", "排名", "提交时间", "版本"]
    else:
        rows = [[r["visit_id"], r["by_unit"], r["village"], r["started_at"][:16], r["ended_at"][:16], "是" if r.get("route_wkt") else "否"] for r in recs]  # fmt: skip
        heads = ["编号", "巡查单位", "村(居)", "开始", "结束", "轨迹"]
    for line in _table(heads, rows):
        click.echo(line)
    click.echo(f"{len(rows)} 条")


@patrol.command("history")
@click.argument("ws", type=click.Path(file_okay=False))
@click.argument("record_id")
def history_cmd(ws: str, record_id: str) -> None:
    """Every change of a patrol record (who, when, what)."""
    with _opened(ws) as (_w, _scheme, book):
        evs = book.audit(record_id=record_id)
    if not evs:
        raise LedgerError(
            f"No history for {record_id!r}. Check the id with `parcelwatch patrol list WS`."
        )
    for e in evs:
        ch = e["changes"]
        what = (
            "; ".join(f"{k}={v}" for k, v in ch.items() if v not in (None, "[]"))
            if e["kind"] == "create"
            else "; ".join(f"{k}: {v[0]} -> {v[1]}" for k, v in ch.items())
        )
        click.echo(f"{e['seq']:>3} {e['at']} {e['user']} ({e['os_user']}) {e['kind']}: {what}")


@patrol.group("patroller")
def patroller_group() -> None:
    """Registered village patrollers (不少于2名村(居)干部)."""


@patroller_group.command("add")
@click.argument("ws", type=click.Path(file_okay=False))
@click.option("--village", required=True)
@click.option("--name", required=True)
@click.option("--role", default="村巡查员", show_default=True)
@click.option("--phone", default="")
@click.option("--from", "valid_from", type=DATE, default=None, help="Serving from (date).")
@_USER
def patroller_add(
    ws: str,
    village: str,
    name: str,
    role: str,
    phone: str,
    valid_from: date | None,
    user: str | None,
) -> None:
    """Register a village patroller."""
    from parcelwatch.patrol.records import scheme_village

    with _opened(ws) as (w, scheme, book):
        v = scheme_village(scheme, village)
        (pid,) = book.insert_many(
            "patrol_people",
            [{"name": name, "village": v, "role": role, "phone": phone, "valid_from": valid_from}],
            prefix="P-",
            width=6,
            user=_user(user, w.rules),
            now=_now(),
        )
    click.echo(f"{pid} {v} {role} {name}")


@patrol.command("coverage")
@click.argument("ws", type=click.Path(file_okay=False))
@click.option("--month", required=True, help="YYYY-MM.")
@click.option(
    "--today",
    type=DATE,
    default=None,
    help="Reference date for overdue verification (default: today).",
)
def coverage_cmd(ws: str, month: str, today: date | None) -> None:
    """巡查不到位 / 台账不规范 / 资料不完善 per village (seed 004 六(六))."""
    from parcelwatch.patrol.coverage import PENDING_DAYS, coverage

    _check_month(month)
    with _opened(ws) as (_w, scheme, book):
        rows = coverage(
            book.all("patrol_findings"), book.all("patrol_visits"), book.all("patrol_people"), scheme, month,
            today=today or _now().date(),
        )  # fmt: skip
    table = [
        [c.village, f"{c.group_visits}/{c.min_group_visits}", f"{c.patrollers}/{c.min_patrollers}", c.village_reports,
         f"{c.photo_share * 100:.0f}%" if c.village_reports else "-", c.pending_overdue, "、".join(c.flags)]
        for c in rows
    ]  # fmt: skip
    heads = [
        "村(居)",
        "督查组巡查",
        "村巡查员",
        "村上报",
        "有照片",
        f"超{PENDING_DAYS}天未核实",
        "问题",
    ]
    for line in _table(heads, table):
        click.echo(line)


def _split_layer(spec: str) -> tuple[str, str | None]:
    p = Path(spec)
    if p.exists() or ":" not in spec[2:]:
        return spec, None
    path, _, layer = spec.rpartition(":")
    return path, layer or None


def _read_site(spec: str) -> Any:
    import pyogrio
    import shapely

    from parcelwatch.errors import GeometryError, InputError

    path, layer = _split_layer(spec)
    if not Path(path).exists():
        raise InputError(
            f"--geometry {path}: no such file. Give the site outline (GeoPackage, shapefile, GeoJSON)."
        )
    try:
        gdf = pyogrio.read_dataframe(path, layer=layer)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise InputError(f"Cannot read --geometry {spec}: {exc}.") from exc
    if gdf.crs is None:
        raise GeometryError(
            f"--geometry {spec} has no CRS. Save it with a CRS (EPSG:4490 or the county's GK zone)."
        )
    geoms = gdf.to_crs(4490).geometry.values
    if len(geoms) == 0:
        raise GeometryError(f"--geometry {spec} holds no feature.")
    return shapely.union_all(shapely.make_valid(geoms))


@patrol.command("promote")
@click.argument("ws", type=click.Path(file_okay=False))
@click.argument("finding_id")
@click.option(
    "--to",
    "target",
    type=click.Choice(["ledger", "violations"]),
    default="ledger",
    show_default=True,
)
@click.option(
    "--geometry",
    "geometry",
    default=None,
    help="Site outline FILE[:LAYER] (default: the finding's polygon).",
)
@click.option("--farmland", default=None, help="三调 land use FILE[:LAYER]: fills 耕地面积.")
@click.option("--pbf", default=None, help="永久基本农田 FILE[:LAYER]: fills 永久基本农田面积.")
@click.option("--township", default="", help="乡镇(街道) of the new problem.")
@_USER
def promote_cmd(ws: str, finding_id: str, target: str, geometry: str | None, farmland: str | None, pbf: str | None,
                township: str, user: str | None) -> None:  # fmt: skip
    """Put a verified finding into the land ledger (问题台账) or the 两违 ledger, linked both ways."""
    from parcelwatch.io.layers import load_layer
    from parcelwatch.patrol.promote import promote_to_ledger, promote_to_violations

    if target == "violations":
        from parcelwatch.cli.violations import _county
        from parcelwatch.cli.violations import _opened as _opened_violations

        with _opened_violations(ws) as (w, settings, book):
            cid = promote_to_violations(
                book,
                settings,
                finding_id,
                county_code=_county(w),
                user=_user(user, w.rules),
                now=_now(),
            )
        click.echo(f"{finding_id} -> {cid}: 待核实（两违，来源 巡查）")
        return
    with _opened(ws) as (w, scheme, book):
        site = _read_site(geometry) if geometry else None
        layers = {}
        for role, spec in (("farmland", farmland), ("pbf", pbf)):
            if spec:
                path, layer = _split_layer(spec)
                layers[role] = load_layer(path, role=role, layer=layer, rules=w.rules).frame
        pid = promote_to_ledger(
            w.store, book, scheme, finding_id, geometry=site, farmland=layers.get("farmland"), pbf=layers.get("pbf"),
            farmland_codes=tuple(w.rules.farmland.codes), township_name=township, user=_user(user, w.rules), now=_now(),
        )  # fmt: skip
        rec = w.store.get(pid)
    click.echo(f"{finding_id} -> {pid}: {rec.status.value}（来源 巡查，{rec.village_name}）")


@patrol.command("import")
@click.argument("ws", type=click.Path(file_okay=False))
@click.argument("xlsx", type=click.Path(dir_okay=False))
@click.option("--village", required=True, help="The village whose 巡查工作台账 this is.")
@click.option(
    "--photos",
    "photos_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder of the photos named in 佐证材料.",
)
@click.option("--partial", is_flag=True, help="Import the good rows even if some rows are bad.")
@click.option("--dry-run", is_flag=True, help="Check only; write nothing.")
@_USER
def import_cmd(
    ws: str,
    xlsx: str,
    village: str,
    photos_dir: str | None,
    partial: bool,
    dry_run: bool,
    user: str | None,
) -> None:
    """Import a village's patrol ledger (附件3), all or nothing."""
    from parcelwatch.patrol import findings as F
    from parcelwatch.patrol.ledger_xlsx import raise_problems, read_village_ledger

    with _opened(ws) as (w, scheme, book):
        plan = read_village_ledger(xlsx, scheme, photos_dir=photos_dir)
        if not partial:
            raise_problems(plan)
        for s in plan.skipped:
            click.echo(s)
        for p in plan.problems:
            click.echo(f"WARNING: {p} (not imported)", err=True)
        if dry_run:
            click.echo(f"{len(plan.rows)} 条可导入（--dry-run，未写入）")
            return
        ids = F.import_village_ledger(
            book, scheme, plan, village=village, user=_user(user, w.rules), now=_now(), base=w.path
        )
    click.echo(f"导入 {len(ids)} 条村上报（待核实）" + (f": {ids[0]} … {ids[-1]}" if ids else ""))


@patrol.command("integrity")
@click.argument("ws", type=click.Path(file_okay=False))
@click.option("--month", required=True)
def integrity_cmd(ws: str, month: str) -> None:
    """Checks for 纪检监察办: late village reports, photo time and place (seed 004 四(四))."""
    from parcelwatch.patrol.integrity import integrity

    _check_month(month)
    from parcelwatch.patrol.scores import committed_month

    with _opened(ws) as (_w, scheme, book):
        stamps = [
            r["computed_at"] for r in committed_month(book, month).values() if r.get("computed_at")
        ]
        rows = integrity(
            book.all("patrol_findings"), scheme, month, audit=book.audit("patrol_findings"),
            committed_at=max(stamps) if stamps else None,
        )  # fmt: skip
    for line in _table(["编号", "问题", "说明"], [list(r) for r in rows], max_width=80):
        click.echo(line)
    click.echo(f"{len(rows)} 条")


@patrol.command("doc")
@click.argument("ws", type=click.Path(file_okay=False))
@click.argument("finding_id")
@click.option("--type", "doc_type", required=True, help="e.g. 责令停止违法行为通知书.")
@click.option("--number", required=True, help="文号.")
@click.option("--issued", type=DATE, required=True)
@_USER
def doc_cmd(
    ws: str, finding_id: str, doc_type: str, number: str, issued: date, user: str | None
) -> None:
    """Record an enforcement document (执法文书) issued for a verified finding."""
    with _opened(ws) as (w, _scheme, book):
        f = book.get("patrol_findings", finding_id)
        if f.get("verified_result") != "属实":
            raise LedgerError(
                f"{finding_id} is {f.get('verified_result')}: 执法文书 are issued for findings verified 属实."
            )
        docs = [
            *f.get("enforcement_docs", []),
            {"type": doc_type, "number": number, "issued_on": issued.isoformat()},
        ]
        book.update(
            "patrol_findings",
            finding_id,
            {"enforcement_docs": docs},
            user=_user(user, w.rules),
            now=_now(),
            kind="doc",
        )
    click.echo(f"{finding_id}: {doc_type} {number}（{issued}）")


@patrol.command("match")
@click.argument("ws", type=click.Path(file_okay=False))
@click.option("--batch", required=True, help="A checked 卫片 batch, e.g. 2026年第2批.")
def match_cmd(ws: str, batch: str) -> None:
    """New problems of a batch that a village had reported before it was issued (no scoring effect)."""
    from parcelwatch.patrol.promote import match_batch

    with _opened(ws) as (w, scheme, book):
        rows = match_batch(w.store, book, scheme, batch)
    for line in _table(
        ["问题编号", "村上报", "距离(米)"], [[p, f, f"{d:.1f}"] for p, f, d in rows]
    ):
        click.echo(line)
    click.echo(f"{len(rows)} 处新问题此前已由村上报")


@patrol.command("ledger")
@click.argument("ws", type=click.Path(file_okay=False))
@click.option("--village", default="", help="附件3: the village's 巡查工作台账.")
@click.option("--dept", default="", help="附件4: the lead department's 登记备案工作台账.")
@click.option("--month", required=True, help="YYYY-MM.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    default=None,
    help="Default: WS/outputs/{村}巡查工作台账_….xlsx or {部门}登记备案工作台账_….xlsx",
)
def ledger_cmd(ws: str, village: str, dept: str, month: str, output: str | None) -> None:
    """Write a village's patrol ledger (附件3) or a department's registration ledger (附件4)."""
    from parcelwatch.patrol import ledger_forms as L
    from parcelwatch.patrol.records import entry_from_finding, scheme_village
    from parcelwatch.patrol.scoring import monthly, scoring_month

    if bool(village) == bool(dept):
        raise click.UsageError("Give one of --village NAME (附件3) or --dept NAME (附件4).")
    _check_month(month)
    tag = f"{month[:4]}年{month[5:]}月"
    with _opened(ws) as (w, scheme, book):
        findings = book.all("patrol_findings")
        if village:
            v = scheme_village(scheme, village)
            rows = L.village_ledger_rows(
                findings, book.all("patrol_visits"), scheme, village=v, month=month
            )
            out = Path(output) if output else w.path / "outputs" / f"{v}巡查工作台账_{tag}.xlsx"
            out.parent.mkdir(parents=True, exist_ok=True)
            L.write_village_ledger(rows, out, village=v, month=month)
        else:
            if dept not in scheme.depts:
                raise ConfigError(
                    f"--dept {dept!r} leads no catalogue item in patrol.toml; use one of {'、'.join(scheme.depts)}."
                )
            verifiers: dict[str, str] = {}
            for ev in book.audit("patrol_findings"):
                if ev["kind"] == "verify" and "verified_result" in ev["changes"]:
                    verifiers[ev["record_id"]] = ev["user"]
            entries = [entry_from_finding(f) for f in findings]
            lines = {}
            for m in sorted({scoring_month(e, scheme) for e in entries} - {""}):
                try:
                    res = monthly(entries, scheme, m)
                except ConfigError as exc:  # an item without points: 加(扣)分 left blank
                    click.echo(f"WARNING: {m} 未计分: {str(exc).splitlines()[0]}", err=True)
                    continue
                lines.update({ln.finding_id: ln for ln in res.lines})
            rows = L.dept_ledger_rows(
                findings, scheme, dept=dept, month=month, verifiers=verifiers, score_lines=lines
            )
            out = (
                Path(output)
                if output
                else w.path / "outputs" / f"{dept}登记备案工作台账_{tag}.xlsx"
            )
            out.parent.mkdir(parents=True, exist_ok=True)
            L.write_dept_ledger(rows, out, dept=dept, month=month)
    click.echo(f"{out} written ({len(rows)} 条).")


@patrol.command("base-register")
@click.argument("ws", type=click.Path(file_okay=False))
@click.option("--village", required=True, help="村(居), e.g. 马塘.")
@click.option(
    "-o",
    "--output",
    "folder",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder (default: WS/outputs/{村}底册/).",
)
@click.option(
    "--today", type=DATE, default=None, help="Date printed on the register (default: today)."
)
def base_register_cmd(ws: str, village: str, folder: str | None, today: date | None) -> None:
    """The village's base register (巡查台账底册): open problems, open 两违 cases and the catalogue,
    as Excel and KMZ."""
    from parcelwatch.patrol.base_register import (
        village_cases,
        village_problems,
        write_base_register,
    )
    from parcelwatch.patrol.records import scheme_village
    from parcelwatch.violations import records as _violations  # noqa: F401  (registers the tables)

    with _opened(ws) as (w, scheme, _book):
        from parcelwatch.patrol.records import RecordBook

        book = RecordBook(w.store)  # the 两违 tables exist once registered
        v = scheme_village(scheme, village)
        problems = village_problems(w.store.records(geometry=True), v, scheme)
        cases = village_cases(book.all("violation_cases"), v, scheme)
        out = Path(folder) if folder else w.path / "outputs" / f"{v}底册"
        xlsx, kmz = write_base_register(
            out,
            village=v,
            problems=problems,
            cases=cases,
            scheme=scheme,
            today=today or _now().date(),
        )
    click.echo(f"{xlsx} 和 {kmz} written（问题 {len(problems)} 个，两违案件 {len(cases)} 宗）.")
