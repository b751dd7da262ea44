"""Event-source stand-ins' pure logic (no sockets)."""

from typing import Any

import pytest

from mailport_local.sources import SqsEventSource, rate_seconds


@pytest.mark.parametrize(
    ("expr", "seconds"),
    [
        ("rate(10 minutes)", 600),
        ("rate(1 minute)", 60),
        ("rate(2 hours)", 7200),
        ("rate(1 day)", 86400),
    ],
)
def test_rate_expressions(expr: str, seconds: int) -> None:
    assert rate_seconds(expr) == seconds


def test_cron_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="rate"):
        rate_seconds("cron(0 12 * * ? *)")


RECORDS = [{"messageId": m, "receiptHandle": f"rh-{m}"} for m in ("a", "b", "c")]


def _source(report: bool) -> SqsEventSource:
    return SqsEventSource(
        function=None, queue_url="q", queue_arn="arn", report_batch_item_failures=report
    )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("result", "kept"),
    [
        ({"batchItemFailures": []}, ["a", "b", "c"]),
        ({"batchItemFailures": [{"itemIdentifier": "b"}]}, ["a", "c"]),
        (None, ["a", "b", "c"]),
        ({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, []),  # unknown id: whole batch fails
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, []),
        ({"batchItemFailures": ["b"]}, []),
    ],
)
def test_partial_batch_response_as_lambda_reads_it(result: Any, kept: list[str]) -> None:
    done = _source(report=True)._succeeded(RECORDS, result)
    assert [r["messageId"] for r in done] == kept


def test_without_report_batch_item_failures_a_return_means_all_done() -> None:
    assert (
        len(
            _source(report=False)._succeeded(
                RECORDS, {"batchItemFailures": [{"itemIdentifier": "a"}]}
            )
        )
        == 3
    )
