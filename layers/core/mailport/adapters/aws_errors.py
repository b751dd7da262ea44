"""Translate botocore errors into domain errors, at the boundary."""

from __future__ import annotations

import random
import time

from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, ReadTimeoutError

from mailport.catalogue import Words, say
from mailport.errors import MailportError, StorageError, TransientError

# Codes AWS documents as retryable for the services we use (throttling and 5xx).
_TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "SlowDown",
        "InternalError",
        "InternalServerError",
        "ServiceUnavailable",
        "KMSInternalException",
        "TransactionInProgressException",
    }
)


_FIRST_SERVER_ERROR = 500


def translate(error: Exception, what: Words | str) -> MailportError:
    """The domain error for a botocore error raised while doing ``what``."""
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in _TRANSIENT_CODES or status >= _FIRST_SERVER_ERROR:
            return TransientError(say("site.storage_busy", what=what, code=code))
        return StorageError(say("site.storage_failed_as", what=what, detail=code))
    if isinstance(error, (ConnectionError, ReadTimeoutError)):
        return TransientError(say("site.storage_silent", what=what))
    if isinstance(error, BotoCoreError):
        return StorageError(say("site.storage_failed_as", what=what, detail=type(error).__name__))
    return StorageError(say("site.storage_failed", what=what))


def back_off(attempt: int) -> None:
    """Wait before retrying what a batch call left undone (DynamoDB's unprocessed items, SQS's
    ``Failed`` entries, S3's per-key ``Errors``): AWS reports them when it throttles, so
    retrying at once only hits the throttle again (AWS advises exponential backoff). Full
    jitter, 50 ms doubling, at most 1.6 s: about 3 s over 7 retries.
    """
    time.sleep(random.uniform(0, min(1.6, 0.05 * 2**attempt)))  # noqa: S311 - jitter, not crypto
