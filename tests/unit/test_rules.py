"""Auto-sort rules: matching, applying, and a ``PUT /v1/rules`` body's errors as the API
answers them (its shape checked at the edge, ``api_inputs.RulesInput``; its meaning by
``parse_rules``).
"""

from __future__ import annotations

import copy
from typing import Any

import api_inputs
import api_validation
import pytest

from mailport.domain.message import Address, MessageSummary
from mailport.domain.rules import (
    MAX_ACTIONS,
    MAX_CONDITIONS,
    MAX_NAME_LENGTH,
    MAX_RULES,
    Action,
    ActionType,
    Condition,
    ConditionValue,
    FieldName,
    MatchMode,
    Operator,
    Outcome,
    Rule,
    apply_rules,
    condition_matches,
    parse_rules,
    rule_label,
    rules_to_json,
)
from mailport.errors import ValidationFailed

# --- builders -----------------------------------------------------------------------------


def msg(
    *,
    subject: str = "",
    from_: tuple[Address, ...] = (),
    to: tuple[Address, ...] = (),
    cc: tuple[Address, ...] = (),
    has_attachments: bool = False,
    size: int = 1000,
) -> MessageSummary:
    return MessageSummary(
        subject=subject,
        from_=from_,
        to=to,
        cc=cc,
        date=None,
        message_id=None,
        attachment_names=("a.pdf",) if has_attachments else (),
        has_attachments=has_attachments,
        size=size,
    )


def addr(email: str, name: str = "") -> Address:
    return Address(name=name, email=email)


def cond(field: FieldName, op: Operator, value: ConditionValue) -> Condition:
    return Condition(field, op, value)


def rule(
    *conditions: Condition,
    actions: tuple[Action, ...] = (Action("flag"),),
    match: MatchMode = "all",
    enabled: bool = True,
    stop: bool = False,
    rule_id: str = "r",
) -> Rule:
    return Rule(
        id=rule_id,
        name=rule_id,
        enabled=enabled,
        match=match,
        conditions=conditions,
        actions=actions,
        stop_processing=stop,
    )


def move(folder: str) -> Action:
    return Action("move_to_folder", folder)


def act(action_type: ActionType) -> Action:
    return Action(action_type)


def matches(condition: Condition, message: MessageSummary) -> bool:
    return condition_matches(condition, message)


SUBJ_HELLO = cond("subject", "contains", "hello")
NOTHING = Outcome(folder_id=None, seen=False, flagged=False, trashed=False, matched_rule_ids=())


# --- subject ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "expected"),
    [("Hello world", True), ("say HELLO", True), ("help", False), ("", False)],
)
def test_subject_contains_is_case_insensitive(subject: str, expected: bool) -> None:
    assert matches(SUBJ_HELLO, msg(subject=subject)) is expected


@pytest.mark.parametrize(
    ("subject", "expected"),
    [("Weekly Report", True), ("  weekly report ", True), ("Weekly Report 2", False), ("", False)],
)
def test_subject_equals(subject: str, expected: bool) -> None:
    assert matches(cond("subject", "equals", "weekly report"), msg(subject=subject)) is expected


def test_nfkc_full_width_latin_matches_ascii() -> None:
    assert matches(cond("subject", "contains", "abc"), msg(subject="件名ＡＢＣです"))
    assert matches(cond("subject", "contains", "ＡＢＣ"), msg(subject="xx abc"))


def test_nfkc_half_width_kana_matches_full_width() -> None:
    assert matches(cond("subject", "contains", "カタカナ"), msg(subject="ｶﾀｶﾅのお知らせ"))
    assert matches(cond("subject", "equals", "ｶﾞｲﾄﾞ"), msg(subject="ガイド"))


def test_nfkc_full_width_digits_and_space() -> None:
    assert matches(cond("subject", "equals", "請求書 2024"), msg(subject="請求書　２０２４"))


