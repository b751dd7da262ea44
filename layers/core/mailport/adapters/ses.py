"""Notices by email through Amazon SES (when a sender identity is configured)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from mailport.adapters.aws_errors import translate
from mailport.adapters.clients import ClientSource
from mailport.catalogue import say


class SesMailer:
    """``Mailer`` on SES ``SendRawEmail`` (the message is built by the domain, headers safe)."""

    def __init__(self, *, client: ClientSource) -> None:
        self._client = client

    @property
    def _ses(self) -> Any:
        return self._client()

    def send(self, sender: str, to: str, raw: bytes) -> None:
        """Send one message."""
        try:
            self._ses.send_raw_email(Source=sender, Destinations=[to], RawMessage={"Data": raw})
        except (ClientError, BotoCoreError) as e:
            raise translate(e, say("doing.notice_send")) from e
