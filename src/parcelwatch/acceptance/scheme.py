"""The acceptance scheme (考核验收评分表, seed 002 附件4) as package data, checked at load.

The scheme ships as ``ningxia_2019.toml`` next to this module (SEED-SYSTEMS §D.2). Points are
:class:`decimal.Decimal`; :func:`load_scheme` refuses a scheme whose items do not add up to 100 or
whose group sums differ from the group headings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

import tomllib

from parcelwatch.errors import ConfigError

__all__ = ["Group", "Item", "Scheme", "load_scheme", "half_up", "GROUP_ORDER"]

GROUP_ORDER = ("一", "二", "三", "四", "五", "六", "七", "八", "九")
RULES = frozenset({"all_or_nothing", "tiered", "deduct_per", "composite"})
SOURCES = frozenset({"auto", "manual", "mixed"})
CENT = Decimal("0.01")


def half_up(value: Decimal, places: Decimal = CENT) -> Decimal:
    """Round half up (12.5 -> 13 at places 1), never banker's rounding."""
    return value.quantize(places, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Group:
    key: str
    name: str
    points: Decimal
    note: str = ""

    @property
    def heading(self) -> str:
        """e.g. 排查清理（24分）."""
        pts = format(self.points.normalize(), "f")
        return f"{self.name}（{pts}分）" + (f"（{self.note}）" if self.note else "")


@dataclass(frozen=True)
class Item:
    id: str
    group: str
    short: str
    text: str
    max: Decimal
    rule: str
    source: str
    subgroup: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    def dec(self, key: str) -> Decimal:
        """A Decimal parameter of the rule."""
        return Decimal(str(self.params[key]))


@dataclass(frozen=True)
class Scheme:
    title: str
    groups: dict[str, Group]
    items: tuple[Item, ...]

    def item(self, item_id: str) -> Item:
        for it in self.items:
            if it.id == item_id:
                return it
        raise ConfigError(
            f"No acceptance item {item_id!r}. Items: {', '.join(i.id for i in self.items)}."
        )

    @property
    def total(self) -> Decimal:
        return sum((i.max for i in self.items), Decimal(0))


def _dec(where: str, value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise ConfigError(f'{where}: {value!r} is not a number; write it like "1.5".') from exc


def load_scheme(path: Path | None = None) -> Scheme:
    """Load and check a scheme (default: the packaged ``ningxia_2019.toml``)."""
    if path is None:
        text = (
            resources.files("parcelwatch.acceptance")
            .joinpath("ningxia_2019.toml")
            .read_text("utf-8")
        )
        where = "ningxia_2019.toml"
    else:
        text = Path(path).read_text("utf-8")
        where = str(path)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML ({exc}).") from exc
    groups: dict[str, Group] = {}
    for key, g in raw.get("groups", {}).items():
        groups[key] = Group(
            key, str(g["name"]), _dec(f"{where} [groups.{key}]", g["points"]), g.get("note", "")
        )
    items: list[Item] = []
    seen: set[str] = set()
    for n, it in enumerate(raw.get("item", []), start=1):
        w = f"{where} item {n} ({it.get('id', '?')})"
        missing = [
            k for k in ("id", "group", "short", "text", "max", "rule", "source") if k not in it
        ]
        if missing:
            raise ConfigError(f"{w}: missing {', '.join(missing)}.")
        if it["id"] in seen:
            raise ConfigError(f"{w}: id {it['id']} appears twice.")
        seen.add(it["id"])
        if it["group"] not in groups:
            raise ConfigError(f"{w}: group {it['group']!r} is not in [groups].")
        if it["rule"] not in RULES:
            raise ConfigError(f"{w}: rule {it['rule']!r}; use one of {', '.join(sorted(RULES))}.")
        if it["source"] not in SOURCES:
            raise ConfigError(f"{w}: source {it['source']!r}; use auto, manual or mixed.")
        items.append(
            Item(
                id=str(it["id"]),
                group=str(it["group"]),
                short=str(it["short"]),
                text=str(it["text"]),
                max=_dec(w, it["max"]),
                rule=str(it["rule"]),
                source=str(it["source"]),
                subgroup=str(it.get("subgroup", "")),
                params=dict(it.get("params", {})),
            )
        )
    scheme = Scheme(str(raw.get("title", "")), groups, tuple(items))
    for key, g in groups.items():
        got = sum((i.max for i in items if i.group == key), Decimal(0))
        if got != g.points:
            raise ConfigError(
                f"{where}: the items of group {key} ({g.name}) add up to {got}, "
                f"but its heading says {g.points}; correct the items' max."
            )
    if scheme.total != Decimal(100):
        raise ConfigError(f"{where}: the items add up to {scheme.total}, not 100.")
    return scheme
