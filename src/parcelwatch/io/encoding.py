"""Decide the text encoding of a shapefile *before* reading it.

GDAL/pyogrio read a CP936 shapefile without ``.cpg`` as mojibake without any error, so parcelwatch
never lets the driver guess. The order (DOMAIN.md §6.1, DESIGN.md "Encoding"):

1. the ``.cpg`` sidecar file;
2. the DBF language-driver id (LDID, byte 29 of the header) when it names a specific code page;
3. strict UTF-8 over the field names and the text of the records;
4. GB18030 (a superset of GBK/CP936), the usual encoding of Chinese data without ``.cpg``.

Only formats that store text in a legacy code page (shapefile/DBF) need this; GeoPackage, GeoJSON,
FileGDB and KML are UTF-8 by specification.
"""

from __future__ import annotations

import codecs
import io
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from parcelwatch.errors import EncodingError, InputError

__all__ = [
    "EncodingDecision",
    "detect_shapefile_encoding",
    "normalise_codec",
    "LDID_CODEPAGES",
    "mixed_encoding_records",
]

# DBF language driver ids -> Python codec. Only the ones seen in practice; from the ArcGIS/ESRI
# code page tables (DOMAIN.md §6.1 sources).
LDID_CODEPAGES: dict[int, str] = {
    0x01: "cp437",
    0x02: "cp850",
    0x03: "cp1252",
    0x13: "cp932",
    0x4D: "gb18030",  # 936 Chinese GBK (PRC)
    0x4E: "cp949",
    0x4F: "cp950",
    0x57: "cp1252",  # "ANSI": whatever the writer's system code page was
    0x7A: "gb18030",  # 936 PRC GBK
    0x7B: "cp932",
    0x7C: "cp874",
    0x7D: "cp1255",
    0x7E: "cp1256",
    0xC8: "cp1250",
    0xC9: "cp1251",
}
_CJK_CODECS = {"gb18030", "cp950", "cp949", "cp932"}
# Sidecar spellings seen in .cpg files -> Python codec.
_CPG_ALIASES = {
    "936": "gb18030",
    "cp936": "gb18030",
    "gbk": "gb18030",
    "gb2312": "gb18030",
    "gb18030": "gb18030",
    "65001": "utf-8",
    "utf8": "utf-8",
    "utf-8": "utf-8",
    "950": "cp950",
    "big5": "cp950",
    "1252": "cp1252",
    "ansi 1252": "cp1252",
    "iso-8859-1": "latin-1",
    "iso 88591": "latin-1",
    "88591": "latin-1",
}
# How much of a large DBF to check for UTF-8 validity (field text sits in every record, so a
# prefix is representative; a non-UTF-8 byte anywhere in it decides GB18030).
_SNIFF_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class EncodingDecision:
    """The encoding chosen for a file and why (shown by ``parcelwatch inspect``)."""

    encoding: str  # a Python codec name, also understood by GDAL/iconv
    source: str  # "cpg", "ldid", "utf-8 check", "gb18030 fallback", "user", "format"
    detail: str = ""

    def describe(self) -> str:
        return f"{self.encoding} (from {self.source}{': ' + self.detail if self.detail else ''})"


def normalise_codec(name: str) -> str:
    """Map a code page spelling (``936``, ``GBK``, ``UTF8`` ...) to a Python codec name.

    GBK and GB2312 are read as GB18030, their strict superset, so no character is lost.

    >>> normalise_codec("936"), normalise_codec("UTF8"), normalise_codec("GBK")
    ('gb18030', 'utf-8', 'gb18030')
    """
    key = name.strip().lower().replace("_", "-")
    if key in _CPG_ALIASES:
        return _CPG_ALIASES[key]
    if key.startswith("cp") and key[2:] in _CPG_ALIASES:
        return _CPG_ALIASES[key[2:]]
    if key.isdigit():
        key = "cp" + key
    try:
        return codecs.lookup(key).name
    except LookupError as exc:
        raise EncodingError(
            f"Unknown text encoding {name!r}. Use a code page such as GBK, GB18030, UTF-8 or CP936."
        ) from exc


