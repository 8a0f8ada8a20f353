"""problems_view(chips=...) fills the popup's chip columns; without chips they stay empty."""

from __future__ import annotations

from datetime import date

from shapely.geometry import box

from parcelwatch.ledger.model import ProblemRecord
from parcelwatch.maps.view import problems_view


def test_problems_view_chips() -> None:
    recs = [
        ProblemRecord(problem_id=p, geometry=box(118.7, 36.8, 118.71, 36.81)) for p in ("A", "B")
    ]
    uri = ("data:image/png;base64,AAA", "data:image/png;base64,BBB")
    view = problems_view(recs, {}, today=date(2026, 7, 1), chips={"A": uri})
    assert view.set_index("problem_id").loc["A", ["chip_before", "chip_after"]].tolist() == list(
        uri
    )
    assert view.set_index("problem_id").loc["B", ["chip_before", "chip_after"]].isna().all()
    plain = problems_view(recs, {}, today=date(2026, 7, 1))
    assert plain["chip_before"].isna().all()
