"""``parcelwatch samples make DIR``: the synthetic sample county."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def samples() -> None:
    """Synthetic sample counties for demos, tests and benchmarks."""


@samples.command("make")
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option(
    "--scale", type=click.Choice(["small", "medium", "large"]), default="small", show_default=True
)
@click.option("--seed", type=int, default=0, show_default=True)
def make(out_dir: str, scale: str, seed: int) -> None:
    """Write a deterministic sample county into OUT_DIR."""
    from parcelwatch.cli.ledger import _echo_lines, _table
    from parcelwatch.cli.options import reporter
    from parcelwatch.samples import make_samples

    rep = reporter("生成样例县")
    with rep.stages(["生成县域要素", "写出文件"]):
        manifest = make_samples(Path(out_dir), scale=scale, seed=seed, on_stage=rep.on_stage)
    click.echo(
        f"Sample county ({scale}, seed {seed}) written to {out_dir} in {manifest.get('seconds', 0):.1f} s:"
    )
    files = [(key, str(value)) for key, value in manifest.items() if isinstance(value, Path)]
    _echo_lines(["  " + line for line in _table(["内容", "文件"], files, max_width=120)])
    counts = manifest.get("counts") or {}
    if counts:
        click.echo("Features:")
        _echo_lines(["  " + line for line in _table(["图层", "要素数"], list(counts.items()))])
