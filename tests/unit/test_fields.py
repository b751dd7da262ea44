"""The shared checks of single request fields: what passes, and the exact wording of a refusal
(the POP account form and the migration's connection each keep theirs).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mailport.domain import fields
from mailport.errors import ValidationFailed


def refusal(check: Callable[..., object], *args: object, **kwargs: object) -> str:
    with pytest.raises(ValidationFailed) as caught:
        check(*args, **kwargs)
    return str(caught.value)


@pytest.mark.parametrize("value", [True, False])
def test_booleans_pass_as_they_are(value: bool) -> None:
    assert fields.boolean(value, "ssl") is value


@pytest.mark.parametrize("value", [None, 0, 1, "true", "yes", [], {}])
def test_anything_else_is_not_a_boolean(value: object) -> None:
    assert (
        refusal(fields.boolean, value, "connection.ssl") == "connection.ssl must be true or false"
    )


@pytest.mark.parametrize("value", [1, 110, 993, 65535])
def test_port_numbers_pass(value: int) -> None:
    assert fields.port(value, "bad port") == value


@pytest.mark.parametrize("value", [0, -1, 65536, True, False, "993", 993.0, None])
def test_a_port_is_an_int_from_1_to_65535(value: object) -> None:
    assert refusal(fields.port, value, "bad port") == "bad port"


def test_optional_fields_are_none_when_absent_or_null() -> None:
    assert fields.optional_bool({}, "ssl") is None
    assert fields.optional_bool({"ssl": None}, "ssl") is None
    assert fields.optional_bool({"ssl": False}, "ssl") is False
    assert fields.optional_text({}, "host", 10) is None
    assert fields.optional_text({"host": None}, "host", 10) is None


def test_optional_text_is_kept_as_sent() -> None:
    assert fields.optional_text({"u": " me "}, "u", 4) == " me "
    assert fields.optional_text({"u": "名前"}, "u", 2) == "名前"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (1, '"u" must be a string'),
        (b"me", '"u" must be a string'),
        ("", '"u" must be 1 to 4 characters'),
        ("abcde", '"u" must be 1 to 4 characters'),
        ("a\tb", '"u" cannot contain control characters'),
        ("a\x00", '"u" cannot contain control characters'),
        ("a\x7f", '"u" cannot contain control characters'),
    ],
)
def test_optional_text_refusals_name_the_field_in_quotes(value: object, message: str) -> None:
    assert refusal(fields.optional_text, {"u": value}, "u", 4) == message


def test_optional_bool_refusals_name_the_field_in_quotes() -> None:
    assert refusal(fields.optional_bool, {"agreed": "yes"}, "agreed") == (
        '"agreed" must be true or false'
    )


def test_a_required_line_is_trimmed_unless_told_not_to() -> None:
    data = {"host": " imap.example.org ", "password": " p "}
    assert fields.required_line(data, "host", 30, label="h") == "imap.example.org"
    assert fields.required_line(data, "password", 30, label="p", strip=False) == " p "


def test_the_limit_counts_before_trimming() -> None:
    assert fields.required_line({"u": "abcd"}, "u", 4, label="u") == "abcd"
    assert refusal(fields.required_line, {"u": " abcd"}, "u", 4, label="u") == "u is not valid"


def test_a_required_line_may_hold_a_tab_but_not_a_line_break() -> None:
    # Only what ends or cuts a command line is refused (as the migration always did).
    assert fields.required_line({"u": "a\tb"}, "u", 9, label="u") == "a\tb"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (None, "is required"),
        (7, "is required"),
        ("", "is required"),
        ("  ", "is required"),
        ("x" * 10, "is not valid"),
        ("me\r\nX-Injected: 1", "is not valid"),
        ("me\n", "is not valid"),
        ("m\x00e", "is not valid"),
    ],
)
def test_required_line_refusals_use_the_label(value: object, problem: str) -> None:
    message = refusal(fields.required_line, {"username": value}, "username", 9, label="c.user")
    assert message == f"c.user {problem}"


def test_a_missing_required_line_is_required() -> None:
    assert refusal(fields.required_line, {}, "host", 9, label="connection.host") == (
        "connection.host is required"
    )