def test_japanese_text_without_width_variants() -> None:
    assert matches(cond("subject", "contains", "会議"), msg(subject="【重要】会議の件"))
    assert not matches(cond("subject", "contains", "会議"), msg(subject="打ち合わせ"))


# --- address fields -----------------------------------------------------------------------


ADDRESS_FIELDS: tuple[FieldName, ...] = ("from", "to", "cc")


@pytest.mark.parametrize("field", ADDRESS_FIELDS)
def test_each_address_field_is_checked(field: FieldName) -> None:
    a = (addr("boss@example.com", "Boss"),)
    message = msg(
        from_=a if field == "from" else (),
        to=a if field == "to" else (),
        cc=a if field == "cc" else (),
    )
    assert matches(cond(field, "contains", "boss@"), message)
    others = [f for f in ADDRESS_FIELDS if f != field]
    assert not any(matches(cond(f, "contains", "boss@"), message) for f in others)


def test_address_contains_checks_display_name_and_email() -> None:
    m = msg(from_=(addr("t.yamada@example.com", "山田 太郎"),))
    assert matches(cond("from", "contains", "山田"), m)
    assert matches(cond("from", "contains", "YAMADA@"), m)
    assert not matches(cond("from", "contains", "suzuki"), m)


def test_address_equals_checks_display_name_or_email() -> None:
    m = msg(from_=(addr("Info@Example.com", "Example Info"),))
    assert matches(cond("from", "equals", "info@example.com"), m)
    assert matches(cond("from", "equals", "example info"), m)
    assert not matches(cond("from", "equals", "info"), m)


def test_any_address_in_the_field_matches() -> None:
    m = msg(to=(addr("a@x.example"), addr("b@y.example"), addr("c@z.example")))
    assert matches(cond("to", "equals", "c@z.example"), m)
    assert matches(cond("to", "domain_is", "y.example"), m)
    assert not matches(cond("to", "equals", "d@z.example"), m)


def test_address_with_display_name_only() -> None:
    m = msg(from_=(addr("", "ＬＩＮＥ ＷＯＲＫＳ"),))
    assert matches(cond("from", "contains", "line works"), m)
    assert matches(cond("from", "equals", "LINE WORKS"), m)
    assert not matches(cond("from", "domain_is", "works"), m)


@pytest.mark.parametrize("op", ["contains", "equals", "domain_is"])
def test_empty_address_field_matches_nothing(op: Operator) -> None:
    assert not matches(cond("cc", op, "example.com"), msg())


def test_full_width_email_matches() -> None:
    m = msg(from_=(addr("ｉｎｆｏ＠ｅｘａｍｐｌｅ．ｃｏｍ"),))
    assert matches(cond("from", "equals", "info@example.com"), m)
    assert matches(cond("from", "domain_is", "example.com"), m)


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("a@example.com", True),
        ("a@EXAMPLE.COM", True),
        ("a@sub.example.com", True),
        ("a@deep.sub.example.com", True),
        ("a@badexample.com", False),
        ("a@example.com.evil.test", False),
        ("a@example.org", False),
        ("example.com", False),  # no @: no domain
        ("@example.com", False),  # no local part
        ("", False),
    ],
)
def test_domain_is_matches_the_domain_and_its_subdomains(email: str, expected: bool) -> None:
    assert matches(cond("from", "domain_is", "example.com"), msg(from_=(addr(email),))) is expected


def test_domain_is_value_may_start_with_at_and_be_any_case() -> None:
    m = msg(from_=(addr("a@mail.example.com"),))
    assert matches(cond("from", "domain_is", "@Example.COM"), m)


def test_domain_is_ignores_display_name() -> None:
    m = msg(from_=(addr("a@other.test", "example.com"),))
    assert not matches(cond("from", "domain_is", "example.com"), m)


# --- attachments and size -----------------------------------------------------------------


@pytest.mark.parametrize(("has", "value", "expected"), [(True, True, True), (False, True, False)])
def test_has_attachment_is(has: bool, value: bool, expected: bool) -> None:
    assert matches(cond("has_attachment", "is", value), msg(has_attachments=has)) is expected


