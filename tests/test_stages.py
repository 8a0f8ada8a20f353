"""The pipeline's stages keep the objects older than them out of the garbage collector's walks."""

from __future__ import annotations

import gc

import pytest

from parcelwatch.pipeline.inputs import older_objects_frozen


def test_stages_freeze_what_is_older_and_the_outermost_gives_it_back():
    """Before: nothing frozen. In a stage: the objects that existed are frozen (the count is the
    number of objects that were tracked, > 0). A nested stage freezes what it finds too, and
    ending it thaws nothing; ending the outer stage thaws all (count 0 again), also when the
    stage raised."""
    assert gc.get_freeze_count() == 0
    with older_objects_frozen():
        outer = gc.get_freeze_count()
        assert outer > 0
        young = [[i] for i in range(1000)]  # tracked containers made inside the stage
        with older_objects_frozen():
            assert gc.get_freeze_count() >= outer + len(young)
        assert gc.get_freeze_count() >= outer + len(young)
    assert gc.get_freeze_count() == 0
    with pytest.raises(ValueError), older_objects_frozen():
        raise ValueError("a stage that fails")
    assert gc.get_freeze_count() == 0


def test_garbage_cycles_made_in_a_stage_are_still_collected():
    """A reference cycle made and dropped inside a stage is found by a collection inside it."""

    class Node:
        pass

    with older_objects_frozen():
        a, b = Node(), Node()
        a.other, b.other = b, a
        del a, b
        assert gc.collect() >= 2
