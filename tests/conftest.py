"""Fixtures shared by the tiers. The local stack points every boto3 client in this process at
its moto server, so one stack serves the whole test session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mailport_local.stack import LocalStack

REPO_ROOT = Path(__file__).resolve().parents[1]
CORPUS = REPO_ROOT.parent / "shared" / "corpus" / "eml"


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    from mailport_local.stack import LocalStackConfig

    config = LocalStackConfig(
        api_port=0,
        state_dir=tmp_path_factory.mktemp("local-state"),
        persist=False,
        run_schedules=False,
    )
    stack = LocalStack(config).start()
    yield stack
    stack.stop()
