"""Which charset a body part's bytes are really in, and its text in that charset.

Labels lie: Japanese mailers send Shift_JIS labelled iso-8859-1 or us-ascii, ISO-2022-JP with
no label at all, UTF-8 labelled whatever the account's default was. The label is kept when the
bytes decode cleanly under it and it is plausible; else the charset is detected among the
ones such mail is really in (charset-normalizer, restricted to them). A reader can also pick
one of ``CHOICES`` (an override). Never raises; the bytes themselves are never changed.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import charset_normalizer

from mailport.domain.mime.charset import decode_jis

__all__ = ["CHOICES", "Decoded", "decode_body"]

# What a reader may pick, each with the codec that reads it as mailers write it: "shift_jis"
# text is CP932 in practice (NEC and IBM extensions: ①, ㈱, 髙), iso-8859-1 is cp1252.
CHOICES: dict[str, str] = {
    "utf-8": "utf-8",
    "iso-2022-jp": "iso2022_jp_ext",
    "shift_jis": "cp932",
    "euc-jp": "euc_jp",
    "iso-8859-1": "cp1252",
    "windows-1252": "cp1252",
}
# Labels that name one of the choices.
_LABEL_TO_CHOICE = {
    **dict.fromkeys(("utf-8", "utf8"), "utf-8"),
    **dict.fromkeys(("iso-2022-jp", "csiso2022jp", "iso-2022-jp-ms", "cp50220"), "iso-2022-jp"),
    **dict.fromkeys(
        ("shift-jis", "sjis", "x-sjis", "windows-31j", "cp932", "ms932", "csshiftjis"),
        "shift_jis",
    ),
    **dict.fromkeys(("euc-jp", "x-euc-jp", "eucjp"), "euc-jp"),
    **dict.fromkeys(("iso-8859-1", "latin1", "latin-1", "iso8859-1"), "iso-8859-1"),
    **dict.fromkeys(("windows-1252", "cp1252"), "windows-1252"),
}
# Charsets where a clean decode is itself evidence: random bytes rarely decode as them.
# Single-byte charsets decode anything, so their label needs the plausibility check.
_MULTIBYTE = frozenset(
    {"utf-8", "iso-2022-jp", "shift_jis", "euc-jp", "gb18030", "gbk", "gb2312", "big5"}
    | {"euc-kr", "ks-c-5601-1987", "utf-16", "utf-16le", "utf-16be", "utf-7"}
)
_DETECTABLE = ("shift_jis", "euc-jp")  # besides UTF-8 and ISO-2022-JP, which have tells
_JIS_ESCAPE = re.compile(rb"\x1b(\$[@B]|\([BJI])")
_KANA = re.compile(r"[\u3041-\u30ff\uff66-\uff9f]")
_LABEL = re.compile(r"[a-z0-9][a-z0-9._:+-]{0,39}")
_DETECT_SAMPLE = 64 * 1024  # bytes charset-normalizer looks at (it is slow on megabytes)


@dataclass(frozen=True, slots=True)
class Decoded:
    """A body's text and how it was read: ``used`` is a choice's name or the label;
    ``detected`` says the label was not followed (or there was none).
    """

    text: str
    used: str
    detected: bool
    label: str | None


def decode_body(data: bytes, label: str | None, choice: str | None = None) -> Decoded:
    """``data`` as text: in ``choice`` (one of ``CHOICES``) if given, else as described above."""
    key = _normalise(label)
    if choice is not None:
        return Decoded(_decode_as(data, choice), choice, False, key)
    name, detected = _charset_of(data, key)
    return Decoded(_decode_as(data, name), name, detected, key)


def _charset_of(data: bytes, key: str | None) -> tuple[str, bool]:
    labelled = _LABEL_TO_CHOICE.get(key, key) if key else None
    if data.isascii():
        if _JIS_ESCAPE.search(data):
            # 7-bit with JIS escapes: ISO-2022-JP whatever the label (us-ascii and none alike).
            return "iso-2022-jp", labelled != "iso-2022-jp"
        return labelled or "us-ascii", False
    if labelled is not None and _clean(data, labelled) and _plausible(data, labelled):
        return labelled, False
    found = _detected(data)
    if found is None and labelled is not None and _codec(labelled) is not None:
        return labelled, False  # the label, with replacement characters where it fails
    return found or _fallback(data), True


def _detected(data: bytes) -> str | None:
    """UTF-8 if the bytes are UTF-8; else the Japanese charset they read as, if any."""
    if _clean(data, "utf-8"):
        return "utf-8"  # non-ASCII that is valid UTF-8 is UTF-8
    japanese = [name for name in _DETECTABLE if _clean(data, name) and _kana_share(data, name)]
    if len(japanese) <= 1:
        return japanese[0] if japanese else None
    best = charset_normalizer.from_bytes(
        data[:_DETECT_SAMPLE], cp_isolation=[CHOICES[name] for name in japanese]
    ).best()
    return {CHOICES[name]: name for name in japanese}.get(
        best.encoding if best else "", japanese[0]
    )


def _plausible(data: bytes, labelled: str) -> bool:
    """A clean decode under a multi-byte label is evidence; a single-byte label (which
    decodes anything) is believed unless the bytes read as UTF-8 or as Japanese.
    """
    if labelled in _MULTIBYTE:
        return True
    if _clean(data, "utf-8"):
        return False
    return not any(_clean(data, name) and _kana_share(data, name) for name in _DETECTABLE)


def _kana_share(data: bytes, name: str) -> bool:
    # Japanese prose has kana; Latin-1 text read as CP932 or EUC-JP turns into odd kanji.
    text = _decode_as(data[:_DETECT_SAMPLE], name)
    wide = sum(1 for char in text if not char.isascii())
    return wide > 0 and len(_KANA.findall(text)) * 5 >= wide


def _fallback(data: bytes) -> str:
    best = charset_normalizer.from_bytes(
        data[:_DETECT_SAMPLE], cp_isolation=["utf_8", "cp932", "euc_jp", "cp1252"]
    ).best()
    names = {"utf_8": "utf-8", "cp932": "shift_jis", "euc_jp": "euc-jp", "cp1252": "windows-1252"}
    return names.get(best.encoding, "windows-1252") if best else "windows-1252"


def _clean(data: bytes, name: str) -> bool:
    if name == "iso-2022-jp":
        return decode_jis(data) is not None
    codec = _codec(name)
    if codec is None:
        return False
    try:
        codecs.decode(data, codec)
    except (UnicodeError, ValueError):
        return False
    return True


def _decode_as(data: bytes, name: str) -> str:
    if name == "iso-2022-jp":
        text = decode_jis(data)
        if text is not None:
            return text
    codec = _codec(name) or "utf-8"
    try:
        return codecs.decode(data, codec, "replace")
    except (UnicodeError, ValueError):
        return data.decode("utf-8", "replace")


def _codec(name: str) -> str | None:
    """The Python text codec for a choice or a label; None for no codec, or not a text one."""
    codec = CHOICES.get(name, name)
    try:
        info = codecs.lookup(codec)
    except LookupError:
        return None
    # "base64", "zlib" and kin are codecs too, but not text encodings.
    return info.name if getattr(info, "_is_text_encoding", True) else None


def _normalise(label: str | None) -> str | None:
    if not label:
        return None
    key = label.strip().strip("\"'").lower().replace("_", "-")
    return key if _LABEL.fullmatch(key) else None