def test_has_attachment_is_false() -> None:
    c = cond("has_attachment", "is", False)
    assert matches(c, msg(has_attachments=False))
    assert not matches(c, msg(has_attachments=True))


@pytest.mark.parametrize(("size", "expected"), [(999, False), (1000, False), (1001, True)])
def test_size_greater_than_is_strict(size: int, expected: bool) -> None:
    assert matches(cond("size", "greater_than", 1000), msg(size=size)) is expected


@pytest.mark.parametrize(("size", "expected"), [(999, True), (1000, False), (1001, False)])
def test_size_less_than_is_strict(size: int, expected: bool) -> None:
    assert matches(cond("size", "less_than", 1000), msg(size=size)) is expected


def test_size_zero_bounds() -> None:
    assert matches(cond("size", "greater_than", 0), msg(size=1))
    assert not matches(cond("size", "greater_than", 0), msg(size=0))
    assert not matches(cond("size", "less_than", 0), msg(size=0))


# --- all / any, enabled, stop, actions ----------------------------------------------------

BIG = cond("size", "greater_than", 5000)


def test_match_all_needs_every_condition() -> None:
    r = rule(SUBJ_HELLO, BIG, match="all")
    assert apply_rules([r], msg(subject="hello", size=9000)).flagged
    assert not apply_rules([r], msg(subject="hello", size=10)).flagged
    assert not apply_rules([r], msg(subject="bye", size=9000)).flagged


def test_match_any_needs_one_condition() -> None:
    r = rule(SUBJ_HELLO, BIG, match="any")
    assert apply_rules([r], msg(subject="hello", size=10)).flagged
    assert apply_rules([r], msg(subject="bye", size=9000)).flagged
    assert not apply_rules([r], msg(subject="bye", size=10)).flagged


def test_no_rules_no_outcome() -> None:
    assert apply_rules([], msg(subject="hello")) == NOTHING


def test_no_match_no_outcome() -> None:
    assert apply_rules([rule(SUBJ_HELLO, actions=(move("f1"),))], msg(subject="x")) == NOTHING


def test_disabled_rule_is_skipped() -> None:
    rules = [
        rule(SUBJ_HELLO, actions=(move("off"),), enabled=False, rule_id="r1"),
        rule(SUBJ_HELLO, actions=(move("on"),), rule_id="r2"),
    ]
    assert apply_rules(rules, msg(subject="hello")) == Outcome("on", False, False, False, ("r2",))


def test_disabled_stop_rule_does_not_stop() -> None:
    rules = [
        rule(SUBJ_HELLO, actions=(act("flag"),), enabled=False, stop=True, rule_id="r1"),
        rule(SUBJ_HELLO, actions=(act("mark_read"),), rule_id="r2"),
    ]
    assert apply_rules(rules, msg(subject="hello")) == Outcome(None, True, False, False, ("r2",))


def test_stop_processing_stops_after_that_rule() -> None:
    rules = [
        rule(SUBJ_HELLO, actions=(act("flag"),), stop=True, rule_id="r1"),
        rule(SUBJ_HELLO, actions=(act("mark_read"),), rule_id="r2"),
    ]
    assert apply_rules(rules, msg(subject="hello")) == Outcome(None, False, True, False, ("r1",))


def test_stop_processing_only_when_the_rule_matches() -> None:
    rules = [
        rule(BIG, actions=(act("flag"),), stop=True, rule_id="r1"),
        rule(SUBJ_HELLO, actions=(act("mark_read"),), rule_id="r2"),
    ]
    assert apply_rules(rules, msg(subject="hello")) == Outcome(None, True, False, False, ("r2",))


def test_first_matching_move_wins() -> None:
    rules = [
        rule(SUBJ_HELLO, actions=(move("first"),), rule_id="r1"),
        rule(SUBJ_HELLO, actions=(move("second"), act("flag")), rule_id="r2"),
    ]
    out = apply_rules(rules, msg(subject="hello"))
    assert out == Outcome("first", False, True, False, ("r1", "r2"))


