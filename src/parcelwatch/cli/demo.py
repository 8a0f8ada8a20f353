"""``parcelwatch demo``: run everything that exists on the bundled sample county."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("demo")
@click.argument("samples_dir", type=click.Path(file_okay=False), default="data/samples")
@click.option(
    "-o",
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default="demo-output",
    show_default=True,
    help="Folder for the outputs.",
)
def demo(samples_dir: str, out_dir: str) -> None:
    """Load, validate and report on the sample county (default: data/samples)."""
    from parcelwatch.pipeline.demo import run_demo

    result = run_demo(Path(samples_dir), Path(out_dir))
    for line in result.summary:
        click.echo(line)
    if result.warnings:
        click.echo("")
        click.echo("Data-quality warnings (the data were loaded; have a look):")
        for w in result.warnings:
            click.echo(f"  - {w}")
    click.echo("")
    click.echo("Outputs:")
    for name, path in result.outputs.items():
        click.echo(f"  {name}: {path.resolve()}")
