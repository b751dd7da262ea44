"""``DownloadLinks`` on the mail bucket: presigned GETs, and decoded part copies under
``parts/`` (which the bucket's lifecycle rule removes after a day).

A Lambda answers at most 6 MB, so a big message or attachment can't go through the API: the
browser is handed a presigned GET instead. S3 answers it with the Content-Disposition and
Content-Type the link names (``response-content-*``, honoured on signed requests only).
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from mailport.adapters.aws_errors import translate
from mailport.adapters.clients import ClientSource
from mailport.adapters.s3 import head
from mailport.catalogue import say
from mailport.http import attachment


class S3DownloadLinks:
    """Links to the mail bucket's objects. ``client`` reads and writes (``Clients.s3``);
    ``signer`` signs the links with SigV4 (``Clients.s3_presign``).
    """

    def __init__(self, bucket: str, *, client: ClientSource, signer: ClientSource) -> None:
        self._bucket = bucket
        self._client = client
        self._signer = signer

    def link(self, key: str, filename: str, content_type: str, expires_s: int) -> str:
        """A presigned GET of ``key`` that downloads as ``filename``."""
        try:
            url: str = self._signer().generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self._bucket,
                    "Key": key,
                    "ResponseContentDisposition": attachment(filename),
                    "ResponseContentType": content_type,
                },
                ExpiresIn=expires_s,
            )
        except (ClientError, BotoCoreError) as e:
            raise translate(e, say("doing.download_link")) from e
        return url

    def copy_name(self, key: str) -> str | None:
        """The ``filename`` a copy was put with (object metadata), or None."""
        found = head(self._client(), say("doing.download_link"), Bucket=self._bucket, Key=key)
        if found is None:
            return None
        # Metadata is ASCII on the wire: the name is kept percent-encoded.
        return urllib.parse.unquote(found.get("Metadata", {}).get("filename", "")) or None

    def put_copy(self, key: str, data: bytes, filename: str) -> None:
        """Store a decoded part, its name in its metadata."""
        s3: Any = self._client()
        try:
            s3.put_object(
                Bucket=self._bucket,
                Key=key,
                Body=data,
                ContentType="application/octet-stream",
                Metadata={"filename": urllib.parse.quote(filename, safe="")},
            )
        except (ClientError, BotoCoreError) as e:
            raise translate(e, say("doing.download_link")) from e

    def forget_copies(self, prefix: str) -> None:
        """Delete every copy under ``prefix``: a message has a few parts, so a page or two."""
        s3: Any = self._client()
        try:
            pages = s3.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=prefix)
            for page in pages:
                keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
                if keys:
                    s3.delete_objects(Bucket=self._bucket, Delete={"Objects": keys, "Quiet": True})
        except (ClientError, BotoCoreError) as e:
            raise translate(e, say("doing.download_forget")) from e
