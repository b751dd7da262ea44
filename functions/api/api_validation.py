"""A request body checked against its model in ``api_inputs``, at the API's edge.

Pydantic is imported, and each model's ``TypeAdapter`` built, on the first request that
needs it: a cold start that serves no body pays for neither. Validation is strict (JSON's
own types: ``true`` is not a number, ``"10"`` not a size), and pydantic's first error
becomes one sentence in our own words, naming the item it is in as the domain's own checks
do (``rule 2 ("Newsletters"): condition 1: ...``): ``Words`` of the catalogue's
``validation.*`` entries, said in the reader's language (「ルール 2（"Newsletters"）の条件 1の
...」), the JSON field names as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mailport.catalogue import Words, say
from mailport.errors import ValidationFailed

if TYPE_CHECKING:
    from pydantic import TypeAdapter
    from pydantic_core import ErrorDetails

# What is wrong, by pydantic's error type: the words, given the field (the subject) and the
# error's context.
_Text = Callable[[Words, Mapping[str, str]], Words]
_ERROR_TEXT: Mapping[str, _Text] = {
    "missing": lambda s, _c: say("validation.missing", subject=s),
    "extra_forbidden": lambda s, _c: say("validation.extra_forbidden", subject=s),
    "string_type": lambda s, _c: say("validation.string_type", subject=s),
    "bool_type": lambda s, _c: say("validation.bool_type", subject=s),
    "int_type": lambda s, _c: say("validation.int_type", subject=s),
    "list_type": lambda s, _c: say("validation.list_type", subject=s),
    "dict_type": lambda s, _c: say("validation.dict_type", subject=s),
    "literal_error": lambda s, c: say(
        "validation.literal_error", subject=s, expected=c.get("expected", "")
    ),
    "too_short": lambda s, c: say(
        "validation.too_short", subject=s, min_length=c.get("min_length", "")
    ),
    "too_long": lambda s, c: say(
        "validation.too_long",
        subject=s,
        max_length=c.get("max_length", ""),
        actual_length=c.get("actual_length", ""),
    ),
    "string_too_short": lambda s, _c: say("validation.string_too_short", subject=s),
    "string_too_long": lambda s, c: say(
        "validation.string_too_long", subject=s, max_length=c.get("max_length", "")
    ),
    "greater_than_equal": lambda s, c: say(
        "validation.greater_than_equal", subject=s, ge=c.get("ge", "")
    ),
    "less_than_equal": lambda s, c: say(
        "validation.less_than_equal", subject=s, le=c.get("le", "")
    ),
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
_PATTERN_TEXT: Mapping[str, Callable[[Words], Words]] = {
    "\\S": lambda s: say("validation.not_blank", subject=s),
    NO_CONTROL: lambda s: say("validation.no_control", subject=s),
    HOST_NAME: lambda s: say("validation.host_name", subject=s),
    ONE_LINE: lambda s: say("validation.one_line", subject=s),
    RULE_ID: lambda s: say("validation.rule_id", subject=s),
}
# A list's items are named by their number, as people count: ``files[1]`` is "file 2"; a
# rule by its name too, as the domain names it (``rules.rule_words``).
_ITEM_NAMES: Mapping[str, Callable[[int], Words]] = {
    "files": lambda n: say("validation.file", number=n),
    "rules": lambda n: say("rules.rule", number=n),  # with its name: ``_item``
    "conditions": lambda n: say("rules.condition", number=n),
    "actions": lambda n: say("rules.action", number=n),
}
# Sentences the API has always answered for a field, by the error (None: whatever it is).
_SHAPE = "{name, size}"  # a file as the upload request lists it
_Pinned = Callable[[Mapping[str, str]], Words]


def _size_bytes(_ctx: Mapping[str, str]) -> Words:
    from mailport.usecases.uploads import MAX_DECLARED_SIZE  # noqa: PLC0415 (lazily)

    return say("validation.size_bytes", max=MAX_DECLARED_SIZE)


def _port(_ctx: Mapping[str, str]) -> Words:
    from mailport.domain.fields import MAX_PORT  # noqa: PLC0415 (lazily)

    return say("validation.port", max=MAX_PORT)


def _connection_port(_ctx: Mapping[str, str]) -> Words:
    from mailport.domain.fields import MAX_PORT  # noqa: PLC0415 (lazily)

    return say("validation.connection_port", max=MAX_PORT)


_FIELD_TEXT: Mapping[tuple[tuple[str, ...], str | None], _Pinned] = {
    (("files", "size"), None): _size_bytes,
    (("port",), None): _port,
    (("connection", "port"), None): _connection_port,
    # A migration's agreement (``Literal[True]``) in the words the API has always used.
    (("agreed",), "missing"): lambda _c: say("migration.agree_first"),
    (("agreed",), "literal_error"): lambda _c: say("migration.agree_first"),
    (("files",), "dict_type"): lambda _c: say("validation.files_item", shape=_SHAPE),
    (("files",), "list_type"): lambda _c: say("validation.files_min", shape=_SHAPE),
    (("files",), "too_short"): lambda _c: say("validation.files_min", shape=_SHAPE),
    (("files",), "too_long"): lambda c: say(
        "validation.files_max", max_length=c.get("max_length", "")
    ),
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
        raise ValidationFailed(say("validation.not_object"))
    try:
        value: T = _adapter(model).validate_python(data, strict=True)
    except ValidationError as e:
        raise ValidationFailed(_describe(e.errors(include_url=False)[0], data)) from e
    keys = _at_least_one(model)
    if keys and not value:
        raise ValidationFailed(say("validation.at_least_one", keys=", ".join(keys)))
    return value


def _at_least_one(model: type[Any]) -> list[str]:
    """The keys of a change that must name at least one (``api_models.AT_LEAST_ONE``)."""
    config = getattr(model, "__pydantic_config__", None) or {}
    extra = config.get("json_schema_extra")
    if isinstance(extra, dict) and extra.get("minProperties"):
        return list(model.__annotations__)
    return []


def _describe(error: ErrorDetails, data: object = None) -> Words:
    """One of pydantic's errors in ``data`` as a sentence: where, then what is wrong."""
    items, fields, tail = _where(error["loc"], data)
    ctx = {k: str(v).replace("'", '"') for k, v in error.get("ctx", {}).items()}
    pinned = _FIELD_TEXT.get((tuple(fields), error["type"])) or _FIELD_TEXT.get(
        (tuple(fields), None)
    )
    if pinned is not None:
        return _within(items, pinned(ctx))
    # The field itself, else the item it is ("file 2 must be an object"), else the body.
    field = ".".join(tail)
    subject = (
        say("validation.field", field=field)
        if field
        else (items.pop() if items else say("validation.body"))
    )
    if error["type"] == "string_pattern_mismatch":
        pattern = _PATTERN_TEXT.get(ctx.get("pattern", ""))
        text = pattern(subject) if pattern else say("validation.invalid", subject=subject)
    else:
        template = _ERROR_TEXT.get(error["type"])
        text = template(subject, ctx) if template else say("validation.invalid", subject=subject)
    return _within(items, text)


def _within(items: Sequence[Words], problem: Words) -> Words:
    """``file 2: "name" ...``: the problem inside the items it is in, outermost first."""
    for item in reversed(items):
        problem = say("validation.at", where=item, problem=problem)
    return problem


def _where(loc: Sequence[int | str], data: object) -> tuple[list[Words], list[str], list[str]]:
    """``("files", 1, "name")`` -> ``(["file 2"], ["files", "name"], ["name"])``: the items
    it is in, the field names on its way, and those after the last item.
    """
    items: list[Words] = []
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


def _item(field: str, number: int, item: object) -> Words:
    if field == "rules":
        from mailport.domain.rules import rule_words  # noqa: PLC0415 (lazily)

        return rule_words(number, item)
    return _ITEM_NAMES[field](number)
