"""The ``parcelwatch`` command: a click group whose commands are thin shells over the library.

Errors parcelwatch raises on purpose are printed without a traceback (exit 1); usage errors exit
2; anything else is a bug (exit 3; ``-vv`` shows the traceback).
"""

from __future__ import annotations

import logging
import sys
import traceback
import warnings

import click

from parcelwatch import __version__
from parcelwatch.errors import DataQualityWarning, ParcelwatchError

__all__ = ["main", "cli"]


def _versions() -> str:
    import folium
    import geopandas
    import numpy
    import pandas
    import pyogrio
    import pyproj
    import rasterio
    import shapely

    rows = [
        ("parcelwatch", __version__),
        ("python", sys.version.split()[0]),
        ("GDAL (pyogrio)", pyogrio.__gdal_version_string__),
        ("GDAL (rasterio)", rasterio.__gdal_version__),
        ("PROJ", pyproj.proj_version_str),
        ("GEOS", shapely.geos_version_string),
        ("pyogrio", pyogrio.__version__),
        ("shapely", shapely.__version__),
        ("pyproj", pyproj.__version__),
        ("geopandas", geopandas.__version__),
        ("pandas", pandas.__version__),
        ("numpy", numpy.__version__),
        ("folium", folium.__version__),
        ("rasterio", rasterio.__version__),
    ]
    return "\n".join(f"{k:<16} {v}" for k, v in rows)


def _show_versions(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(_versions())
        ctx.exit(0)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="parcelwatch")
@click.option(
    "--show-versions",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_show_versions,
    help="Print the versions of GDAL, PROJ, GEOS and the Python libraries, then exit.",
)
@click.option(
    "-v", "--verbose", count=True, help="-v: progress messages; -vv: debug messages and tracebacks."
)
@click.pass_context
def cli(ctx: click.Context, verbose: int) -> None:
    """parcelwatch: satellite change parcels (卫片图斑), 大棚房 and farmland checks, ledger, maps."""
    ctx.ensure_object(dict)
    ctx.obj["verbose"] = verbose
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    # -v: our own messages and stage times; other libraries' (pyogrio, rasterio) only with -vv
    logging.basicConfig(
        level=logging.WARNING if verbose < 2 else logging.DEBUG, format="%(message)s"
    )
    logging.getLogger("parcelwatch").setLevel(level)


def _register() -> None:
    from parcelwatch.cli import acceptance as acceptance_module
    from parcelwatch.cli import (
        classify,
        demo,
        export,
        imagery,
        inspect,
        ledger,
        reference,
        rules,
        samples,
    )
    from parcelwatch.cli import map as map_module
    from parcelwatch.cli import patrol as patrol_module
    from parcelwatch.cli import province as province_module
    from parcelwatch.cli import store as store_module
    from parcelwatch.cli import violations as violations_module

    cli.add_command(inspect.inspect_cmd)
    cli.add_command(classify.classify_cmd)
    cli.add_command(map_module.map_cmd)
    cli.add_command(samples.samples)
    cli.add_command(rules.rules)
    cli.add_command(demo.demo)
    cli.add_command(ledger.init_cmd)
    cli.add_command(ledger.check_cmd)
    cli.add_command(ledger.ledger)
    ledger.ledger.add_command(store_module.verify_cmd)
    cli.add_command(store_module.store)
    cli.add_command(acceptance_module.acceptance)
    cli.add_command(acceptance_module.accountability)
    cli.add_command(acceptance_module.greenhouses)
    from parcelwatch.cli import inspection as inspection_module

    cli.add_command(inspection_module.inspection)
    cli.add_command(inspection_module.docs)
    from parcelwatch.cli import campaign as campaign_module
    from parcelwatch.cli import org as org_module

    for group in (
        org_module.org,
        org_module.reportlog,
        org_module.signoff,
        campaign_module.campaign,
    ):
        cli.add_command(group)
    cli.add_command(export.export_cmd)
    cli.add_command(imagery.imagery_cmd)
    cli.add_command(reference.reference)
    cli.add_command(province_module.province)
    cli.add_command(patrol_module.patrol)
    cli.add_command(violations_module.violations)


_register()


def _format_warning(message, category, filename, lineno, line=None):  # type: ignore[no-untyped-def]
    if issubclass(category, DataQualityWarning):
        return f"WARNING: {message}\n"
    return f"{category.__name__}: {message}\n"


def main(argv: list[str] | None = None) -> int:
    """Entry point: runs the click group and turns exceptions into exit codes."""
    warnings.formatwarning = _format_warning
    verbose = sum(
        a.count("v") for a in (argv or sys.argv[1:]) if a.startswith("-v") or a == "--verbose"
    )
    try:
        rv = cli.main(args=argv, prog_name="parcelwatch", standalone_mode=False)
    except ParcelwatchError as exc:
        click.echo(f"Error: {exc}", err=True)
        return 1
    except click.exceptions.Exit as exc:
        return int(exc.exit_code or 0)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 1
    except click.ClickException as exc:
        exc.show()
        return 2
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return 130
    except Exception as exc:  # anything not raised on purpose is a bug: say so, exit 3
        click.echo(
            f"parcelwatch hit an internal error ({type(exc).__name__}: a bug, not a problem with your data). Please report "
            "it with the command you ran"
            + ("" if verbose >= 2 else "; run again with -vv for the traceback")
            + ".",
            err=True,
        )
        if verbose >= 2:
            traceback.print_exc()
        return 3
    return rv if isinstance(rv, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
