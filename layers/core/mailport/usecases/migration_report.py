"""What the per-item report of a migration says about a message: its line, made from what
the server handed over (the whole message, or only its header lines for one not downloaded).
"""

from __future__ import annotations

import email.parser
import email.policy
from collections.abc import Sequence

from mailport.domain.migration import FolderPlan, ItemReason, ReportItem, counts_for
from mailport.domain.mime.headers import addresses_of, charset_hint, date_of, header_text

_SUBJECT_CHARS = 300  # a report line, not the index: enough to recognise the message
_PARSER = email.parser.BytesHeaderParser(policy=email.policy.compat32)


def report_item(
    index: int,
    folder: FolderPlan,
    uid: int,
    reason: ItemReason,
    size: int,
    *,
    header: bytes = b"",
    limit: int | None = None,
) -> ReportItem:
    """The report's line for one message; ``header``: its bytes (or only its header), read
    as leniently as the index reads mail, for a message mailport could not read as a whole.
    """
    subject = sender = ""
    date = None
    if header:
        try:
            msg = _PARSER.parsebytes(header[: 64 * 1024])
            hint = charset_hint(msg)
            subject = header_text(msg.get("Subject"), hint, _SUBJECT_CHARS)
            found = addresses_of(msg, "From", hint)
            if found:
                first = found[0]
                sender = f"{first.name} <{first.email}>" if first.name else first.email
            date = date_of(msg, hint)
        except (ValueError, TypeError, LookupError, UnicodeError):  # a line, however odd
            pass
    return ReportItem(
        folder_index=index,
        folder=folder.name,
        uidvalidity=folder.uidvalidity,
        uid=uid,
        reason=reason,
        size=size,
        subject=subject,
        sender=sender,
        date=date,
        limit=limit,
    )


def listed(items: Sequence[ReportItem], plan: Sequence[FolderPlan]) -> list[ReportItem]:
    """The items of a page the job's checkpoints count (``counts_for``)."""
    return [i for i in items if i.folder_index < len(plan) and counts_for(i, plan[i.folder_index])]
