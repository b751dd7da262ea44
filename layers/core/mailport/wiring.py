"""Everything wired once, at cold start, in one place."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import boto3

from mailport.adapters.dynamodb import DynamoDirectory
from mailport.ports import Directory
from mailport.settings import Settings


@dataclass(frozen=True, slots=True)
class Container:
    """The adapters a handler may use, built from one ``Settings``."""

    settings: Settings
    directory: Directory


def build(settings: Settings, *, session: boto3.session.Session | None = None) -> Container:
    """Wire the adapters for ``settings`` (an explicit session beats the default one)."""
    session = session or boto3.session.Session()
    return Container(
        settings=settings,
        directory=DynamoDirectory(settings.table_name, session=session),
    )


@cache
def container() -> Container:
    """The process-wide container, built from the environment on first use."""
    return build(Settings.from_env())
