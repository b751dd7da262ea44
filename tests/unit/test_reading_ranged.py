"""Reading a big message by its part map (#23: "a 49 MB message is not downloaded whole just
to read its text"): the same answers as the whole read, a few ranges fetched instead of the
whole object, a whole read again when the map doesn't match the bytes, and no map (no byte,
no request more) for ordinary mail.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

import pytest

from bench.capacity import ddb_item_bytes
from mailport.adapters.dynamodb_mailbox import DynamoMailbox
from mailport.domain.mailbox import Source, SourceType
from mailport.domain.mime import NotAMessage, summarize
from mailport.domain.mime.partmap import (
    MAP_THRESHOLD,
    TAIL_BYTES,
    decode_map,
    encode_map,
    part_map_of,
    summarize_mapped,
)
from mailport.domain.reading import part as read_part
from mailport.usecases.importing import Importer, ImportRequest
from tests.support.ranged_reading import (
    OPTIONS,
    OWNER,
    CountingStore,
    content_json,
    part_answer,
    replaced_leaf,
    stored,
    two_ways,
)
from tests.support.reading_mail import (
    JAPANESE,
    PNG,
    base64_part,
    html_with_remote_image,
    message,
    multipart,
    part,
    shift_jis_labelled_latin1,
)
from tests.unit.test_mime_corpus import CORPUS, FILES

LONG = ("日本語のテキスト。" * 160_000).encode()  # 4.3 MB of UTF-8: over what reading decodes
BIG = bytes(range(256)) * (35 * 1024 * 4) + b"xy"  # 35 MiB + 2, 50 MB in base64


def qp_part(content_type: str, data: bytes) -> bytes:
    encoded = binascii.b2a_qp(data).replace(b"\n", b"\r\n")
    return part(content_type, encoded, "Content-Transfer-Encoding: quoted-printable")


def forty_nine_mb() -> bytes:
    """Text and HTML alternatives, an inline logo (cid:) and a 35 MiB zip: 50 MB stored."""
    html = f'<p>{JAPANESE}</p><img src="cid:logo@example.jp">'.encode()
    related = multipart(
        "related",
        part("text/html; charset=utf-8", html, "Content-Transfer-Encoding: 8bit"),
        base64_part("image/png", PNG, "Content-ID: <logo@example.jp>"),
        boundary="rel",
        subject="",
    )
    alternative = multipart(
        "alternative",
        base64_part("text/plain; charset=iso-2022-jp", JAPANESE.encode("iso2022_jp")),
        related,
        boundary="alt",
        subject="",
    )
    zipped = base64_part(
        "application/zip", BIG, 'Content-Disposition: attachment; filename="資料.zip"'
    )
    return multipart("mixed", alternative, zipped, boundary="mix", subject="大きな添付")


def uneven_base64_text() -> bytes:
    """A base64 text whose first 4.1 MB are in 4-letter lines, the rest in 76-letter ones:
    twice the bytes per byte of content at its start than on average.
    """
    head, rest = LONG[:4_100_001], LONG * 2
    short = b"".join(base64.b64encode(head[i : i + 3]) + b"\r\n" for i in range(0, len(head), 3))
    encoded = short + base64.encodebytes(rest).replace(b"\n", b"\r\n")
    text = part("text/plain; charset=utf-8", encoded, "Content-Transfer-Encoding: base64")
    return multipart("mixed", text, base64_part("image/png", PNG))


SAMPLES = {
    "shift_jis_labelled_latin1": shift_jis_labelled_latin1(),
    "newsletter": html_with_remote_image(),
    "forwarded": multipart(
        "mixed",
        base64_part("text/plain; charset=utf-8", "本文".encode()),
        b"Content-Type: message/rfc822\r\n\r\n" + message("text/plain", b"inner"),
    ),
    "single_part_pdf": message(
        "application/pdf; name=a.pdf",
        base64.encodebytes(b"%PDF" * 400_000),
        "Content-Transfer-Encoding: base64",
    ),
    "single_part_text": message("text/plain; charset=utf-8", LONG),
    "cut_base64_text_then_a_file": multipart(
        "mixed",
        base64_part("text/plain; charset=utf-8", LONG),
        base64_part("application/octet-stream", BIG[:3_000_000]),
    ),
    "uneven_base64_text": uneven_base64_text(),
    "cut_qp_text_and_html": multipart(
        "alternative",
        qp_part("text/plain; charset=utf-8", LONG),
        qp_part("text/html; charset=utf-8", b"<p>" + LONG + b"</p>"),
    ),
    "cut_8bit_html_without_label": message(
        "text/html", b'<meta charset="utf-8"><p>' + LONG, "Content-Transfer-Encoding: 8bit"
    ),
    "lone_lf_and_no_close_delimiter": (
        b"From: a@example.jp\nSubject: x\nContent-Type: multipart/mixed; boundary=q\n\n"
        b"--q\nContent-Type: text/plain; charset=euc-jp\n\n"
        + JAPANESE.encode("euc_jp")
        + b"\n--q\nContent-Type: image/gif\nContent-Transfer-Encoding: base64\n\nR0lGODlh\n"
    ),
}


def assert_alike(raw: bytes) -> None:
    """content() with every option, and part() of every leaf (and of none), alike both ways."""
    ways = two_ways(raw)
    for charset, remote in OPTIONS:
        whole = content_json(ways.service, "whole", charset, remote)
        assert content_json(ways.service, "mapped", charset, remote) == whole
    for part_id in [m.leaf.part_id for m in ways.part_map.leaves] + ["9", "1.9"]:
        whole_part = part_answer(ways.service, "whole", part_id)
        assert part_answer(ways.service, "mapped", part_id) == whole_part, part_id


# ------------------------------------------------------------------ the same answers
@pytest.mark.parametrize("name", list(SAMPLES))
def test_reading_by_the_map_answers_as_reading_whole(name: str) -> None:
    assert_alike(SAMPLES[name])


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no corpus at {CORPUS}")
@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(CORPUS)) for p in FILES])
def test_every_corpus_message_reads_alike_by_its_map(path: Path) -> None:
    raw = path.read_bytes()
    try:
        summarize(raw)
    except NotAMessage:
        return
    if part_map_of(raw) is None:  # over the bounds, or undecodable header bytes: read whole
        return
    assert_alike(raw)


def test_cut_bodies_are_read_in_part() -> None:
    raw = SAMPLES["cut_base64_text_then_a_file"]
    ways = two_ways(raw)
    content_json(ways.service, "mapped")
    # 4 MB of content is 5.4 MB of base64; not the 4 MB file after it, nor the text's end.
    assert ways.store.whole_reads == 0
    assert 4_000_000 * 4 // 3 < ways.store.bytes_read < 5_700_000 < len(raw) - 4_000_000


def test_a_cut_body_fetched_short_of_its_content_is_fetched_on() -> None:
    ways = two_ways(SAMPLES["uneven_base64_text"])
    content_json(ways.service, "mapped")
    assert ways.store.whole_reads == 0
    assert len(ways.store.reads) > 1  # the first estimate held too little content
    first, *more = ways.store.reads
    assert all(
        start == end_before
        for (_, _, end_before), (_, start, _) in zip([first, *more], more, strict=False)
    )  # each goes on where the last ended


# ------------------------------------------------------------------ a 49 MB message
@pytest.fixture(scope="module")
def big() -> bytes:
    raw = forty_nine_mb()
    assert len(raw) > 49_000_000
    return raw


def test_a_49_mb_message_is_read_by_a_few_kilobytes(big: bytes) -> None:
    ways = two_ways(big)
    whole = content_json(ways.service, "whole")
    assert ways.store.bytes_read == len(big)
    ways.store.reads.clear()
    assert content_json(ways.service, "mapped") == whole
    assert ways.store.whole_reads == 0
    assert ways.store.bytes_read < 2_000  # the text and HTML parts, in one request
    assert len(ways.store.reads) == 1
    assert JAPANESE in whole and "資料.zip" in whole


def test_a_part_of_a_49_mb_message_is_read_alone(big: bytes) -> None:
    ways = two_ways(big)
    logo = ways.part_map.find("1.2.2")
    assert logo is not None
    ways.store.reads.clear()
    assert part_answer(ways.service, "mapped", "1.2.2") == (
        "image/png",
        "part-1.2.2.png",
        PNG,
    )
    assert ways.store.reads == [("range", logo.leaf.start, logo.leaf.end + TAIL_BYTES)]
    assert ways.store.bytes_read < 400
    # The 35 MiB zip is refused as before (a part answered alone is at most 4 MB), by its
    # size in the map, with no byte read.
    ways.store.reads.clear()
    answer = part_answer(ways.service, "mapped", "2")
    assert answer == part_answer(ways.service, "whole", "2")
    assert answer[0] == "LimitExceeded"  # type: ignore[index]
    assert ways.store.reads == [("get", 0, len(big))]  # the whole read's, not the map's


# ------------------------------------------------------------------ wrong maps
@pytest.mark.parametrize(
    "change",
    [
        {"start": 1},  # the header block from the wrong place
        {"body_start": 1},  # a body that starts inside its header, or after its first byte
        {"end": 1},  # a body a byte too long: the bytes after it are not its delimiter's
        {"end": -2},
    ],
    ids=["start", "body_start", "end+1", "end-2"],
)
def test_a_map_that_does_not_fit_its_bytes_reads_the_whole_message(change: dict[str, int]) -> None:
    raw = html_with_remote_image()
    found = part_map_of(raw)
    assert found is not None
    text = found.find("1.1")
    assert text is not None
    moved = {k: getattr(text.leaf, k) + v for k, v in change.items()}
    ways = two_ways(raw, replaced_leaf(found, "1.1", **moved))
    whole = content_json(ways.service, "whole")
    ways.store.reads.clear()
    assert content_json(ways.service, "mapped") == whole
    assert ways.store.whole_reads == 1
    ways.store.reads.clear()
    assert part_answer(ways.service, "mapped", "1.1") == part_answer(ways.service, "whole", "1.1")
    assert ways.store.whole_reads == 2


def test_stored_bytes_that_are_not_the_mapped_ones_are_read_whole() -> None:
    raw = html_with_remote_image()
    ways = two_ways(raw)
    key = "mail/acme/u1/mapped.eml"
    # A text part's header changed: its text is not read from the map's place.
    ways.store.objects[key] = raw.replace(b"charset=utf-8", b"charset=utf-9", 1)
    ways.service.content(OWNER, "mapped", str)
    assert ways.store.whole_reads == 1
    # Cut short: the bodies are all there, so the reading is; the PDF at the end is not.
    ways.store.objects[key] = raw[:-100]
    ways.store.reads.clear()
    ways.service.content(OWNER, "mapped", str)
    assert ways.store.whole_reads == 0
    found = read_part(raw[:-100], "2")
    assert found is not None
    assert part_answer(ways.service, "mapped", "2") == (
        found.content_type,
        found.filename,
        found.data,
    )
    assert ways.store.whole_reads == 1


# ------------------------------------------------------------------ the map itself
def test_ordinary_mail_has_no_map_and_no_byte_more() -> None:
    raw = html_with_remote_image()
    assert len(raw) < MAP_THRESHOLD
    assert summarize_mapped(raw) == (summarize(raw), None)
    item = DynamoMailbox("tbl", client=object)._message_item(OWNER, stored(raw, "m", None))
    assert "part_map" not in {k for k, v in item.items() if v is not None}


def test_a_big_message_map_is_small(big: bytes) -> None:
    summary, found = summarize_mapped(big)
    assert summary == summarize(big)
    assert found is not None and found == part_map_of(big)
    text = encode_map(found)
    assert text is not None
    assert decode_map(text) == found
    assert len(text.encode()) < 600  # five leaves
    item = DynamoMailbox("tbl", client=object)._message_item(OWNER, stored(big, "m", found))
    without = DynamoMailbox("tbl", client=object)._message_item(OWNER, stored(big, "m", None))
    from mailport.adapters.dynamo_table import to_ddb

    assert ddb_item_bytes(to_ddb(item)) - ddb_item_bytes(to_ddb(without)) < 620
    assert ddb_item_bytes(to_ddb(item)) < 4096  # one read unit still reads it


@pytest.mark.parametrize("files", [70, 30])
def test_a_map_over_its_bounds_is_not_made(files: int) -> None:
    # 70 files: over the leaf count; 30 with long names: over the bytes.
    names = [f"{'長いファイル名' * 8}-{n}.txt" for n in range(files)]
    attached = [
        part("text/plain", b"x", f'Content-Disposition: attachment; filename="{name}"')
        for name in names
    ]
    raw = multipart("mixed", *attached, base64_part("application/zip", BIG[:1_000_000]))
    assert len(raw) > MAP_THRESHOLD
    assert summarize_mapped(raw) == (summarize(raw), None)


@pytest.mark.parametrize(
    "text",
    [
        None,
        3,
        "",
        "{",
        "[]",
        "[2]",
        '[1,["1"]]',
        '[1,["1","a","",2,null,null,"",0,0,0,0,0,0]]',
        '[1,["1","a","",0,null,null,"",-1,0,0,0,0,0]]',
        '[1,["1","a","",0,1,null,"",0,0,0,0,0,0]]',
    ],
)
def test_a_stored_map_this_code_did_not_write_is_no_map(text: object) -> None:
    assert decode_map(text) is None


def test_the_importer_maps_big_messages_only(big: bytes) -> None:
    store = CountingStore()
    importer = Importer(mailbox=object(), raw_store=store)  # type: ignore[arg-type]
    for raw, mapped in ((big, True), (html_with_remote_image(), False)):
        staged = importer.stage(
            ImportRequest(OWNER, raw, "inbox", Source(SourceType.UPLOAD, "b1"), "m1")
        )
        assert (staged.message.part_map is not None) is mapped
        assert staged.message.summary == summarize(raw)
    assert store.reads == []  # made from the bytes in hand: nothing read back


def test_a_big_parts_download_copy_reads_only_that_part(big: bytes) -> None:
    """The 35 MiB zip, too big for the API's answer, is copied for a download link by its
    range alone (usecases/downloads.py), not by reading the 49 MB message."""
    from mailport.usecases.downloads import Downloads

    ways = two_ways(big)
    copies: dict[str, bytes] = {}

    class Links:
        def link(self, key: str, filename: str, content_type: str, expires_s: int) -> str:
            return f"https://store.example/{key}"

        def copy_name(self, key: str) -> str | None:
            return None

        def put_copy(self, key: str, data: bytes, filename: str) -> None:
            copies[filename] = data

        def forget_copies(self, prefix: str) -> None:
            pass

    zip_leaf = next(m for m in ways.part_map.leaves if m.leaf.filename == "資料.zip")
    ways.store.reads.clear()
    Downloads(ways.service, Links()).part(OWNER, "mapped", zip_leaf.leaf.part_id)  # type: ignore[arg-type]
    assert ways.store.whole_reads == 0
    assert ways.store.bytes_read < zip_leaf.leaf.end - zip_leaf.leaf.start + 1_000
    whole = ways.service.part(OWNER, "whole", zip_leaf.leaf.part_id, limit=None)
    assert copies == {"資料.zip": whole.data} and len(whole.data) > 30_000_000
