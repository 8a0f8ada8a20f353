"""Threaded containment tests never share one prepared container between two threads.

GEOS builds a prepared geometry's indexes lazily on first use, so two threads testing pairs
against the same prepared township at once crashed the whole process (SIGSEGV in
``shapely.covers``, seen in the province benchmark's whole-province run). ``_parallel(...,
owner=...)`` keeps every pair of one container on one thread.
"""

from __future__ import annotations

import threading

import numpy as np
import shapely

from parcelwatch.rules import overlay


def test_pairs_of_one_container_stay_on_one_thread(monkeypatch):
    """3 containers x 10 pairs each, interleaved, chunks of 4 on 2 threads: every call sees each
    container key in at most one call, and the results equal the unthreaded call (pairs inside
    the box are covered: the 15 even-numbered points; the odd ones lie outside)."""
    monkeypatch.setattr(overlay, "_CHUNK", 4)
    monkeypatch.setattr(overlay, "_MIN_SPLIT", 4)
    monkeypatch.setattr(overlay, "THREADS", 2)
    boxes = [shapely.box(0, 0, 10, 10), shapely.box(20, 0, 30, 10), shapely.box(40, 0, 50, 10)]
    owner = np.array([i % 3 for i in range(30)])
    containers = np.array([boxes[k] for k in owner], dtype=object)
    pts = np.array(
        [shapely.Point(20 * (i % 3) + (5 if i % 2 == 0 else 15), 5) for i in range(30)],
        dtype=object,
    )
    seen: list[tuple[int, set[int]]] = []

    def covers(a, b):
        seen.append((threading.get_ident(), {boxes.index(g) for g in a}))
        return shapely.covers(a, b)

    shapely.prepare(np.array(boxes, dtype=object))
    got = overlay._parallel(covers, containers, pts, owner=owner)
    assert list(got) == list(shapely.covers(containers, pts))
    assert int(got.sum()) == 15
    assert len(seen) >= 2
    keys_per_call = [k for _, k in seen]
    for i, a in enumerate(keys_per_call):
        for b in keys_per_call[i + 1 :]:
            assert not (a & b), f"container keys {a & b} were tested on two threads"
