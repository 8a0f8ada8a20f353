"""``parcelwatch acceptance``: the 100-point self-score (score, form)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import click

__all__ = ["acceptance"]


def _today() -> date:
    return datetime.now(timezone.utc).astimezone().date()


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
