"""``parcelwatch store ...`` (the shared ledger on PostgreSQL) and ``parcelwatch ledger verify``."""

from __future__ import annotations

from pathlib import Path

import click

from parcelwatch.errors import ConfigError

URL_HELP = "postgresql://HOST/DB or postgresql:///DB?service=NAME (passwords only in ~/.pgpass, a service file or PGPASSWORD)"


@click.command("verify")
@click.argument("workspace", type=click.Path(file_okay=False, exists=True))
@click.option(
    "--fast", is_flag=True, help="Only the quick checks run before every write, export and map."
)
def verify_cmd(workspace: str, fast: bool) -> None:
    """Check the ledger was not changed outside parcelwatch (exit 1 naming the problems).

    Checks the guard triggers and columns, the transition table, sequence gaps, orphan events,
    the hash chain over each problem's events and that replaying the events gives the stored rows.
    """
    from parcelwatch.ledger.verify import VerifyReport, quick_check, verify_store
    from parcelwatch.ledger.workspace import open_workspace

    with open_workspace(workspace) as ws:
        if fast:
            report = VerifyReport(ws.store.location, quick_check(ws.store))
        else:
            report = verify_store(ws.store)
    for line in report.lines():
        click.echo(line)
    if not report.ok:
        raise click.exceptions.Exit(1)


@click.group("store")
def store() -> None:
    """The shared ledger on the county's PostgreSQL/PostGIS server (set-up, users, copying)."""


@store.command("init")
@click.argument("url")
@click.option("--county-code", default="", help="6-digit county code (行政区划代码).")
@click.option("--county-name", default="", help="County name.")
def store_init_cmd(url: str, county_code: str, county_name: str) -> None:
    """Create or upgrade the ledger schema, roles and guards at URL (run as the DB administrator).

    Running it again changes nothing."""
    from parcelwatch.cli.options import now as clock_now
    from parcelwatch.ledger.pgstore import init_store

    now = clock_now().isoformat(timespec="seconds")
    click.echo(init_store(url, now_iso=now, county_code=county_code, county_name=county_name))


@store.group("users")
@click.argument("url")
@click.pass_context
def users(ctx: click.Context, url: str) -> None:
    """People who may use the shared ledger at URL: one login each, scoped to a township or the county.

    parcelwatch store users URL add NAME --township CODE | --county [--read-only];
    parcelwatch store users URL list
    """
    ctx.ensure_object(dict)
    ctx.obj["store_url"] = url


@users.command("add")
@click.argument("name")
@click.option("--township", default=None, help="The 9-digit township code the person works for.")
@click.option("--county", is_flag=True, help="The person works for the whole county (自然资源局).")
@click.option("--read-only", is_flag=True, help="May read but not change anything.")
@click.pass_context
def users_add_cmd(
    ctx: click.Context, name: str, township: str | None, county: bool, read_only: bool
) -> None:
    """Add login NAME (no password is set here: set it with psql's \\password)."""
    from parcelwatch.ledger.pgstore import add_user

    url = ctx.obj["store_url"]
    click.echo(add_user(url, name, township=township, county=county, read_only=read_only))


@users.command("list")
@click.pass_context
def users_list_cmd(ctx: click.Context) -> None:
    """List the logins and their scope."""
    from parcelwatch.ledger.pgstore import list_users

    url = ctx.obj["store_url"]
    for u in list_users(url):
        click.echo(f"{u['user']}\t{u['scope']}\t{'read-only' if u['read_only'] else 'read-write'}")


@store.command("copy")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.option(
    "--to",
    "to_url",
    default=None,
    help=f"Copy the workspace's ledger.gpkg to the server: {URL_HELP}.",
)
@click.option(
    "--from",
    "from_url",
    default=None,
    help="Copy the server's ledger into the workspace's ledger.gpkg (an offline copy).",
)
def store_copy_cmd(workspace: str, to_url: str | None, from_url: str | None) -> None:
    """Copy a ledger with ids, versions and the whole history; running it twice changes nothing."""
    from parcelwatch.cli.options import now as clock_now
    from parcelwatch.ledger.copy import copy_ledger
    from parcelwatch.ledger.pgstore import PgStore
    from parcelwatch.ledger.store import GpkgStore
    from parcelwatch.ledger.workspace import LEDGER_FILE

    if bool(to_url) == bool(from_url):
        raise ConfigError("Give exactly one of --to URL or --from URL.")
    gpkg_path = Path(workspace) / LEDGER_FILE
    src: GpkgStore | PgStore
    dst: GpkgStore | PgStore
    if to_url:
        src, dst = GpkgStore(gpkg_path), PgStore(to_url)
    else:
        src = PgStore(str(from_url))
        if not gpkg_path.exists():
            Path(workspace).mkdir(parents=True, exist_ok=True)
            code = src.meta().get("county_code", "")
            GpkgStore.create(gpkg_path, now=clock_now(), county_code=code).close()
        dst = GpkgStore(gpkg_path)
    try:
        result = copy_ledger(src, dst)
    finally:
        src.close()
        dst.close()
    click.echo(f"{src.location} -> {dst.location}: {result.line()}")
    if to_url and result.changed:
        click.echo(
            f'Use the server from this workspace: add [store] url = "{dst.location}" to its rules.toml, or `parcelwatch init NEWWS --store URL`.'
        )
