"""Raw RFC 5322 bytes in, the index's ``MessageSummary`` out; and a polite "no" for files that
are not mail. Pure code: no I/O, stdlib ``email`` only.

The input is untrusted (uploads, POP servers, IMAP migrations), so every loop and every copy is
bounded: header blocks and header values are cut before they are parsed, the MIME tree is walked
iteratively with a depth and a part budget, and charset decoding never raises. By job, each
module importing only those before it:

* ``sniff``: is it one message (``check_is_message``, ``NotAMessage``);
* ``digest``: the content ``fingerprint`` and ``synthesized_message_id``;
* ``charset``: bytes to text with practical supersets and a fallback chain;
* ``headers``: raw header text, RFC 2047 encoded-words, addresses, date, Message-ID;
* ``parts``: the bounded MIME walk;
* ``summary``: ``summarize``, the facts the index keeps;
* ``leaves``: the leaf parts reading shows, with where their header and body lie;
* ``partmap``: a big message's leaves as its index item keeps them (``summarize_mapped``).
"""

from mailport.domain.mime.digest import fingerprint, synthesized_message_id
from mailport.domain.mime.sniff import SNIFF_BYTES, NotAMessage, check_is_message
from mailport.domain.mime.summary import summarize

__all__ = [
    "SNIFF_BYTES",
    "NotAMessage",
    "check_is_message",
    "fingerprint",
    "summarize",
    "synthesized_message_id",
]
