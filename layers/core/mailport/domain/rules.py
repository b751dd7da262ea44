"""Auto-sort rules (振り分け設定), as in LINE WORKS Mail: an ordered list per user, applied to
imported mail when the import source asks for it.

Matching:

* Text is compared case-insensitively after Unicode NFKC normalisation, so full-width and
  half-width variants match (``ＡＢＣ`` matches ``abc``, ``ｶﾀｶﾅ`` matches ``カタカナ``).
  ``equals`` also ignores surrounding whitespace; ``contains`` is a plain substring test.
* For from/to/cc a condition matches if ANY address in the header matches; ``contains`` and
  ``equals`` look at both the display name and the email address. An empty header (no
  addresses) matches nothing.
* ``domain_is example.com`` matches ``a@example.com`` and ``a@sub.example.com`` but not
  ``a@badexample.com``; a leading ``@`` in the value is ignored. An address without ``@``
  (display name only) has no domain.
* ``size greater_than N`` / ``less_than N`` are strict comparisons on the raw message bytes.

Applying (``apply_rules``): rules run in order and disabled rules are skipped. Each matching
rule's actions apply: the FIRST matching ``move_to_folder`` wins and later moves are ignored
(as in most mail clients); ``mark_read`` and ``flag`` accumulate; ``move_to_trash`` wins over any
move, so a trashed outcome has ``folder_id=None``. ``stop_processing`` ends the run after
that rule.

Validation: a ``PUT /v1/rules`` body's shape and bounds are checked at the API's edge
(``api_inputs.RulesInput``, whose bounds are the ``MAX_*`` here); ``parse_rules`` checks what
a shape can't say (an op that fits its field, a value of the type the op takes, a move to an
existing folder, each id and action type once) and reports the first problem, naming the rule
by its 1-based number and name (``rule_words``, which the edge's errors use too), then the
1-based condition or action and the field, e.g.
``rule 2 ("Newsletters"): condition 1: "domain_is" works only on from, to or cc``.
"""

from __future__ import annotations

import json
import re
import unicodedata
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NotRequired, TypedDict, cast

from mailport.catalogue import Words, say
from mailport.domain.message import Address, MessageSummary
from mailport.errors import ValidationFailed

FieldName = Literal["from", "to", "cc", "subject", "has_attachment", "size"]
Operator = Literal["contains", "equals", "domain_is", "is", "greater_than", "less_than"]
MatchMode = Literal["all", "any"]
ActionType = Literal["move_to_folder", "mark_read", "flag", "move_to_trash"]
ConditionValue = str | bool | int

MAX_RULES = 100
MAX_CONDITIONS = 20
MAX_ACTIONS = 5
MAX_NAME_LENGTH = 100
MAX_TEXT_LENGTH = 256

_OPERATORS: Mapping[FieldName, tuple[Operator, ...]] = {
    "from": ("contains", "equals", "domain_is"),
    "to": ("contains", "equals", "domain_is"),
    "cc": ("contains", "equals", "domain_is"),
    "subject": ("contains", "equals"),
    "has_attachment": ("is",),
    "size": ("greater_than", "less_than"),
}
_DOMAIN = re.compile(r"[^\s@.]+(?:\.[^\s@.]+)*")


# --- the rules themselves -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Condition:
    """One test on a message: ``field op value``; the op always fits the field."""

    field: FieldName
    op: Operator
    value: ConditionValue

    def __post_init__(self) -> None:
        problem = _condition_problem(self.field, self.op, self.value)
        if problem:
            raise ValidationFailed(say("rules.in_condition", problem=problem))


@dataclass(frozen=True, slots=True)
class Action:
    """One thing a matching rule does; ``folder_id`` is set exactly for ``move_to_folder``."""

    type: ActionType
    folder_id: str | None = None

    def __post_init__(self) -> None:
        problem = _action_problem(self.type, self.folder_id)
        if problem:
            raise ValidationFailed(say("rules.in_action", problem=problem))


