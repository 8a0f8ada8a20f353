"""Synthetic sample counties: deterministic, realistic test data for parcelwatch.

>>> from parcelwatch.samples import make_samples
>>> manifest = make_samples("out", scale="small", seed=0)  # doctest: +SKIP

See :mod:`parcelwatch.samples.county` for the scales and ``data/samples/README.md`` for the files.
"""

from __future__ import annotations

from .county import SCALES, ScaleSpec, make_samples

__all__ = ["make_samples", "SCALES", "ScaleSpec"]
