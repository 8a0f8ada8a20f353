"""``parcelwatch imagery WS --before B.tif --after A.tif``: imagery evidence (影像佐证)."""

from __future__ import annotations

import click


@click.command("imagery")
@click.argument("ws", type=click.Path(file_okay=False, exists=True))
@click.option(
    "--before",
    "before",
    required=True,
    type=click.Path(dir_okay=False),
    help="Before image (GeoTIFF, COG or plain; any CRS).",
)
@click.option(
    "--after",
    "after",
    required=True,
    type=click.Path(dir_okay=False),
    help="After image (GeoTIFF; same bands as --before).",
)
@click.option(
    "--bands",
    default=None,
    help="Band numbers, e.g. red=3,green=2,blue=1,nir=4 (default: B,G,R,NIR for 4+ bands; RGB without NIR for 3).",
)
@click.option(
    "--problem",
    "problems",
    multiple=True,
    help="Only these problem ids (repeatable; default: all).",
)
@click.option("--no-evidence", is_flag=True, help="Do not write the printable evidence sheets.")
@click.option(
    "--record-notes",
    is_flag=True,
    help="Also write each hint into the problem's 备注 in the ledger (no status change).",
)
@click.option(
    "--user",
    help="Who runs it (recorded with --record-notes; default: [ledger] default_user, else the OS user).",
)
@click.option(
    "--dates",
    default="",
    help="Image dates BEFORE,AFTER (YYYY-MM-DD) printed on the evidence sheets.",
)
def imagery_cmd(
    ws: str,
    before: str,
    after: str,
    bands: str | None,
    problems: tuple[str, ...],
    no_evidence: bool,
    record_notes: bool,
    user: str | None,
    dates: str,
) -> None:
    """Chips, statistics, hints and evidence sheets of every problem from a before/after image pair.

    Writes WS/imagery/stats.csv, run.json, chips/*.png and evidence/*.html.
    """
    from parcelwatch.cli.ledger import _now, _user
    from parcelwatch.cli.options import reporter
    from parcelwatch.ledger import open_workspace
    from parcelwatch.pipeline import analyse_imagery

    parts = [d.strip() for d in dates.split(",")] if dates else []
    image_dates = (parts + ["", ""])[:2]
    rep = reporter("影像分析")
    with open_workspace(ws) as w, rep.stages(["读取台账", "影像统计", "影像切片", "提示与佐证单"]):
        who = _user(user, w.rules) if record_notes else (user or "")
        result = analyse_imagery(
            w,
            before,
            after,
            bands=bands,
            now=_now(),
            user=who,
            write_evidence=not no_evidence,
            record_notes=record_notes,
            problem_ids=list(problems) or None,
            image_dates=(image_dates[0], image_dates[1]),
            progress=rep.progress("影像统计"),
            on_stage=rep.on_stage,
        )
    for line in result.lines():
        click.echo(line)
    for f in result.files:
        click.echo(f"Written: {f}")
    if result.evidence:
        click.echo(
            f"Written: {len(result.evidence)} evidence sheet(s) in {next(iter(result.evidence.values())).parent}"
        )
