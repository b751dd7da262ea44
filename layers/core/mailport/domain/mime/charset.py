"""Bytes to text, never raising: charset labels as mailers really use them (practical
supersets, CP932 for Shift_JIS, ISO-2022-JP with vendor extensions), then a fallback chain.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

__all__ = ["decode", "decode_jis"]


# Labels that mean a larger charset in practice. Japanese mailers label CP932 (Windows) text
# "Shift_JIS", and Python's shift_jis lacks NEC/IBM extensions such as ①, ㈱ and 髙. Outlook
# labels windows-1252 text "iso-8859-1" (curly quotes, ™), as WHATWG's encoding spec notes.
_ALIASES: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(
        (
            "shift-jis",
            "shift-jis-2004",
            "sjis",
            "x-sjis",
            "s-jis",
            "windows-31j",
            "ms-kanji",
            "csshiftjis",
            "x-ms-cp932",
            "ms932",
            "cp932",
        ),
        ("cp932",),
    ),
    **dict.fromkeys(("iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1"), ("cp1252", "latin-1")),
    **dict.fromkeys(("ks-c-5601-1987", "ks-c-5601", "euc-kr", "x-euc-kr"), ("cp949",)),
    **dict.fromkeys(("gb2312", "gbk", "x-gbk", "cp936", "euc-cn"), ("gb18030",)),
    **dict.fromkeys(("big5", "x-big5", "cp950"), ("cp950", "big5hkscs")),
    **dict.fromkeys(("euc-jp", "x-euc-jp"), ("euc_jp", "euc_jis_2004")),
    "tis-620": ("cp874",),
    "iso-8859-8-i": ("iso-8859-8",),
    "unicode-1-1-utf-7": ("utf-7",),
}
# ISO-2022-JP and the labels of its supersets; see decode_jis.
_JIS_LABELS = frozenset(
    {"iso-2022-jp", "csiso2022jp", "iso-2022-jp-1", "iso-2022-jp-2", "iso-2022-jp-3"}
    | {"iso-2022-jp-ms", "iso-2022-jp-ext", "cp50220", "cp50221", "cp50222"}
)
_LABEL = re.compile(r"[a-z0-9][a-z0-9._:+-]{0,39}")
_FALLBACK = ("utf-8", "cp932", "latin-1")  # latin-1 decodes anything: the chain never fails


def decode(data: bytes, label: str | None = None, hint: str | None = None) -> str:
    """Decode ``data`` labelled ``label`` (None: unlabelled raw header bytes), never raising.
    Order: what the label says (its practical superset first), then UTF-8 (RFC 6532 and the
    commonest mislabel), the message's body charset ``hint``, CP932, and latin-1.
    """
    key = _normalise_label(label)
    if key is None and data.isascii() and b"\x1b" not in data:
        return data.decode("ascii")  # the common case; labelled data may be UTF-7 or UTF-16
    if key in _JIS_LABELS or (key is None and _JIS_ESCAPE.search(data)):
        # Old Japanese mailers put raw 7-bit ISO-2022-JP in headers; the escapes give it away.
        text = decode_jis(data)
        if text is not None:
            return text
    for codec in _codecs_for(key, hint):
        try:
            return data.decode(codec)
        except (UnicodeError, LookupError):  # bad bytes; "zlib" and kin are not text codecs
            continue
    return data.decode("latin-1")


def _normalise_label(label: str | None) -> str | None:
    if not label:
        return None
    key = label.strip().strip("\"'").lower().replace("_", "-")
    return key if _LABEL.fullmatch(key) else None


def _codecs_for(key: str | None, hint: str | None) -> Iterator[str]:
    if key is not None:
        yield from _ALIASES.get(key, (key,))
    yield _FALLBACK[0]
    hint_key = _normalise_label(hint)
    if hint_key is not None and hint_key not in _JIS_LABELS:
        yield from _ALIASES.get(hint_key, (hint_key,))
    yield from _FALLBACK[1:]


# ISO-2022-JP: ESC $ @ / ESC $ B switch to JIS X 0208 (two bytes per character), ESC ( B / J
# back to ASCII / JIS-Roman, ESC ( I to half-width katakana.
_JIS_ESCAPE = re.compile(rb"\x1b(\$[@B]|\([BJI])")
_JIS_LOW, _JIS_HIGH, _JIS_ROW_SPLIT, _JIS_CELL_SPLIT = 0x21, 0x7E, 0x5E, 0x5F


def decode_jis(data: bytes) -> str | None:
    """ISO-2022-JP as Windows and Japanese carriers really send it: Python's iso2022_jp_ext /
    _2 first, then a JIS to Shift_JIS transcode read as CP932, which adds the NEC row 13
    (①, ㈱) and the IBM extensions (髙) that "ISO-2022-JP" mail from Outlook contains.
    """
    for codec in ("iso2022_jp_ext", "iso2022_jp_2"):
        try:
            return data.decode(codec)
        except UnicodeError:
            continue
    try:
        return _jis_to_sjis(data).decode("cp932")
    except ValueError:
        return None


def _jis_to_sjis(data: bytes) -> bytes:
    out = bytearray()
    mode = b"(B"
    for index, piece in enumerate(_JIS_ESCAPE.split(data)):
        if index % 2:
            mode = piece
        elif mode in (b"$@", b"$B"):
            out += _jis_pairs_to_sjis(piece)
        elif mode == b"(I":
            out += bytes(byte | 0x80 for byte in piece)
        else:
            out += piece
    return bytes(out)


def _jis_pairs_to_sjis(piece: bytes) -> bytes:
    if len(piece) % 2:
        raise ValueError("odd JIS X 0208 run")
    out = bytearray()
    for row, cell in zip(piece[0::2], piece[1::2], strict=True):
        if not (_JIS_LOW <= row <= _JIS_HIGH and _JIS_LOW <= cell <= _JIS_HIGH):
            raise ValueError("not a JIS X 0208 code")
        out += bytes((_sjis_lead(row), _sjis_trail(row, cell)))
    return bytes(out)


def _sjis_lead(row: int) -> int:
    # Two JIS rows share one Shift_JIS lead byte; 0xA0-0xDF is left to half-width katakana.
    return (row + 1) // 2 + (0x70 if row <= _JIS_ROW_SPLIT else 0xB0)


def _sjis_trail(row: int, cell: int) -> int:
    # Odd rows use trail bytes 0x40-0x9E (skipping 0x7F), even rows 0x9F-0xFC.
    if row % 2 == 0:
        return cell + 0x7E
    return cell + (0x1F if cell <= _JIS_CELL_SPLIT else 0x20)