def _sidecars(path: Path) -> tuple[bytes | None, bytes]:
    """Return (.cpg content or None, DBF bytes prefix) for a .shp/.dbf path or a zipped shapefile."""
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            dbfs = [n for n in names if n.lower().endswith(".dbf")]
            if not dbfs:
                raise InputError(
                    f"{path}: the zip archive holds no .dbf file, so it is not a shapefile."
                )
            dbf = dbfs[0]
            zip_stem = dbf[:-4]
            cpg_names = [n for n in names if n.lower() == (zip_stem + ".cpg").lower()]
            cpg = zf.read(cpg_names[0]) if cpg_names else None
            with zf.open(dbf) as fh:
                return cpg, fh.read(_SNIFF_BYTES)
    stem = path.with_suffix("")
    dbf_path = _find_sibling(stem, ".dbf")
    if dbf_path is None:
        raise InputError(
            f"{path}: no .dbf file beside it; a shapefile needs its .shp, .shx and .dbf together. "
            "Copy the missing file next to the .shp."
        )
    cpg_path = _find_sibling(stem, ".cpg")
    cpg = cpg_path.read_bytes() if cpg_path else None
    with open(dbf_path, "rb") as fh:
        return cpg, fh.read(_SNIFF_BYTES)


def _find_sibling(stem: Path, suffix: str) -> Path | None:
    for cand in (stem.with_suffix(suffix), stem.with_suffix(suffix.upper())):
        if cand.exists():
            return cand
    return None


