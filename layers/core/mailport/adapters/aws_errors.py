"""Translate botocore errors into domain errors, at the boundary."""

from __future__ import annotations

import random
import time

from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, ReadTimeoutError

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


def translate(error: Exception, what: str) -> MailportError:
    """The domain error for a botocore error raised while doing ``what``."""
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in _TRANSIENT_CODES or status >= _FIRST_SERVER_ERROR:
            return TransientError(f"{what}: the storage service is busy ({code}); try again")
        return StorageError(f"{what} failed ({code})")
    if isinstance(error, (ConnectionError, ReadTimeoutError)):
        return TransientError(f"{what}: the storage service did not answer; try again")
    if isinstance(error, BotoCoreError):
        return StorageError(f"{what} failed ({type(error).__name__})")
    return StorageError(f"{what} failed")


def back_off(attempt: int) -> None:
    """Wait before retrying what a batch call left undone (DynamoDB's unprocessed items, SQS's
    ``Failed`` entries, S3's per-key ``Errors``): AWS reports them when it throttles, so
    retrying at once only hits the throttle again (AWS advises exponential backoff). Full
    jitter, 50 ms doubling, at most 1.6 s: about 3 s over 7 retries.
    """
    time.sleep(random.uniform(0, min(1.6, 0.05 * 2**attempt)))  # noqa: S311 - jitter, not crypto