@dataclass(frozen=True, slots=True)
class Rule:
    """One auto-sort rule of a user's ordered list."""

    id: str
    name: str
    enabled: bool
    match: MatchMode
    conditions: tuple[Condition, ...]
    actions: tuple[Action, ...]
    stop_processing: bool

    def __post_init__(self) -> None:
        if not 1 <= len(self.conditions) <= MAX_CONDITIONS:
            raise ValidationFailed(say("rules.conditions_count", max=MAX_CONDITIONS))
        if not 1 <= len(self.actions) <= MAX_ACTIONS:
            raise ValidationFailed(say("rules.actions_count", max=MAX_ACTIONS))


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the rules decided for one message. ``folder_id`` is None if no move applies (the
    message stays in the import's default folder) and always None when ``trashed``.
    """

    folder_id: str | None
    seen: bool
    flagged: bool
    trashed: bool
    matched_rule_ids: tuple[str, ...]


def _either(words: Sequence[str]) -> Words | str:
    """``a, b or c`` (in Japanese ``a、b、c``)."""
    if len(words) == 1:
        return words[0]
    if len(words) == 2:  # noqa: PLR2004 - the last pair
        return say("rules.list_or", first=words[0], rest=words[1])
    return say("rules.list_comma", first=words[0], rest=_either(words[1:]))


def _condition_problem(field: FieldName, op: Operator, value: object) -> Words | None:
    if op not in _OPERATORS[field]:
        fields = [name for name, ops in _OPERATORS.items() if op in ops]
        return say("rules.op_fields", op=op, fields=_either(fields))
    if op == "is":
        return None if isinstance(value, bool) else say("rules.value_bool")
    if op in ("greater_than", "less_than"):
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return None
        return say("rules.value_bytes", op=op)
    return _text_problem(op, value)


def _text_problem(op: Operator, value: object) -> Words | None:
    if not isinstance(value, str):
        return say("rules.value_string", op=op)
    if not value.strip():
        return say("rules.value_empty")
    if len(value) > MAX_TEXT_LENGTH:
        return say("rules.value_long", max=MAX_TEXT_LENGTH)
    if op == "domain_is" and not _DOMAIN.fullmatch(_domain_value(value)):
        return say("rules.value_domain")
    return None


def _action_problem(action_type: ActionType, folder_id: str | None) -> Words | None:
    if action_type == "move_to_folder" and not folder_id:
        return say("rules.move_needs_folder")
    if action_type != "move_to_folder" and folder_id is not None:
        return say("rules.folder_only_for_move")
    return None


# --- matching -----------------------------------------------------------------------------


def _norm(text: str) -> str:
    """Caseless, width-insensitive form of ``text`` (NFKC, casefold, NFKC again)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def _domain_value(value: str) -> str:
    return _norm(value).strip().removeprefix("@").rstrip(".")


def _email_domain(email: str) -> str | None:
    local, at, domain = _norm(email).strip().rpartition("@")
    if not at or not local:
        return None
    return domain.rstrip(".")


def _text_matches(op: Operator, value: str, text: str) -> bool:
    if op == "contains":
        return _norm(value) in _norm(text)
    return _norm(value).strip() == _norm(text).strip()  # equals


def _address_matches(op: Operator, value: str, address: Address) -> bool:
    if op == "domain_is":
        domain = _email_domain(address.email)
        wanted = _domain_value(value)
        return domain is not None and (domain == wanted or domain.endswith("." + wanted))
    return _text_matches(op, value, address.name) or _text_matches(op, value, address.email)


def _addresses(message: MessageSummary, field: FieldName) -> tuple[Address, ...]:
    if field == "from":
        return message.from_
    if field == "to":
        return message.to
    return message.cc


def condition_matches(condition: Condition, message: MessageSummary) -> bool:
    """Whether ``message`` passes ``condition``."""
    field, op, value = condition.field, condition.op, condition.value
    if field == "has_attachment":
        return message.has_attachments == value
    if field == "size":
        limit = int(value)
        return message.size > limit if op == "greater_than" else message.size < limit
    if field == "subject":
        return _text_matches(op, str(value), message.subject)
    return any(_address_matches(op, str(value), a) for a in _addresses(message, field))


def rule_matches(rule: Rule, message: MessageSummary) -> bool:
    """Whether ``message`` passes all (``match="all"``) or any of the rule's conditions;
    ``enabled`` is not looked at here.
    """
    results = (condition_matches(c, message) for c in rule.conditions)
    return all(results) if rule.match == "all" else any(results)


@dataclass(slots=True)
class _Tally:
    folder_id: str | None = None
    seen: bool = False
    flagged: bool = False
    trashed: bool = False

    def apply(self, action: Action) -> None:
        if action.type == "move_to_folder" and self.folder_id is None:
            self.folder_id = action.folder_id
        elif action.type == "mark_read":
            self.seen = True
        elif action.type == "flag":
            self.flagged = True
        elif action.type == "move_to_trash":
            self.trashed = True


def apply_rules(rules: Sequence[Rule], message: MessageSummary) -> Outcome:
    """Run ``rules`` in order over ``message`` (see the module docstring for the semantics)."""
    tally = _Tally()
    matched: list[str] = []
    for rule in rules:
        if not rule.enabled or not rule_matches(rule, message):
            continue
        matched.append(rule.id)
        for action in rule.actions:
            tally.apply(action)
        if rule.stop_processing:
            break
    return Outcome(
        folder_id=None if tally.trashed else tally.folder_id,
        seen=tally.seen,
        flagged=tally.flagged,
        trashed=tally.trashed,
        matched_rule_ids=tuple(matched),
    )


# --- the PUT /v1/rules body ---------------------------------------------------------------


class ConditionRequest(TypedDict):
    """A condition as sent; ``value``'s type depends on ``op``, which ``parse_rules`` checks
    (in words that name the op).
    """

    field: FieldName
    op: Operator
    value: object


class ActionRequest(TypedDict):
    """An action as sent; whether ``folder_id`` belongs is checked here."""

    type: ActionType
    folder_id: NotRequired[str]


class RuleRequest(TypedDict):
    """A rule as sent; without an ``id`` it gets a new one."""

    id: NotRequired[str]
    name: str
    enabled: bool
    match: MatchMode
    conditions: list[ConditionRequest]
    actions: list[ActionRequest]
    stop_processing: bool


class RulesRequest(TypedDict):
    """A ``PUT /v1/rules`` body, its shape and bounds checked at the API's edge
    (``api_inputs.RulesInput``: at most MAX_RULES rules of 1 to MAX_CONDITIONS conditions and
    1 to MAX_ACTIONS actions, a name of 1 to MAX_NAME_LENGTH characters once trimmed).
    """

    rules: list[RuleRequest]


_LABEL_LENGTH = 40  # of a rule name quoted in an error message


def rule_words(number: int, rule: object) -> Words:
    """How an error names a rule: ``rule 2 ("Newsletters")`` (「ルール 2（"Newsletters"）」)
    by its 1-based number and its name (cut to 40 characters), or ``rule 2`` when it has no
    name to show.
    """
    name = rule.get("name") if isinstance(rule, Mapping) else None
    if not isinstance(name, str) or not name.strip():
        return say("rules.rule", number=number)
    name = name.strip()
    shown = name if len(name) <= _LABEL_LENGTH else name[:_LABEL_LENGTH] + "…"
    return say("rules.rule_named", number=number, name=json.dumps(shown, ensure_ascii=False))


def rule_label(number: int, rule: object) -> str:
    """``rule_words`` in English."""
    return str(rule_words(number, rule))


def _at(where: Words, problem: Words) -> Words:
    """``where: problem``, e.g. ``rule 2 ("News"): condition 1: ...``."""
    return say("validation.at", where=where, problem=problem)


def _parse_condition(raw: ConditionRequest) -> Condition | Words:
    field, op, value = raw["field"], raw["op"], raw["value"]
    problem = _condition_problem(field, op, value)
    # No problem: the value is the string, number or boolean the op takes.
    return problem if problem else Condition(field, op, cast(ConditionValue, value))


def _parse_action(
    raw: ActionRequest, earlier: Sequence[Action], folder_exists: Callable[[str], bool]
) -> Action | Words:
    action_type, folder_id = raw["type"], raw.get("folder_id")
    problem = _action_problem(action_type, folder_id)
    if problem:
        return problem
    if any(a.type == action_type for a in earlier):
        return say("rules.action_twice", type=action_type)
    if folder_id is not None and not folder_exists(folder_id):
        return say("rules.folder_missing", folder=json.dumps(folder_id, ensure_ascii=False))
    return Action(action_type, folder_id)


def _parse_rule(
    number: int, raw: RuleRequest, ids: dict[str, int], folder_exists: Callable[[str], bool]
) -> Rule:
    label = rule_words(number, raw)
    given = raw.get("id")
    if given is not None and given in ids:
        raise ValidationFailed(say("rules.id_taken", rule=label, id=given, other=ids[given]))
    conditions: list[Condition] = []
    for n, raw_condition in enumerate(raw["conditions"], start=1):
        condition = _parse_condition(raw_condition)
        if isinstance(condition, Words):
            where = _at(say("rules.condition", number=n), condition)
            raise ValidationFailed(_at(label, where))
        conditions.append(condition)
    actions: list[Action] = []
    for n, raw_action in enumerate(raw["actions"], start=1):
        action = _parse_action(raw_action, actions, folder_exists)
        if isinstance(action, Words):
            raise ValidationFailed(_at(label, _at(say("rules.action", number=n), action)))
        actions.append(action)
    rule_id = given or uuid.uuid4().hex
    ids[rule_id] = number
    return Rule(
        id=rule_id,
        name=raw["name"].strip(),
        enabled=raw["enabled"],
        match=raw["match"],
        conditions=tuple(conditions),
        actions=tuple(actions),
        stop_processing=raw["stop_processing"],
    )


def parse_rules(
    request: RulesRequest | Mapping[str, Any], *, folder_exists: Callable[[str], bool]
) -> tuple[Rule, ...]:
    """The rules of a checked ``PUT /v1/rules`` body (or of a document ``rules_to_json``
    wrote, as the store keeps it), in order; rules without an ``id`` get a new one. Raise
    ``ValidationFailed`` naming the first rule, and field, whose meaning is wrong.
    """
    checked = cast(RulesRequest, request)
    ids: dict[str, int] = {}
    return tuple(
        _parse_rule(number, raw, ids, folder_exists)
        for number, raw in enumerate(checked["rules"], start=1)
    )


def _action_json(action: Action) -> dict[str, object]:
    if action.folder_id is None:
        return {"type": action.type}
    return {"type": action.type, "folder_id": action.folder_id}


def rules_to_json(rules: Sequence[Rule]) -> dict[str, object]:
    """The ``GET /v1/rules`` body: the inverse of ``parse_rules``."""
    return {
        "rules": [
            {
                "id": rule.id,
                "name": rule.name,
                "enabled": rule.enabled,
                "match": rule.match,
                "conditions": [
                    {"field": c.field, "op": c.op, "value": c.value} for c in rule.conditions
                ],
                "actions": [_action_json(a) for a in rule.actions],
                "stop_processing": rule.stop_processing,
            }
            for rule in rules
        ]
    }
