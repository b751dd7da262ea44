"""The shared checks of single request fields: what passes, and the exact wording of a refusal
(the migration's connection keeps its; the POP account form's are the API edge's now:
``test_api_body_validation``).
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