def test_trash_wins_over_any_move() -> None:
    rules = [
        rule(SUBJ_HELLO, actions=(move("first"),), rule_id="r1"),
        rule(SUBJ_HELLO, actions=(act("move_to_trash"),), rule_id="r2"),
        rule(SUBJ_HELLO, actions=(move("third"),), rule_id="r3"),
    ]
    out = apply_rules(rules, msg(subject="hello"))
    assert out == Outcome(None, False, False, True, ("r1", "r2", "r3"))


def test_trash_and_move_in_one_rule() -> None:
    r = rule(SUBJ_HELLO, actions=(move("f"), act("move_to_trash")))
    assert apply_rules([r], msg(subject="hello")) == Outcome(None, False, False, True, ("r",))


def test_mark_read_and_flag_accumulate() -> None:
    rules = [
        rule(SUBJ_HELLO, actions=(act("mark_read"),), rule_id="r1"),
        rule(BIG, actions=(act("move_to_trash"),), rule_id="r2"),
        rule(SUBJ_HELLO, actions=(act("flag"), move("f")), rule_id="r3"),
    ]
    out = apply_rules(rules, msg(subject="hello"))
    assert out == Outcome("f", True, True, False, ("r1", "r3"))


# --- domain invariants --------------------------------------------------------------------


def test_condition_refuses_an_op_that_does_not_fit_the_field() -> None:
    with pytest.raises(ValidationFailed, match="works only on from, to or cc"):
        Condition("subject", "domain_is", "example.com")


def test_condition_refuses_a_value_of_the_wrong_type() -> None:
    with pytest.raises(ValidationFailed, match="whole number"):
        Condition("size", "less_than", True)


def test_action_move_needs_a_folder() -> None:
    with pytest.raises(ValidationFailed, match="folder_id"):
        Action("move_to_folder")
    with pytest.raises(ValidationFailed, match="folder_id"):
        Action("flag", "f1")


def test_rule_needs_conditions_and_actions() -> None:
    with pytest.raises(ValidationFailed, match="conditions"):
        rule()
    with pytest.raises(ValidationFailed, match="actions"):
        rule(SUBJ_HELLO, actions=())


# --- parse_rules --------------------------------------------------------------------------

FOLDERS = {"f-work", "f-news"}


def folder_exists(folder_id: str) -> bool:
    return folder_id in FOLDERS


def good_rule(name: str = "Work", **overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "id": "id-" + ("".join(c for c in name.lower() if c.isascii() and c.isalnum())[:20] or "x"),
        "name": name,
        "enabled": True,
        "match": "any",
        "conditions": [
            {"field": "from", "op": "domain_is", "value": "example.com"},
            {"field": "subject", "op": "contains", "value": "請求書"},
            {"field": "has_attachment", "op": "is", "value": True},
            {"field": "size", "op": "greater_than", "value": 0},
        ],
        "actions": [{"type": "move_to_folder", "folder_id": "f-work"}, {"type": "mark_read"}],
        "stop_processing": True,
    }
    raw.update(overrides)
    return raw


def parse(payload: object) -> tuple[Rule, ...]:
    """As PUT /v1/rules takes a body: its shape at the edge, then its meaning."""
    request = api_validation.validate(api_inputs.RulesInput, payload)
    return parse_rules(request, folder_exists=folder_exists)


def second(**overrides: Any) -> dict[str, Any]:
    """A body whose second rule, "Newsletters", carries ``overrides``."""
    return {"rules": [good_rule("Work"), good_rule("Newsletters", **overrides)]}


def error_of(payload: object) -> str:
    with pytest.raises(ValidationFailed) as err:
        parse(payload)
    message = err.value.message
    for raw_pydantic in ("validation error", "pydantic", "type=", "input_value", "errors.pydantic"):
        assert raw_pydantic not in message
    return message


RULE2 = 'rule 2 ("Newsletters"): '


