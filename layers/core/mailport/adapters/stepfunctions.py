"""Migration executions on Step Functions."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from mailport.adapters.aws_errors import translate
from mailport.adapters.clients import ClientSource
from mailport.catalogue import say


class SfnExecutions:
    """``Executions`` on the migration state machine."""

    def __init__(self, state_machine_arn: str, *, client: ClientSource) -> None:
        self._arn = state_machine_arn
        self._client = client

    @property
    def _sfn(self) -> Any:
        return self._client()

    def start(self, name: str, payload: Mapping[str, Any]) -> bool:
        """Start an execution; an existing one of the same name (a retry) is not an error.

        The payload names the job only: credentials stay sealed in the table, so they never
        appear in the execution history.
        """
        try:
            self._sfn.start_execution(
                stateMachineArn=self._arn, name=name, input=json.dumps(dict(payload))
            )
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
                return False
            raise translate(e, say("doing.migration_start")) from e
        except BotoCoreError as e:
            raise translate(e, say("doing.migration_start")) from e
        return True
