"""Text safe to show: kept apart from ``mime`` so that code showing a server's words (remote
errors, migration notices) does not import the ``email`` package at cold start.
"""

from __future__ import annotations

import re

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")  # C0, DEL, C1: shown as a space
# The bidi embeddings, overrides and isolates, removed: a sender could make
# "invoice\u202efdp.exe" display as "invoiceexe.pdf" (CVE-2021-42574 style). The marks
# (U+200E/U+200F) stay: right-to-left text needs them.
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` without bidi controls, and with control characters as spaces: safe to show
    (mail headers, and what a remote server says in an error message).
    """
    return CONTROL.sub(" ", _BIDI.sub("", text))