def test_parse_a_good_body() -> None:
    (r,) = parse({"rules": [good_rule()]})
    assert r == Rule(
        id="id-work",
        name="Work",
        enabled=True,
        match="any",
        conditions=(
            Condition("from", "domain_is", "example.com"),
            Condition("subject", "contains", "請求書"),
            Condition("has_attachment", "is", True),
            Condition("size", "greater_than", 0),
        ),
        actions=(Action("move_to_folder", "f-work"), Action("mark_read")),
        stop_processing=True,
    )


def test_parse_an_empty_list_clears_the_rules() -> None:
    assert parse({"rules": []}) == ()


def test_parse_keeps_the_order() -> None:
    names = [f"R{i}" for i in range(5)]
    assert [r.name for r in parse({"rules": [good_rule(n) for n in names]})] == names


def test_missing_ids_are_generated() -> None:
    raw1, raw2 = good_rule("A"), good_rule("B", id=None)
    del raw1["id"]
    r1, r2 = parse({"rules": [raw1, raw2]})
    assert len(r1.id) == 32 and int(r1.id, 16) >= 0
    assert len(r2.id) == 32 and r1.id != r2.id


def test_name_is_stripped() -> None:
    assert parse({"rules": [good_rule("  Work  ")]})[0].name == "Work"


@pytest.mark.parametrize("payload", [None, [], "rules", 3])
def test_body_must_be_an_object(payload: object) -> None:
    assert error_of(payload) == "send a JSON object"  # as every body's


def test_body_needs_rules() -> None:
    assert error_of({}) == '"rules" is required'


def test_body_rules_must_be_a_list() -> None:
    assert error_of({"rules": {"a": 1}}) == '"rules" must be a list'


def test_body_refuses_unknown_fields() -> None:
    assert error_of({"rules": [], "version": 2}) == '"version" is not a known field'


def test_at_most_100_rules() -> None:
    rules = [good_rule(f"R{i}") for i in range(101)]
    assert error_of({"rules": rules}) == '"rules" may hold at most 100 items, not 101'
    assert len(parse({"rules": rules[:100]})) == 100


def test_rule_must_be_an_object() -> None:
    assert error_of({"rules": [good_rule(), "x"]}) == "rule 2 must be an object"


@pytest.mark.parametrize("key", ["name", "enabled", "match", "conditions", "actions"])
def test_rule_fields_are_required(key: str) -> None:
    raw = second()
    del raw["rules"][1][key]
    label = "rule 2: " if key == "name" else RULE2
    assert error_of(raw) == f'{label}"{key}" is required'


def test_stop_processing_is_required() -> None:
    raw = second()
    del raw["rules"][1]["stop_processing"]
    assert error_of(raw) == RULE2 + '"stop_processing" is required'


def test_rule_refuses_unknown_fields() -> None:
    assert error_of(second(priority=1)) == RULE2 + '"priority" is not a known field'


@pytest.mark.parametrize(("key", "value"), [("enabled", "true"), ("stop_processing", 1)])
def test_flags_must_be_real_booleans(key: str, value: object) -> None:
    assert error_of(second(**{key: value})) == RULE2 + f'"{key}" must be true or false'


def test_name_must_be_a_string() -> None:
    assert error_of({"rules": [good_rule(), {**good_rule(), "name": 7}]}) == (
        'rule 2: "name" must be a string'
    )


def test_name_must_not_be_blank() -> None:
    assert error_of({"rules": [good_rule(), good_rule("   ")]}) == (
        'rule 2: "name" must not be empty'
    )


def test_name_has_a_length_limit() -> None:
    message = error_of({"rules": [good_rule("x" * 101)]})
    assert message.startswith('rule 1 ("xxxx')
    assert message.endswith('…"): "name" must be at most 100 characters')


def test_name_is_counted_trimmed() -> None:
    (r,) = parse({"rules": [good_rule(" " + "x" * MAX_NAME_LENGTH + "\t")]})
    assert r.name == "x" * MAX_NAME_LENGTH


