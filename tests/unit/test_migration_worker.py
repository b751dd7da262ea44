import pytest

from mailport_local.lambdas import LocalContext
from migration_worker import UnknownStep, handler


def ctx() -> LocalContext:
    return LocalContext("migration", 128, 30)


def test_unknown_step_is_a_named_error() -> None:
    with pytest.raises(UnknownStep):
        handler({"step": "teleport", "job": {"job_id": "j"}}, ctx())


def test_plan_then_chunks_until_done() -> None:
    cursor = handler({"step": "plan", "job": {"job_id": "j"}}, ctx())
    assert cursor["job_id"] == "j"
    assert (
        handler({"step": "notify", "job": {"job_id": "j"}, "outcome": "completed"}, ctx())[
            "notified"
        ]
        == "completed"
    )
