"""Lambda events as AWS delivers them, for tests that call a handler directly."""

from __future__ import annotations

import json
from typing import Any


def sqs_record(message_id: str, bucket: str, objects: list[tuple[str, int]]) -> dict[str, Any]:
    """One SQS record carrying an S3 notification of ``objects`` (key, size) in ``bucket``."""
    notification = {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": "2026-11-28T00:00:00.000Z",
                "eventName": "ObjectCreated:Post",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": key, "size": size},
                },
            }
            for key, size in objects
        ]
    }
    return queue_record(message_id, notification, "ingest")


def queue_record(message_id: str, body: object, queue: str) -> dict[str, Any]:
    """One SQS record whose body is ``body`` as JSON, from ``queue``."""
    return {
        "messageId": message_id,
        "receiptHandle": f"r-{message_id}",
        "body": json.dumps(body),
        "attributes": {},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{queue}",
        "awsRegion": "us-east-1",
    }