def test_match_must_be_all_or_any() -> None:
    assert error_of(second(match="either")) == RULE2 + '"match" must be "all" or "any"'


@pytest.mark.parametrize("rule_id", ["", "a b", "x" * 65, "ü", 12])
def test_bad_ids(rule_id: object) -> None:
    message = error_of(second(id=rule_id))
    assert message.startswith(RULE2 + '"id" ')


def test_ids_must_be_unique() -> None:
    assert error_of(second(id="id-work")) == RULE2 + '"id" id-work is already used by rule 1'


@pytest.mark.parametrize(("conditions", "text"), [([], "at least 1"), ({}, "must be a list")])
def test_conditions_must_be_a_non_empty_list(conditions: object, text: str) -> None:
    message = error_of(second(conditions=conditions))
    assert message.startswith(RULE2 + '"conditions" ')
    assert text in message


def test_at_most_20_conditions() -> None:
    c = {"field": "subject", "op": "contains", "value": "a"}
    assert error_of(second(conditions=[c] * 21)) == (
        RULE2 + '"conditions" may hold at most 20 items, not 21'
    )
    assert len(parse({"rules": [good_rule(conditions=[c] * 20)]})[0].conditions) == 20


def bad_condition(condition: object) -> str:
    return error_of(
        second(conditions=[{"field": "subject", "op": "equals", "value": "a"}, condition])
    )


COND2 = RULE2 + "condition 2: "


def test_condition_must_be_an_object() -> None:
    assert bad_condition("subject contains a") == RULE2 + "condition 2 must be an object"


@pytest.mark.parametrize("key", ["field", "op", "value"])
def test_condition_fields_are_required(key: str) -> None:
    c = {"field": "subject", "op": "contains", "value": "a"}
    del c[key]
    assert bad_condition(c) == COND2 + f'"{key}" is required'


def test_condition_refuses_unknown_fields() -> None:
    c = {"field": "subject", "op": "contains", "value": "a", "negate": True}
    assert bad_condition(c) == COND2 + '"negate" is not a known field'


def test_condition_field_must_be_known() -> None:
    assert bad_condition({"field": "body", "op": "contains", "value": "a"}) == (
        COND2 + '"field" must be "from", "to", "cc", "subject", "has_attachment" or "size"'
    )


def test_condition_op_must_be_known() -> None:
    message = bad_condition({"field": "subject", "op": "matches", "value": "a"})
    assert message.startswith(COND2 + '"op" must be "contains", "equals"')


def test_domain_is_only_on_address_fields() -> None:
    assert (
        error_of(
            second(conditions=[{"field": "subject", "op": "domain_is", "value": "example.com"}])
        )
        == RULE2 + 'condition 1: "domain_is" works only on from, to or cc'
    )


@pytest.mark.parametrize(
    ("field", "op", "fits"),
    [
        ("from", "is", "has_attachment"),
        ("subject", "greater_than", "size"),
        ("size", "contains", "from, to, cc or subject"),
        ("has_attachment", "equals", "from, to, cc or subject"),
        ("to", "less_than", "size"),
    ],
)
def test_op_must_fit_field(field: str, op: str, fits: str) -> None:
    value: object = 1 if op in ("greater_than", "less_than") else "a"
    assert bad_condition({"field": field, "op": op, "value": value}) == (
        COND2 + f'"{op}" works only on {fits}'
    )


@pytest.mark.parametrize("value", [1, True, None, ["a"]])
def test_text_ops_need_a_string(value: object) -> None:
    assert bad_condition({"field": "cc", "op": "contains", "value": value}) == (
        COND2 + '"value" must be a string for "contains"'
    )


@pytest.mark.parametrize("value", ["", "   "])
def test_text_value_must_not_be_blank(value: str) -> None:
    assert bad_condition({"field": "subject", "op": "contains", "value": value}) == (
        COND2 + '"value" must not be empty'
    )


