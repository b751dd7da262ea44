"""The ``mailport.domain.mime`` package: its public names, as importers use them."""

from mailport.domain import mime
from mailport.domain.mime import digest, sniff, summary


def test_the_package_exports_what_importers_use() -> None:
    # usecases (uploads, importing, pop_fetch, migration_runner), bench and tests import these.
    assert set(mime.__all__) == {
        "SNIFF_BYTES",
        "NotAMessage",
        "check_is_message",
        "fingerprint",
        "summarize",
        "synthesized_message_id",
    }
    assert mime.NotAMessage is sniff.NotAMessage
    assert mime.check_is_message is sniff.check_is_message
    assert mime.SNIFF_BYTES == sniff.SNIFF_BYTES
    assert mime.fingerprint is digest.fingerprint
    assert mime.synthesized_message_id is digest.synthesized_message_id
    assert mime.summarize is summary.summarize
