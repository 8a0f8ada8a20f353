"""The 两违 blacklist (seed 003 四(一)3) and its privacy rule (SEED-SYSTEMS §A.2, §A.4).

Identity numbers are never stored: only their sha256 (``id_hash``) and last 4 characters
(``id_tail``). Published lists write a person's name as surname + 某.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from parcelwatch.errors import LedgerError

__all__ = [
    "BLACKLIST_TAG",
    "hash_id",
    "id_tail",
    "mask_name",
    "check_listable",
    "blacklist_matches",
]

BLACKLIST_TAG = "黑名单当事人"
LISTABLE = ("已认定", "已制止", "处置中", "已处置", "已销号", "反弹")
_COMPOUND_SURNAMES = (
    "欧阳",
    "司马",
    "诸葛",
    "上官",
    "东方",
    "皇甫",
    "尉迟",
    "公孙",
    "慕容",
    "令狐",
    "长孙",
    "宇文",
    "司徒",
    "夏侯",
)


def hash_id(id_number: str) -> str:
    """sha256 of an ID number (upper-cased, spaces removed); the number itself is never stored."""
    return hashlib.sha256(id_number.strip().replace(" ", "").upper().encode("utf-8")).hexdigest()


def id_tail(id_number: str) -> str:
    return id_number.strip().replace(" ", "")[-4:]


def mask_name(name: str, kind: str = "个人") -> str:
    """张三 -> 张某, 欧阳明 -> 欧阳某; unit names are public and stay as they are."""
    name = name.strip()
    if kind == "单位" or not name:
        return name
    surname = next(
        (s for s in _COMPOUND_SURNAMES if name.startswith(s) and len(name) > len(s)), name[0]
    )
    return surname + "某"


def check_listable(party_id: str, cases: Sequence[Mapping[str, Any]]) -> None:
    """A party is listed only for cases that are 已认定 (or later) and 情节严重."""
    if not cases:
        raise LedgerError(
            f"Blacklist entry for {party_id} names no case; give --case LW-… (案件须已认定且情节严重)."
        )
    bad = [
        f"{c['case_id']} ({c.get('status')}{'，情节严重' if c.get('serious') in (True, '是') else '，未标记情节严重'})"
        for c in cases
        if c.get("status") not in LISTABLE or c.get("serious") not in (True, "是")
    ]
    if bad:
        raise LedgerError(
            f"Cannot blacklist {party_id}: 案件须已认定且情节严重. Not eligible: {', '.join(bad)}. "
            "Confirm the case (已认定) and mark it serious=是 first."
        )


def blacklist_matches(
    party: Mapping[str, Any],
    parties: Iterable[Mapping[str, Any]],
    entries: Iterable[Mapping[str, Any]],
) -> tuple[list[str], list[str]]:
    """Active entries that name the same party as ``party`` (credit code, else id hash, else the
    same name when no id is known — the last with a warning); returns (entry ids, warnings)."""
    by_id = {p["party_id"]: p for p in parties}
    hits, warns = [], []
    for e in entries:
        if e.get("removed_on"):
            continue
        other = by_id.get(e["party_id"])
        if other is None:
            continue
        if party.get("credit_code") and party.get("credit_code") == other.get("credit_code"):
            hits.append(e["entry_id"])
        elif party.get("id_hash") and party.get("id_hash") == other.get("id_hash"):
            hits.append(e["entry_id"])
        elif (
            not party.get("id_hash")
            and not party.get("credit_code")
            and party.get("name")
            and party.get("name") == other.get("name")
        ):
            hits.append(e["entry_id"])
            warns.append(
                f"当事人 {party['name']} 与黑名单 {e['entry_id']} 同名（无证件号，仅按姓名匹配，请核实）"
            )
    return hits, warns
