"""The API's answer and body shapes spell each closed vocabulary (states, statuses, presets,
icons, rule fields …) as a ``Literal`` so that openapi.json lists it; the domain owns the same
vocabulary as an enum or a ``Literal``. This fails when the two drift apart, so a new job state
or preset can't reach the wire undocumented (or the document promise one the code never sends).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable
from enum import Enum
from typing import Any, Literal, get_args, get_origin, get_type_hints

import api_inputs
import api_models
import api_models_import
import pytest

from mailport.domain import rules
from mailport.domain.accounts import (
    ICONS,
    OAuthProvider,
    Preset,
    RunStatus,
    RunTrigger,
    SignInMethod,
)
from mailport.domain.identity import Feature, Plan
from mailport.domain.mailbox import SourceType, SystemFolder
from mailport.domain.migration import JobState
from mailport.domain.oauth import ConnectionStatus
from mailport.domain.uploads import FileStatus


def _literal_values(hint: Any) -> set[object]:
    """Every value of the ``Literal``s inside ``hint`` (through Optional, list, Annotated)."""
    if get_origin(hint) is Literal:
        return set(get_args(hint))
    if get_origin(hint) in (typing.Union, types.UnionType, list, typing.Annotated):
        found: set[object] = set()
        for arg in get_args(hint):
            found |= _literal_values(arg)
        return found
    return set()


def _values(vocabulary: type[Enum] | Iterable[object] | Any) -> set[object]:
    """The values of an enum, a ``Literal`` or a collection."""
    if isinstance(vocabulary, type) and issubclass(vocabulary, Enum):
        return {member.value for member in vocabulary}
    if get_origin(vocabulary) is Literal:
        return set(get_args(vocabulary))
    return set(vocabulary)


# (module, shape, field) -> the domain's own vocabulary
CASES: list[tuple[Any, str, str, Any]] = [
    (api_models, "Me", "plan", Plan),
    (api_models, "Me", "features", Feature),
    (api_models, "Folder", "system", SystemFolder),
    (api_models, "_MessageSource", "type", SourceType),
    (api_models, "UploadFile", "status", FileStatus),
    (api_models_import, "Account", "preset", Preset),
    (api_models_import, "Account", "icon", ICONS),
    # FORGET is a queued request, never a run: a run's trigger is one of the others.
    (api_models_import, "FetchRun", "trigger", _values(RunTrigger) - {RunTrigger.FORGET.value}),
    (api_models_import, "FetchRun", "status", RunStatus),
    (api_models_import, "AccountStatus", "last_status", RunStatus),
    (api_models, "Migration", "state", JobState),
    (api_models, "OAuthConnection", "status", ConnectionStatus),
    (api_models, "_Condition", "field", rules.FieldName),
    (api_models, "_Condition", "op", rules.Operator),
    (api_models, "_Rule", "match", rules.MatchMode),
    (api_models_import, "_Preset", "id", Preset),
    (api_models_import, "_Preset", "signin", SignInMethod),
    (api_models_import, "_Preset", "oauth_provider", OAuthProvider),
    (api_inputs, "AccountInput", "preset", Preset),
    (api_inputs, "AccountInput", "icon", ICONS),
]


@pytest.mark.parametrize(
    ("module", "shape", "field", "vocabulary"),
    CASES,
    ids=[f"{m.__name__}.{s}.{f}" for m, s, f, _ in CASES],
)
def test_the_api_spells_each_vocabulary_as_the_domain_does(
    module: Any, shape: str, field: str, vocabulary: Any
) -> None:
    hints = get_type_hints(getattr(module, shape), include_extras=True)
    assert _literal_values(hints[field]) == _values(vocabulary)


def test_rule_actions_are_split_between_two_shapes_without_loss() -> None:
    moves = _literal_values(get_type_hints(api_models._MoveAction)["type"])
    others = _literal_values(get_type_hints(api_models._OtherAction)["type"])
    assert moves | others == _values(rules.ActionType) and not moves & others


def test_the_check_sees_a_drift() -> None:
    assert _values(JobState) != _values(JobState) - {"needs_signin"}
    hints = get_type_hints(api_models.Migration, include_extras=True)
    assert _literal_values(hints["state"]) != _values(FileStatus)
