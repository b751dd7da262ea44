"""A request body checked against its model in ``api_inputs``, at the API's edge.

Pydantic is imported, and each model's ``TypeAdapter`` built, on the first request that
needs it: a cold start that serves no body pays for neither. Validation is strict (JSON's
own types: ``true`` is not a number, ``"10"`` not a size), and pydantic's first error
becomes one sentence in our own words, naming the item it is in as the domain's own checks
do (``rule 2 ("Newsletters"): condition 1: ...``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mailport.errors import ValidationFailed

if TYPE_CHECKING:
    from pydantic import TypeAdapter
    from pydantic_core import ErrorDetails

_ERROR_TEXT: Mapping[str, str] = {
    "missing": "is required",
    "extra_forbidden": "is not a known field",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "int_type": "must be a whole number",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "literal_error": "must be {expected}",
    "too_short": "must hold at least {min_length} item(s)",
    "too_long": "may hold at most {max_length} items, not {actual_length}",
    "string_too_short": "must not be empty",
    "string_too_long": "must be at most {max_length} characters",
    "greater_than_equal": "must be at least {ge}",
    "less_than_equal": "must be at most {le}",
}
# Text without control characters (unicodedata's "Cc": C0, DEL and C1), as ``api_inputs``
# bounds a POP account's: a "\r\n" in a login would cut the protocol's command line.
NO_CONTROL = "^[^\\x00-\\x1f\\x7f-\\x9f]*$"
# One line: nothing that ends or cuts a mail protocol's command line (a LOGIN with "\r\n"
# would smuggle a command), as a migration's connection has always been checked.
ONE_LINE = "^[^\\r\\n\\x00]*$"
# An IMAP template's host: a host name or an IP address (v6 in brackets), ASCII as sent.
HOST_NAME = "^[A-Za-z0-9.:\\[\\]-]+$"
# An auto-sort rule's id as a client may choose it (ours are 32 hex digits).
RULE_ID = "^[A-Za-z0-9_-]{1,64}$"
# A pattern's own words: the models' "\S" says "not only spaces".
_PATTERN_TEXT: Mapping[str, str] = {
    "\\S": "must not be blank",
    NO_CONTROL: "cannot contain control characters",
    HOST_NAME: "must be a host name or an IP address",
    ONE_LINE: "must be one line (no line break or NUL)",
    RULE_ID: 'may contain only letters, digits, "-" and "_" (1 to 64 characters)',
}
# A list's items are named by their number, as people count: ``files[1]`` is "file 2"; a
# rule by its name too, as the domain names it (``rules.rule_label``).
_ITEM_NAMES: Mapping[str, str] = {
    "files": "file",
    "rules": "rule",
    "conditions": "condition",
    "actions": "action",
}
# Sentences the API has always answered for a field, by the error (None: whatever it is).
_FIELD_TEXT: Mapping[tuple[tuple[str, ...], str | None], str] = {
    (("files", "size"), None): "size must be a number of bytes, at most {MAX_DECLARED_SIZE}",
    (("port",), None): '"port" must be a number from 1 to {MAX_PORT}',
    (("connection", "port"), None): '"connection.port" must be a number from 1 to {MAX_PORT}',
    # A migration's agreement (``Literal[True]``) in the words the API has always used.
    (("agreed",), "missing"): "you must accept the agreement (agreed: true)",
    (("agreed",), "literal_error"): "you must accept the agreement (agreed: true)",
    (("files",), "dict_type"): "send {{name, size}}",
    (("files",), "list_type"): "files must list at least one {{name, size}}",
    (("files",), "too_short"): "files must list at least one {{name, size}}",
    (("files",), "too_long"): "at most {max_length} files per upload; split the rest into another",
}


_ADAPTERS: dict[object, TypeAdapter[Any]] = {}  # per model, built on its first request


def _adapter(model: object) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(model)
    if adapter is None:
        from pydantic import TypeAdapter  # noqa: PLC0415 (lazily: see the module's docstring)

        adapter = _ADAPTERS[model] = TypeAdapter(model)
    return adapter


def validate[T](model: type[T], data: object) -> T:
    """``data`` (parsed JSON) as ``model`` describes it, or ``ValidationFailed`` saying why."""
    from pydantic import ValidationError  # noqa: PLC0415 (lazily: see the module's docstring)

    if not isinstance(data, dict):
        raise ValidationFailed("send a JSON object")
    try:
        value: T = _adapter(model).validate_python(data, strict=True)
    except ValidationError as e:
        raise ValidationFailed(_describe(e.errors(include_url=False)[0], data)) from e
    keys = _at_least_one(model)
    if keys and not value:
        raise ValidationFailed(f"send at least one of: {', '.join(keys)}")
    return value


def _at_least_one(model: type[Any]) -> list[str]:
    """The keys of a change that must name at least one (``api_models.AT_LEAST_ONE``)."""
    config = getattr(model, "__pydantic_config__", None) or {}
    extra = config.get("json_schema_extra")
    if isinstance(extra, dict) and extra.get("minProperties"):
        return list(model.__annotations__)
    return []


def _describe(error: ErrorDetails, data: object = None) -> str:
    """One of pydantic's errors in ``data`` as a sentence: where, then what is wrong."""
    items, fields, tail = _where(error["loc"], data)
    ctx = {k: str(v).replace("'", '"') for k, v in error.get("ctx", {}).items()}
    pinned = _FIELD_TEXT.get((tuple(fields), error["type"])) or _FIELD_TEXT.get(
        (tuple(fields), None)
    )
    if pinned is not None:
        from mailport.domain.fields import MAX_PORT  # noqa: PLC0415 (lazily)
        from mailport.usecases.uploads import MAX_DECLARED_SIZE  # noqa: PLC0415 (lazily)

        bounds = {"MAX_DECLARED_SIZE": MAX_DECLARED_SIZE, "MAX_PORT": MAX_PORT}
        return ": ".join([*items, pinned.format(**bounds, **ctx)])
    if error["type"] == "string_pattern_mismatch":
        text = _PATTERN_TEXT.get(ctx.get("pattern", ""), "is not valid")
    else:
        template = _ERROR_TEXT.get(error["type"])
        text = template.format(**ctx) if template else "is not valid"
    # The field itself, else the item it is ("file 2 must be an object"), else the body.
    field = ".".join(tail)
    subject = f'"{field}"' if field else (items.pop() if items else "the request body")
    return ": ".join([*items, f"{subject} {text}"])


def _where(loc: Sequence[int | str], data: object) -> tuple[list[str], list[str], list[str]]:
    """``("files", 1, "name")`` -> ``(["file 2"], ["files", "name"], ["name"])``: the items
    it is in, the field names on its way, and those after the last item.
    """
    items: list[str] = []
    fields: list[str] = []
    tail: list[str] = []
    node = data  # what ``loc`` points at so far, to name a rule by its name
    for i, part in enumerate(loc):
        node = _child(node, part)
        if isinstance(part, int):
            continue
        fields.append(part)
        tail.append(part)
        following = loc[i + 1] if i + 1 < len(loc) else None
        if isinstance(following, int) and part in _ITEM_NAMES:
            items.append(_item(part, following + 1, _child(node, following)))
            tail = []
    return items, fields, tail


def _child(node: object, key: int | str) -> object:
    if isinstance(node, dict):
        return node.get(key)
    if isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
        return node[key]
    return None


def _item(field: str, number: int, item: object) -> str:
    if field == "rules":
        from mailport.domain.rules import rule_label  # noqa: PLC0415 (lazily)

        return rule_label(number, item)
    return f"{_ITEM_NAMES[field]} {number}"
