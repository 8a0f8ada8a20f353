"""``parcelwatch samples make DIR``: the synthetic sample county."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def samples() -> None:
    """Synthetic sample counties for demos, tests and benchmarks."""


@samples.command("make")
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--scale", type=click.Choice(["small", "medium", "large"]), default="small", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
def make(out_dir: str, scale: str, seed: int) -> None:
    """Write a deterministic sample county into OUT_DIR."""
    from parcelwatch.samples import make_samples

    manifest = make_samples(Path(out_dir), scale=scale, seed=seed)
    click.echo(f"Sample county ({scale}, seed {seed}) written to {out_dir}:")
    for key, value in manifest.items():
        click.echo(f"  {key}: {value}")
