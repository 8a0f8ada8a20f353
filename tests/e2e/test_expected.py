"""The sample county's planted cases come out as data/samples/EXPECTED.md says.

Classification runs on the committed sample exactly as the demo loads it (GBK parcels without
.cpg in EPSG:4490, DLTB zone-prefixed, buildings UTF-8 in EPSG:4549 ...), with the county's
rules file (region north) and with the region unset (strictest caretaker limit).
"""

from __future__ import annotations

import json
import warnings

import pytest

from parcelwatch.config import load_rules, rules_from_mapping
from parcelwatch.pipeline import classify_inputs, load_inputs
from parcelwatch.pipeline.demo import sample_sources
from parcelwatch.rules.catalog import CLASS_ORDER
from tests.conftest import SAMPLES

EXPECTED = json.loads((SAMPLES / "expected.json").read_text(encoding="utf-8"))


def _classify(batch: int, rules):
    sources = sample_sources(SAMPLES, batch=batch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return classify_inputs(load_inputs(sources, rules=rules), rules=rules)


@pytest.fixture(scope="module")
def north():
    return {b: _classify(b, load_rules(SAMPLES / "rules.toml")) for b in (1, 2)}


@pytest.fixture(scope="module")
def unset():
    return _classify(1, rules_from_mapping({"county": {"code": "370790"}}))


def _footprint_class(result, parcel_id, footprint_id):
    f = result.findings
    f = f[(f["parcel_id"] == parcel_id) & (f["footprint_id"] == footprint_id)]
    classes = [c for c in CLASS_ORDER if c in set(f["problem_class"])]
    return classes[0] if classes else "none"


@pytest.mark.parametrize(
    "case",
    EXPECTED["cases"],
    ids=lambda c: f"{c['case']}-{c['parcel_id'][-5:]}-{c['footprint_id']}",
)
def test_footprint_class(case, north):
    result = north[case["batch"]]
    if case["footprint_id"] is None:
        assert case["parcel_id"] not in set(result.findings["parcel_id"])
        return
    assert (
        _footprint_class(result, case["parcel_id"], case["footprint_id"]) == case["expected_class"]
    ), case["note"]


@pytest.mark.parametrize(
    "parcel",
    [p for p in EXPECTED["parcels"] if p.get("case")],
    ids=lambda p: f"{p['case']}-{p['parcel_id'][-5:]}",
)
def test_parcel_expectations(parcel, north):
    p = north[parcel["batch"]].parcels.set_index("parcel_id").loc[parcel["parcel_id"]]
    assert p["problem_class"] == parcel["expected_class"]
    assert (p["priority"] or "normal") == parcel["priority"] or (
        parcel["priority"] == "normal" and p["priority"] == ""
    )
    assert bool(p["alerts"]) == parcel["alert"], p["alerts"]
    assert p["parcel_area_mu"] == pytest.approx(parcel["area_mu"], abs=0.005)
    assert p["farmland_mu"] == pytest.approx(parcel["farmland_mu"], abs=0.005)
    assert p["pbf_mu"] == pytest.approx(parcel["pbf_mu"], abs=0.005)
    assert p["illegal_farmland_mu"] + p["illegal_pbf_mu"] == pytest.approx(
        parcel["occupied_farmland_mu"], abs=0.005
    )
    assert p["illegal_pbf_mu"] == pytest.approx(parcel["occupied_pbf_mu"], abs=0.005)
    assert p["township_code"] == parcel["township_code"]


def test_background_parcels_are_none(north):
    """Every parcel of both batches is listed; those without a planted case are class none."""
    for batch in (1, 2):
        listed = {p["parcel_id"]: p for p in EXPECTED["parcels"] if p["batch"] == batch}
        got = north[batch].parcels.set_index("parcel_id")
        assert set(listed) == set(got.index)
        background = [pid for pid, p in listed.items() if p["case"] == "background"]
        assert background
        assert (got.loc[background, "problem_class"] == "none").all()


@pytest.mark.parametrize(
    "case",
    [c for c in EXPECTED["cases"] if c["batch"] == 1 and c["footprint_id"]],
    ids=lambda c: f"{c['case']}-{c['footprint_id']}",
)
def test_region_unset_uses_strictest_limit(case, unset):
    assert (
        _footprint_class(unset, case["parcel_id"], case["footprint_id"])
        == case["expected_class_region_unset"]
    )


def test_suggested_judgements_and_documents(north):
    p = north[1].parcels.set_index("parcel_id")
    for case in EXPECTED["cases"]:
        if case["batch"] == 1 and case.get("suggested"):
            assert p.loc[case["parcel_id"], "suggested_judgement"].startswith(case["suggested"])
            assert case["approval_doc"] in p.loc[case["parcel_id"], "approval_refs"]


def test_reasons_are_plain_chinese(north):
    f = north[1].findings.set_index(["parcel_id", "footprint_id"])
    r = f.loc[("3707902026Q1002", "B00003"), "reason"]
    r = r if isinstance(r, str) else r.iloc[0]
    assert r.startswith("建筑B00003（餐饮，") and "位于大棚" in r and r.endswith("→ 疑似第二类")
