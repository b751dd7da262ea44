"""Translate botocore errors into domain errors, at the boundary."""

from __future__ import annotations

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
