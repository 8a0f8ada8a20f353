"""The box grid that picks the reference features a batch touches, built once and queried many
times (a layer's row groups, then its rows; the roles sharing the same boxes)."""

from __future__ import annotations

import numpy as np

from parcelwatch.pipeline.reference import BoxGrid, _boxes_meet


def _boxes(rng: np.random.Generator, n: int, size: float) -> np.ndarray:
    xy = rng.uniform(0, 50_000, (n, 2))
    wh = rng.uniform(1, size, (n, 2))
    return np.column_stack([xy, xy + wh])


def test_grid_never_misses_a_meeting_box_and_is_reusable():
    """Against the exact box test: every target meeting a box is kept (no false "no"), and the
    few extra ones are within one cell (here 50 m: 50 km / 1000) of a box."""
    rng = np.random.default_rng(7)
    boxes = _boxes(rng, 2000, 80)
    grid = BoxGrid(boxes)
    for _ in range(3):  # the same grid for several target sets
        targets = _boxes(rng, 5000, 300)
        got = grid.meets(targets)
        exact = (
            (targets[:, None, 0] <= boxes[None, :, 2])
            & (targets[:, None, 2] >= boxes[None, :, 0])
            & (targets[:, None, 1] <= boxes[None, :, 3])
            & (targets[:, None, 3] >= boxes[None, :, 1])
        ).any(axis=1)
        assert (got | ~exact).all()
        cell = grid.cell
        grown = boxes + np.array([-2 * cell, -2 * cell, 2 * cell, 2 * cell])
        near = (
            (targets[:, None, 0] <= grown[None, :, 2])
            & (targets[:, None, 2] >= grown[None, :, 0])
            & (targets[:, None, 1] <= grown[None, :, 3])
            & (targets[:, None, 3] >= grown[None, :, 1])
        ).any(axis=1)
        assert not (got & ~near).any()
        assert (got == _boxes_meet(targets, boxes)).all()
        assert exact.sum() > 100 and (~exact).sum() > 100


def test_non_finite_targets_are_kept_and_no_boxes_keep_nothing_else():
    targets = np.array([[0, 0, 1, 1], [np.nan, 0, 1, 1]], dtype=float)
    assert BoxGrid(np.zeros((0, 4))).meets(targets).tolist() == [False, True]
    assert BoxGrid(np.array([[0.5, 0.5, 2, 2]])).meets(targets).tolist() == [True, True]
