"""An OAuth app registration's client id and secret, read from Secrets Manager (one secret per
identity provider: Microsoft 365, Google).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable

from botocore.exceptions import BotoCoreError, ClientError

from mailport.adapters.aws_errors import translate
from mailport.adapters.clients import ClientSource
from mailport.catalogue import say
from mailport.domain.oauth import OAuthNotConfigured
from mailport.errors import MailportError

log = logging.getLogger(__name__)

_CREDENTIALS_TTL_S = 900.0  # a rotated client secret is picked up within 15 minutes


class SecretsManagerAppCredentials:
    """The app registration's client id and secret from a Secrets Manager secret holding
    ``{"client_id": ..., "client_secret": ...}``; read on first use and kept. ``label`` names
    the provider in messages ("Microsoft 365", "Google").
    """

    def __init__(
        self,
        secret_id: str,
        *,
        client: ClientSource,
        label: str = "Microsoft 365",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._secret_id = secret_id
        self._client = client
        self._label = label
        self._clock = clock
        self._kept: tuple[float, tuple[str, str]] | None = None
        self._lock = threading.Lock()

    def __call__(self) -> tuple[str, str]:
        """(client id, client secret), read again after 15 minutes (a rotated secret)."""
        with self._lock:
            if self._kept is not None and self._clock() - self._kept[0] < _CREDENTIALS_TTL_S:
                return self._kept[1]
            value = self._read()
            self._kept = (self._clock(), value)
            return value

    def _read(self) -> tuple[str, str]:
        try:
            raw = self._client().get_secret_value(SecretId=self._secret_id)["SecretString"]
        except (ClientError, BotoCoreError) as e:
            doing = say("oauth.doing_read_registration", provider=self._label)
            raise translate(e, doing) from e
        try:
            value = json.loads(raw)
            client_id, secret = str(value["client_id"]), str(value["client_secret"])
        except (ValueError, KeyError, TypeError) as e:
            raise OAuthNotConfigured(say("oauth.app_secret_malformed", provider=self._label)) from e
        if not client_id or not secret:
            # Not cached (an exception never is): filling the secret in takes effect at once.
            raise OAuthNotConfigured(say("oauth.not_set_up_yet", provider=self._label))
        return client_id, secret


def credentials_ready(credentials: Callable[[], tuple[str, str]] | None) -> bool:
    """Whether an app registration is filled in (read from Secrets Manager at most every 15
    minutes); one that can't be read now counts as not there.
    """
    if credentials is None:
        return False
    try:
        credentials()
    except OAuthNotConfigured:
        return False
    except MailportError:  # AccessDenied, throttled: translated at the boundary
        log.warning("the app registration could not be read", exc_info=True)
        return False
    return True
