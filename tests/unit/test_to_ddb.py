"""``to_ddb``'s own conversion of plain values gives exactly what boto3's TypeSerializer gives."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import Binary, TypeSerializer

from mailport.adapters.dynamo_table import to_ddb

ITEM: dict[str, Any] = {
    "PK": "U#acme#u1",
    "empty": "",
    "japanese": "日本語の件名",
    "zero": 0,
    "negative": -17,
    "size": 52_467_291,
    "widest": 10**38 - 1,
    "narrowest": -(10**38) + 1,
    "seen": False,
    "flagged": True,
    "decimal": Decimal("1.5"),
    "raw": b"\x00\xff",
    "binary": Binary(b"abc"),
    "labels": {"a", "b"},
    "counts": {1, 2},
    "to": ["a@example.com", "b@example.com"],
    "pair": ("x", 2),
    "nested": {"names": ["a.pdf", {"deep": [True, None, 3]}], "none": None, "n": 4},
    "empty_list": [],
    "empty_map": {},
}


def test_every_plain_value_is_typed_as_type_serializer_types_it() -> None:
    serializer = TypeSerializer()
    expected = {k: serializer.serialize(v) for k, v in ITEM.items()}
    assert to_ddb(ITEM) == expected


def test_none_values_are_left_out() -> None:
    assert to_ddb({"PK": "p", "gone": None}) == {"PK": {"S": "p"}}


@pytest.mark.parametrize("value", [10**38, -(10**38), 1.5])
def test_what_dynamodb_cannot_hold_exactly_is_refused_as_before(value: Any) -> None:
    with pytest.raises(Exception) as ours:
        to_ddb({"v": value})
    with pytest.raises(Exception) as theirs:
        TypeSerializer().serialize(value)
    assert type(ours.value) is type(theirs.value)
