"""A county task reads the reference layers by its features' boxes, not only by the county's
overall box (issue 16.5: less to decode, reproject and index per task; the results stay those of
the global overlay, see test_province.py)."""

from __future__ import annotations

import numpy as np
import shapely

from parcelwatch.province.store import ProvinceStore
from parcelwatch.province.task import _grow, _grow_boxes

from . import synth
from .conftest import Province


def test_read_extent_with_boxes_keeps_what_meets_them(province: Province) -> None:
    """Two small boxes at opposite corners of a 2 x 2-county square: every farmland patch meeting
    them is read, none farther than one grid cell (1/1000 of the extent) from them, and far fewer
    than with the square alone."""
    store = ProvinceStore(province.store)
    s = synth.SIZE
    square = (synth.LON0, synth.LAT0, synth.LON0 + 2 * s, synth.LAT0 + 2 * s)
    boxes = np.array(
        [
            [synth.LON0 + 0.001, synth.LAT0 + 0.001, synth.LON0 + 0.002, synth.LAT0 + 0.002],
            [square[2] - 0.002, square[3] - 0.002, square[2] - 0.001, square[3] - 0.001],
        ]
    )
    everything = store.read_extent("farmland", square)
    got = store.read_extent("farmland", square, boxes=boxes)
    g_all = np.asarray(everything.geometry.values, dtype=object)
    meets = np.zeros(len(g_all), dtype=bool)
    for b in boxes:
        meets |= shapely.intersects(shapely.envelope(g_all), shapely.box(*b))
    assert set(everything["patch_id"][meets]) <= set(got["patch_id"])
    assert 0 < len(got) < len(everything) / 4
    cell = max(1e-4, (boxes[:, 2].max() - boxes[:, 0].min()) / 1000)
    grown = [
        shapely.box(*(b + np.array([-2 * cell, -2 * cell, 2 * cell, 2 * cell]))) for b in boxes
    ]
    env = shapely.envelope(np.asarray(got.geometry.values, dtype=object))
    assert (shapely.intersects(env, grown[0]) | shapely.intersects(env, grown[1])).all()


def test_grow_boxes_is_grow_per_box() -> None:
    boxes = np.array([[117.0, 36.0, 117.01, 36.01], [117.2, -40.0, 117.3, -39.9]])
    got = _grow_boxes(boxes, 250.0)
    for b, g in zip(boxes, got, strict=True):
        assert np.allclose(g, _grow(b, 250.0))