def test_text_value_has_a_length_limit() -> None:
    assert bad_condition({"field": "subject", "op": "contains", "value": "a" * 257}) == (
        COND2 + '"value" must be at most 256 characters'
    )


@pytest.mark.parametrize("value", ["a@example.com", "exa mple.com", ".com", "example..com", "@"])
def test_domain_is_needs_a_domain(value: str) -> None:
    assert bad_condition({"field": "from", "op": "domain_is", "value": value}) == (
        COND2 + '"value" must be a domain such as example.com'
    )


@pytest.mark.parametrize("value", ["example.com", "@example.com", "例え.jp", "localhost"])
def test_domain_is_accepts_domains(value: str) -> None:
    (r,) = parse(
        {"rules": [good_rule(conditions=[{"field": "to", "op": "domain_is", "value": value}])]}
    )
    assert r.conditions[0].value == value


@pytest.mark.parametrize("value", ["true", 1, 0, None])
def test_has_attachment_needs_a_boolean(value: object) -> None:
    assert bad_condition({"field": "has_attachment", "op": "is", "value": value}) == (
        COND2 + '"value" must be true or false for "is"'
    )


@pytest.mark.parametrize("value", [-1, 1.5, "100", True, None])
def test_size_needs_a_non_negative_int(value: object) -> None:
    assert bad_condition({"field": "size", "op": "less_than", "value": value}) == (
        COND2 + '"value" must be a whole number of bytes (0 or more) for "less_than"'
    )


def bad_actions(actions: object) -> str:
    return error_of(second(actions=actions))


def test_actions_must_be_a_non_empty_list() -> None:
    assert bad_actions([]) == RULE2 + '"actions" must hold at least 1 item(s)'
    assert bad_actions("flag") == RULE2 + '"actions" must be a list'


def test_at_most_5_actions() -> None:
    assert bad_actions([{"type": "flag"}] * 6) == (
        RULE2 + '"actions" may hold at most 5 items, not 6'
    )


def test_action_type_must_be_known() -> None:
    assert bad_actions([{"type": "forward"}]) == (
        RULE2 + 'action 1: "type" must be "move_to_folder", "mark_read", "flag" or "move_to_trash"'
    )


def test_action_refuses_unknown_fields() -> None:
    assert bad_actions([{"type": "flag", "color": "red"}]) == (
        RULE2 + 'action 1: "color" is not a known field'
    )


def test_move_needs_a_folder_id() -> None:
    assert bad_actions([{"type": "flag"}, {"type": "move_to_folder"}]) == (
        RULE2 + 'action 2: "move_to_folder" needs "folder_id"'
    )


def test_move_folder_id_must_be_a_non_empty_string() -> None:
    assert bad_actions([{"type": "move_to_folder", "folder_id": ""}]) == (
        RULE2 + 'action 1: "folder_id" must not be empty'
    )
    assert bad_actions([{"type": "move_to_folder", "folder_id": 3}]) == (
        RULE2 + 'action 1: "folder_id" must be a string'
    )


def test_move_needs_an_existing_folder() -> None:
    assert bad_actions([{"type": "move_to_folder", "folder_id": "f-gone"}]) == (
        RULE2 + 'action 1: "folder_id": folder "f-gone" does not exist'
    )


def test_folder_id_only_for_moves() -> None:
    assert bad_actions([{"type": "flag", "folder_id": "f-work"}]) == (
        RULE2 + 'action 1: "folder_id" is only for "move_to_folder"'
    )


def test_folder_id_null_is_fine_for_other_actions() -> None:
    (r,) = parse({"rules": [good_rule(actions=[{"type": "flag", "folder_id": None}])]})
    assert r.actions == (Action("flag"),)


def test_an_action_type_only_once_per_rule() -> None:
    assert bad_actions([{"type": "flag"}, {"type": "mark_read"}, {"type": "flag"}]) == (
        RULE2 + 'action 3: "flag" appears more than once in this rule'
    )


