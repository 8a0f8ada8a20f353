"""``parcelwatch rules defaults|check``."""

from __future__ import annotations

import click

from parcelwatch.config import defaults_toml, load_rules


@click.group()
def rules() -> None:
    """Rules file: thresholds, vocabularies and field aliases."""


@rules.command("defaults")
def defaults() -> None:
    """Print the commented default rules file."""
    click.echo(defaults_toml(), nl=False)


@rules.command("check")
@click.argument("path", type=click.Path(dir_okay=False))
def check(path: str) -> None:
    """Validate a rules file and print its digest."""
    r = load_rules(path)
    limit, note = r.caretaker_limit_m2()
    click.echo(f"{path}: valid (digest {r.digest()}); caretaker-room limit {limit} m² ({note})")