def _dbf_text_bytes(dbf: bytes) -> bytes:
    """Field-name bytes plus the bytes of character fields in the records held in ``dbf``."""
    if len(dbf) < 32:
        return b""
    n_records, header_len, record_len = struct.unpack("<IHH", dbf[4:12])
    names = io.BytesIO()
    char_slices: list[tuple[int, int]] = []
    offset = 1  # deletion flag
    pos = 32
    while pos + 32 <= min(header_len, len(dbf)) and dbf[pos] != 0x0D:
        desc = dbf[pos : pos + 32]
        names.write(desc[:11].split(b"\x00", 1)[0])
        names.write(b" ")
        ftype = chr(desc[11])
        flen = desc[16]
        if ftype in "CM":
            char_slices.append((offset, offset + flen))
        offset += flen
        pos += 32
    chunks = [names.getvalue()]
    if char_slices and record_len > 0:
        body = dbf[header_len:]
        n = min(n_records, len(body) // record_len)
        records = np.frombuffer(body, dtype=np.uint8, count=n * record_len).reshape(n, record_len)
        text = np.concatenate([records[:, a:b] for a, b in char_slices], axis=1)
        chunks.append(text.tobytes())
    return b"\n".join(chunks)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        return False
    return True


def detect_shapefile_encoding(path: str | Path) -> EncodingDecision:
    """Decide the encoding of a shapefile (``.shp``, ``.dbf`` or zipped) without reading features.

    >>> # a GBK shapefile without .cpg decides "gb18030 fallback"; see tests/io/test_encoding.py
    """
    path = Path(path)
    cpg, dbf = _sidecars(path)
    if cpg is not None:
        text = cpg.decode("ascii", errors="replace").strip()
        if text:
            return EncodingDecision(normalise_codec(text), "cpg", f".cpg says {text!r}")
    ldid = dbf[29] if len(dbf) > 29 else 0
    text_bytes = _dbf_text_bytes(dbf)
    ascii_only = text_bytes.isascii()
    codec = LDID_CODEPAGES.get(ldid)
    if codec in _CJK_CODECS:
        return EncodingDecision(codec, "ldid", f"DBF language driver id 0x{ldid:02X}")
    if ascii_only:
        return EncodingDecision("utf-8", "utf-8 check", "all text is ASCII")
    if _is_utf8(text_bytes):
        return EncodingDecision("utf-8", "utf-8 check", "all text decodes as strict UTF-8")
    if codec is not None:
        # A Western LDID (0x57 "ANSI", 0x03) on non-UTF-8 text is usually a Chinese system code
        # page written by ArcGIS; decoding it as cp1252 would produce mojibake.
        return EncodingDecision(
            "gb18030",
            "gb18030 fallback",
            f"no .cpg; LDID 0x{ldid:02X} ({codec}) ignored because the text is not ASCII; "
            "pass encoding explicitly if the data are not Chinese",
        )
    return EncodingDecision("gb18030", "gb18030 fallback", "no .cpg, no LDID, text is not UTF-8")


def _dbf_fields(dbf: bytes) -> tuple[int, int, int, list[tuple[str, int, int]]]:
    """(records, header length, record length, [(field name, start, end) of text fields])."""
    n_records, header_len, record_len = struct.unpack("<IHH", dbf[4:12])
    out = []
    offset, pos = 1, 32
    while pos + 32 <= min(header_len, len(dbf)) and dbf[pos] != 0x0D:
        desc = dbf[pos : pos + 32]
        name = desc[:11].split(b"\x00", 1)[0].decode("latin-1")
        if chr(desc[11]) in "CM":
            out.append((name, offset, offset + desc[16]))
        offset += desc[16]
        pos += 32
    return n_records, header_len, record_len, out


def _decodes(data: bytes, codec: str) -> bool:
    try:
        data.decode(codec, errors="strict")
    except UnicodeDecodeError:
        return False
    return True


def mixed_encoding_records(
    path: str | Path, encoding: str, *, limit: int = 5
) -> tuple[int, list[str]]:
    """Records of a shapefile's DBF whose text does not fit ``encoding``: (count, descriptions).

    For a Chinese code page (GBK/GB18030 ...) a record whose non-ASCII text is valid UTF-8 with
    CJK-range characters was written in UTF-8 (GBK text is almost never valid UTF-8): read as GBK
    it would turn into mojibake such as "鏌虫咕". For UTF-8, a record that is not valid UTF-8 (or,
    for any code page, one that does not decode at all) is named. Records are numbered from 1
    (FID + 1), as QGIS's attribute table shows them.
    """
    codec = normalise_codec(encoding)
    _cpg, dbf = _sidecars(Path(path))
    if len(dbf) < 32:
        return 0, []
    n_records, header_len, record_len, text_fields = _dbf_fields(dbf)
    if not text_fields or record_len <= 0:
        return 0, []
    body = dbf[header_len:]
    n = min(n_records, len(body) // record_len)
    records = np.frombuffer(body, dtype=np.uint8, count=n * record_len).reshape(n, record_len)
    cjk = codec in _CJK_CODECS or codec in ("gbk", "gb2312", "cp936")
    found: list[str] = []
    count = 0
    for name, a, b in text_fields:
        block = records[:, a:b]
        rows = np.flatnonzero((block >= 0x80).any(axis=1))
        if not len(rows):
            continue
        # each distinct value once (township and village names repeat thousands of times)
        values, first, inverse = np.unique(
            np.ascontiguousarray(block[rows]).view(f"S{b - a}").ravel(),
            return_index=True,
            return_inverse=True,
        )
        for k, value in enumerate(values):
            raw = bytes(value).rstrip(b" \x00")
            i = rows[first[k]]
            if cjk and _decodes(raw, "utf-8") and any(ord(c) >= 0x800 for c in raw.decode("utf-8")):
                problem = f"is UTF-8 ({raw.decode('utf-8')!r}), would read as {raw.decode(codec, errors='replace')!r}"
            elif not _decodes(raw, codec):
                problem = f"does not decode as {codec}"
            else:
                continue
            hits = rows[inverse.ravel() == k]
            count += len(hits)
            if len(found) < limit:
                more = (
                    f" (also record(s) {', '.join(str(r + 1) for r in hits[1:4])}{' ...' if len(hits) > 4 else ''})"
                    if len(hits) > 1
                    else ""
                )
                found.append(f"record {i + 1} field {name} {problem}{more}")
    return count, found