def test_folder_exists_is_only_asked_about_moves() -> None:
    asked: list[str] = []

    def exists(folder_id: str) -> bool:
        asked.append(folder_id)
        return True

    parse_rules({"rules": [good_rule()]}, folder_exists=exists)
    assert asked == ["f-work"]


def test_long_names_are_shortened_in_messages() -> None:
    message = error_of({"rules": [good_rule("あ" * 60, match="x")]})
    assert message.startswith('rule 1 ("' + "あ" * 40 + '…"): "match"')


def test_the_edge_and_the_domain_name_a_rule_alike() -> None:
    """A shape error (the edge's) and a meaning error (the domain's) label the rule with the
    same words: one ``rule_label``.
    """
    name = "  " + "い" * 45 + " "
    shape = error_of({"rules": [good_rule(), good_rule(name, enabled=1)]})
    meaning = error_of({"rules": [good_rule(), good_rule(name, id="id-work")]})
    label = rule_label(2, {"name": name})
    assert label == 'rule 2 ("' + "い" * 40 + '…")'
    assert shape.startswith(label + ": ") and meaning.startswith(label + ": ")


def test_the_edge_bounds_are_the_domains() -> None:
    """RulesInput takes exactly as many rules, conditions and actions as Rule holds."""
    c = {"field": "subject", "op": "contains", "value": "a"}
    actions = [{"type": t} for t in ("mark_read", "flag", "move_to_trash")]
    actions += [{"type": "move_to_folder", "folder_id": "f-work"}]  # each type once
    big = good_rule(conditions=[c] * MAX_CONDITIONS, actions=actions)
    del big["id"]
    assert len(parse({"rules": [big] * MAX_RULES})) == MAX_RULES
    with pytest.raises(ValidationFailed, match="at most 20 items"):
        parse({"rules": [good_rule(conditions=[c] * (MAX_CONDITIONS + 1))]})
    with pytest.raises(ValidationFailed, match="at most 5 items"):
        parse({"rules": [good_rule(actions=[{"type": "flag"}] * (MAX_ACTIONS + 1))]})


def test_a_stored_document_is_read_without_the_edge() -> None:
    """The importer reads the store's document (``rules_to_json``'s) with ``parse_rules``
    alone: no pydantic on the way.
    """
    rules = parse({"rules": [good_rule("Work"), good_rule("News", id=None)]})
    assert parse_rules(rules_to_json(rules), folder_exists=lambda _f: True) == rules


# --- rules_to_json ------------------------------------------------------------------------


def test_to_json_shape() -> None:
    r = rule(cond("cc", "equals", "x@y.test"), actions=(move("f-news"), act("flag")), stop=True)
    assert rules_to_json([r]) == {
        "rules": [
            {
                "id": "r",
                "name": "r",
                "enabled": True,
                "match": "all",
                "conditions": [{"field": "cc", "op": "equals", "value": "x@y.test"}],
                "actions": [{"type": "move_to_folder", "folder_id": "f-news"}, {"type": "flag"}],
                "stop_processing": True,
            }
        ]
    }


def test_round_trip() -> None:
    body = {
        "rules": [
            good_rule("Work"),
            good_rule(
                "Newsletters",
                enabled=False,
                match="all",
                conditions=[
                    {"field": "to", "op": "equals", "value": "ｎｅｗｓ@example.com"},
                    {"field": "cc", "op": "contains", "value": "メルマガ"},
                    {"field": "has_attachment", "op": "is", "value": False},
                    {"field": "size", "op": "less_than", "value": 10_000_000},
                ],
                actions=[{"type": "move_to_trash"}, {"type": "flag"}],
                stop_processing=False,
            ),
        ]
    }
    original = copy.deepcopy(body)
    rules = parse(body)
    assert body == original  # the input is not touched
    assert rules_to_json(rules) == body
    assert parse(rules_to_json(rules)) == rules


def test_round_trip_keeps_generated_ids() -> None:
    raw = good_rule()
    del raw["id"]
    rules = parse({"rules": [raw]})
    assert parse(rules_to_json(rules)) == rules
