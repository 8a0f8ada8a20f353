"""The rules file: defaults, overrides, unknown keys with suggestions, key paths in errors."""

from __future__ import annotations

import pytest

from parcelwatch.config import DEFAULT_RULES, defaults_toml, load_rules, rules_from_mapping, tomllib
from parcelwatch.errors import ConfigError


def test_defaults_file_round_trips():
    rules = rules_from_mapping(tomllib.loads(defaults_toml()))
    assert rules.digest() == DEFAULT_RULES.digest()
    text = defaults_toml()
    assert "inside_share = 0.5" in text and "工程默认值 (L)" in text
    assert "[fields.parcels]" in text


def test_defaults_file_cites_policy_documents_not_internal_references():
    """A clerk reads the sources: the documents' names, never "DOMAIN §9.1" or "issue #3 default"."""
    text = defaults_toml()
    assert "DOMAIN" not in text and "issue #" not in text and "EXPECTED.md" not in text
    for document in (
        "法释〔2000〕14号",
        "《违反土地管理规定行为处分办法》",
        "自然资规〔2019〕4号",
        "TD/T 1055-2019",
        "自然资发〔2023〕258号",
    ):
        assert document in text, document


def test_county_file_overrides_only_what_it_names(tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text(
        '[county]\nregion = "north"\n[greenhouse]\ncontext_distance_m = 80\n', encoding="utf-8"
    )
    rules = load_rules(path)
    assert rules.county.region == "north"
    assert rules.greenhouse.context_distance_m == 80.0
    assert rules.greenhouse.inside_share == DEFAULT_RULES.greenhouse.inside_share
    assert rules.caretaker_limit_m2() == (22.5, "北方标准")
    assert DEFAULT_RULES.caretaker_limit_m2() == (15.0, "最严标准（未设置县域所属地区）")
    assert rules.digest() != DEFAULT_RULES.digest()


@pytest.mark.parametrize(
    "data,message",
    [
        ({"greenhous": {}}, r"unknown section \[greenhous\]. Did you mean 'greenhouse'\?"),
        (
            {"greenhouse": {"inside_shar": 0.4}},
            r"unknown key \[greenhouse\].inside_shar. Did you mean 'inside_share'\?",
        ),
        ({"greenhouse": {"inside_share": 1.5}}, r"\[greenhouse.inside_share\] must be <= 1"),
        ({"greenhouse": {"inside_share": "half"}}, r"\[greenhouse.inside_share\] must be a number"),
        (
            {"county": {"region": "tropical"}},
            r"\[county.region\] must be one of '', 'south', 'north', 'severe_cold'",
        ),
        ({"county": {"gk_zone": 40.5}}, r"\[county.gk_zone\] must be a whole number"),
        (
            {"vocabulary": {"caretaker": "看护房"}},
            r"\[vocabulary.caretaker\] must be a list of text values",
        ),
        (
            {"fields": {"parcel": {}}},
            r"unknown layer role \[fields.parcel\]. Did you mean 'parcels'\?",
        ),
        (
            {"fields": {"parcels": {"parcel_idd": ["X"]}}},
            r"unknown field \[fields.parcels\].parcel_idd. Did you mean 'parcel_id'\?",
        ),
    ],
)
def test_bad_rules_are_named(data, message):
    with pytest.raises(ConfigError, match=message):
        rules_from_mapping(data, where="county.toml")


def test_bad_toml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[county\nregion = 1", encoding="utf-8")
    with pytest.raises(ConfigError, match="bad.toml is not valid TOML"):
        load_rules(bad)
    with pytest.raises(
        ConfigError, match="does not exist. Write one with `parcelwatch rules defaults"
    ):
        load_rules(tmp_path / "none.toml")
