"""A dBASE III table (the shapefile's ``.dbf``) written field by field as the legend declares it.

GDAL declares every real field N(24,15) (so ArcMap shows 6504.550000000000182), writes an
empty date as ``00000000`` and gives no control over widths. Here each field has the width and
decimals the legend states: areas N(15,2), counts N(10,0), dates D (YYYYMMDD, blank when
empty), text C of the longest value's bytes (at most 254). Byte 29 (the language driver id,
LDID) matches the ``.cpg``: 0x4D for code page 936 (GBK); 0 for UTF-8, which has no LDID.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from parcelwatch.errors import OutputError

__all__ = ["DbfField", "LDID", "write_dbf"]

LDID = {"GBK": 0x4D, "UTF-8": 0x00}


@dataclass(frozen=True)
class DbfField:
    """One column: name (ASCII, <= 10 bytes), type C/N/D, width and decimals."""

    name: str
    type: str  # C | N | D
    width: int
    decimals: int = 0


def _number(v: Any, f: DbfField) -> bytes:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return b" " * f.width
    text = f"{float(v):.{f.decimals}f}" if f.decimals else f"{int(round(float(v)))}"
    if len(text) > f.width:
        raise OutputError(
            f"The value {text} does not fit the shapefile field {f.name} N({f.width},{f.decimals})."
        )
    return text.rjust(f.width).encode("ascii")


def write_dbf(
    path: Path,
    fields: Sequence[DbfField],
    columns: Sequence[Sequence[Any]],
    *,
    encoding: str,
    today: date,
) -> None:
    """Write ``columns`` (one sequence per field, text already fitted to the field's bytes in
    ``encoding``) as a dBASE III file with the LDID of ``encoding``."""
    n = len(columns[0]) if columns else 0
    header_len = 32 + 32 * len(fields) + 1
    record_len = 1 + sum(f.width for f in fields)
    if record_len > 65535:
        raise OutputError(f"{path.name}: a record of {record_len} bytes exceeds the DBF limit.")
    head = bytearray(32)
    head[0] = 0x03
    head[1:4] = bytes((today.year - 1900, today.month, today.day))
    head[4:12] = struct.pack("<IHH", n, header_len, record_len)
    head[29] = LDID[encoding]
    desc = bytearray()
    for f in fields:
        d = bytearray(32)
        d[0:11] = f.name.encode("ascii").ljust(11, b"\x00")
        d[11] = ord(f.type)
        d[16] = f.width
        d[17] = f.decimals
        desc += d
    enc = "gbk" if encoding == "GBK" else "utf-8"
    cells: list[list[bytes]] = []
    for f, col in zip(fields, columns, strict=True):
        if f.type == "C":
            cells.append([(v or "").encode(enc).ljust(f.width, b" ") for v in col])
        elif f.type == "D":
            cells.append([v.strftime("%Y%m%d").encode("ascii") if v else b" " * 8 for v in col])
        else:
            cells.append([_number(v, f) for v in col])
    body = b"".join(b" " + b"".join(row) for row in zip(*cells, strict=True)) if n else b""
    try:
        with open(path, "wb") as fh:
            fh.write(bytes(head) + bytes(desc) + b"\x0d" + body + b"\x1a")
    except OSError as exc:
        raise OutputError(f"Cannot write {path}: {exc}.") from exc
