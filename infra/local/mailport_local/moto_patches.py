"""Fixes to moto's DynamoDB transactions, for the local stack only.

moto 5.2.5's ``TransactWriteItems`` backs up every table it touches with ``copy.deepcopy`` and,
when any condition fails, puts the whole backup back. That costs O(table size) per transaction
(the local stack slowed to 2 messages/s after a few thousand items) and, under concurrency, a
rollback silently undoes other requests' writes made meanwhile (and the deepcopy can crash with
"dictionary changed size during iteration"). Real DynamoDB evaluates every condition against the
state before the transaction and writes all or nothing.

This replacement does what DynamoDB documents: under one lock, check every condition first
against the current state; if any fails, write nothing and cancel with per-item reasons; otherwise
apply the writes, keeping a backup of only the touched items for the unexpected failure. moto is
pinned exactly; tests/integration/test_moto_patches.py covers this.

SQS: moto 5.2.5's ``SendMessage`` reads ``queue.attributes`` to learn one flag
(ContentBasedDeduplication), and that property counts every message in the queue three times
(the Approximate* attributes). Sending is O(queue length): 3,000 messages took 117 s, so the
POP dispatcher (100,000 accounts) could not run locally. While a message is sent, the property
returns only the flags sending reads; everything else (GetQueueAttributes) is unchanged.
``ReceiveMessage`` and ``DeleteMessage`` look at every message in the queue, and for each one
moto asks the time through two naive-datetime conversions: 27% of the emulator's CPU during a
1,000-file upload. The SQS models now read the same clock through ``time.time()``. And for each
message it hands out, ``ReceiveMessage`` checks the retention period through
``GetQueueAttributes``, which counts the whole queue three times over (the Approximate* figures
again): that check now reads the one attribute it needs.

DynamoDB responses: moto 5.2 writes every attribute value through its shape-driven serializer,
which walks the ten members of ``AttributeValue`` for each value: 1.4 ms of CPU per item, so a
Query of 500 items cost 0.6 s. ``AttributeValue`` (and only it) is now written directly, with
the same result (tests/integration/test_moto_patches.py compares both ways on every type).

DynamoDB Query on a table's key: moto sorts every item of the table, then sizes each item of
the partition, even those the key condition rejects, so a Query cost O(table). Polling a
500-file upload took 0.26 s of emulator CPU per request and grew with every message stored.
The replacement reads only the asked-for partition, as DynamoDB does, and sizes only what it
returns. Index queries, legacy ``KeyConditions`` filters and hash-only tables keep moto's code.

DynamoDB items: moto checks the 400 KB item limit before adding each attribute, summing every
attribute already there (O(n²) per item; 30% of a 25-attribute PutItem). One check of the
total, once the item is built, gives the same answer: sizes only grow as attributes are added.
Update expressions are parsed three times per update; the parse of a given text is kept (the
tree is only read: moto's validator works on its own deep copy).

S3: moto 5.2.5 stores a browser-based POST upload (a presigned POST) without reading its policy,
so a changed key, a bigger file or an expired form were all accepted. Real S3 checks the policy
before it stores anything; ``_post_policy_refusal`` does the same checks and answers as S3 does
(see its docstring). tests/integration/test_moto_patches.py and tests/e2e/test_upload.py cover it.
moto 5.2.5's ``CopyObject`` also ignores ``x-amz-copy-source-if-match`` (it reads only
if-none-match) and copies whatever the source holds; S3 answers 412 PreconditionFailed when the
source's ETag differs. The ingest pins the upload it read that way, so the check is done here.
Its answer, a four-element XML document, went through the shape-driven serializer, which walks
every member of ``CopyObjectOutput``: 2 of the 3.7 ms a copy cost, against 2.6 ms for a whole
PutObject. It is now written directly (compared with moto's own in test_moto_patches.py).
"""

from __future__ import annotations

import base64
import binascii
import bisect
import datetime as dt
import functools
import hashlib
import hmac
import inspect
import json
import os
import re
import threading
import time
import uuid
from typing import Any
from xml.sax.saxutils import escape

_LOCK = threading.RLock()
_INSTALLED = False
_SENDING = threading.local()
# moto's own code, kept for the tests that compare it with the replacements
ORIGINAL_STRUCTURE: Any = None
ORIGINAL_QUERY: Any = None
ORIGINAL_S3_SERIALIZED: Any = None


def install() -> None:
    """Install the fixes below (idempotent)."""
    global _INSTALLED  # noqa: PLW0603 - a process-wide patch, installed once
    if _INSTALLED:
        return
    from moto import backends
    from moto.dynamodb.models import DynamoDBBackend

    DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
    # Single-item writes take the same lock, so none lands between a transaction's checks
    # and its writes (DynamoDB serialises them per item; one lock is the simple equivalent).
    for name in ("put_item", "update_item", "delete_item", "batch_write_item"):
        setattr(DynamoDBBackend, name, _locked(getattr(DynamoDBBackend, name)))
    # moto's server lists its own package directory (~150 stat calls) on every request to
    # route it; the list never changes while running. This was 14% of the stack's CPU.
    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = functools.cache(lambda: modules)
    _patch_sqs_send()
    _patch_sqs_clock()
    _patch_attribute_values()
    _patch_table_query()
    _patch_items()
    _patch_s3_post()
    _patch_s3_copy_if_match()
    _INSTALLED = True


def _patch_sqs_send() -> None:
    from moto.sqs.models import Queue, SQSBackend

    full: Any = Queue.__dict__["attributes"]  # the property object itself

    def attributes(queue: Any) -> dict[str, Any]:
        if not getattr(_SENDING, "on", False):
            return dict(full.fget(queue))
        if not queue.fifo_queue:
            return {}  # sending reads only FIFO flags
        flag = queue.content_based_deduplication
        return {"ContentBasedDeduplication": str(flag).lower() if isinstance(flag, bool) else flag}

    Queue.attributes = property(attributes)  # type: ignore[method-assign, assignment]
    send = SQSBackend.send_message

    @functools.wraps(send)
    def send_message(*args: Any, **kwargs: Any) -> Any:
        _SENDING.on = True
        try:
            return send(*args, **kwargs)
        finally:
            _SENDING.on = False

    SQSBackend.send_message = send_message  # type: ignore[method-assign]


def _patch_sqs_clock() -> None:
    from moto.core import utils
    from moto.sqs import models

    def unix_time(dt: Any = None) -> float:
        # moto's version builds two naive datetimes per call; with no argument it is the clock.
        return time.time() if dt is None else utils.unix_time(dt)

    def unix_time_millis(dt: Any = None) -> float:
        return unix_time(dt) * 1000.0

    def retained(backend: Any, queue_name: str, message: Any) -> bool:
        period = backend.get_queue(queue_name).message_retention_period
        return bool(int(period) + message.sent_timestamp / 1000 > unix_time())

    models.SQSBackend.is_message_valid_based_on_retention_period = retained  # type: ignore[method-assign, assignment]
    models.unix_time = unix_time  # type: ignore[attr-defined]
    models.unix_time_millis = unix_time_millis  # type: ignore[attr-defined]


def attribute_value(value: Any) -> Any:
    """An ``AttributeValue`` as moto's JSON serializer writes it; None if unsure of its shape.

    Input is what moto's ``dynamo_to_dict`` leaves (``{"B": bytes}``, numbers as strings);
    members moto's serializer would drop (None, unknown names) make this answer None, and the
    caller falls back to moto's own serializer.
    """
    if not isinstance(value, dict):
        return None
    out: dict[str, Any] = {}
    for kind, item in value.items():
        write = _WRITERS.get(kind)
        converted = None if item is None or write is None else write(item)
        if converted is None:
            return None
        out[kind] = converted
    return out


def _all_or_none(values: list[Any]) -> list[Any] | None:
    return None if any(v is None for v in values) else values


def _map(item: dict[str, Any]) -> dict[str, Any] | None:
    members = {k: attribute_value(v) for k, v in item.items()}
    return None if any(v is None for v in members.values()) else members


def _b64(value: str | bytes) -> str:
    raw = value.encode("utf-8") if isinstance(value, str) else value
    return base64.b64encode(raw).strip().decode("utf-8")


_WRITERS: dict[str, Any] = {
    # moto's string serializer: str() of anything but an empty list or map
    "S": lambda v: v if v in ([], {}) else str(v),
    "N": lambda v: v if v in ([], {}) else str(v),
    "SS": lambda v: [str(x) for x in v],
    "NS": lambda v: [str(x) for x in v],
    "B": _b64,
    "BS": lambda v: [_b64(x) for x in v],
    "BOOL": lambda v: v,
    "NULL": lambda v: v,
    "M": _map,
    "L": lambda v: _all_or_none([attribute_value(x) for x in v]),
}


def _patch_attribute_values() -> None:
    from moto.core.serialize import BaseJSONSerializer

    global ORIGINAL_STRUCTURE  # noqa: PLW0603 - kept once, when the patch goes in
    slow = ORIGINAL_STRUCTURE = BaseJSONSerializer._serialize_type_structure

    def serialize_structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if key and shape.name == "AttributeValue":
            fast = attribute_value(value)
            if fast is not None:
                self._default_serialize(serialized, fast, shape, key)
                return
        slow(self, serialized, value, shape, key)

    BaseJSONSerializer._serialize_type_structure = serialize_structure  # type: ignore[method-assign]


def _patch_table_query() -> None:
    from moto.dynamodb.models.table import Table

    global ORIGINAL_QUERY  # noqa: PLW0603 - kept once, when the patch goes in
    original = ORIGINAL_QUERY = Table.query

    signature = inspect.signature(original)

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        given = signature.bind(self, *args, **kwargs)
        given.apply_defaults()
        a = given.arguments
        if (
            a["index_name"]
            or a["filter_kwargs"]
            or not self.range_key_attr
            or len(a["range_key_conditions"] or []) > 1
        ):
            return original(self, *args, **kwargs)
        return _partition_query(self, a)

    Table.query = query  # type: ignore[method-assign]


def _partition_query(table: Any, a: dict[str, Any]) -> tuple[list[Any], int, dict[str, Any] | None]:
    """What moto's ``Table.query`` answers on the table's key, from one partition."""
    import copy

    from moto.dynamodb.models.table import RESULT_SIZE_LIMIT

    range_comparison, range_objs, limit = a["range_comparison"], a["range_objs"], a["limit"]
    exclusive_start_key, forward = a["exclusive_start_key"], a["scan_index_forward"]
    hash_attrs, range_attrs = [table.hash_key_attr], [table.range_key_attr]
    partition = table.items.get(a["hash_key"]) or {}
    # The order of moto's DynamoType.__lt__, without a Python call per comparison.
    candidates = sorted(partition.values(), key=lambda item: item.range_key.cast_value)
    candidates = _prefixed(candidates, range_comparison, range_objs)
    if forward is False:
        candidates.reverse()
    results: list[Any] = []
    size = 0
    last_key = None
    skipping = exclusive_start_key is not None
    for item in candidates:
        if skipping:
            if table._item_comes_before_dct(
                item, exclusive_start_key, hash_attrs, range_attrs, forward
            ):
                continue
            skipping = False
        if range_comparison and not item.range_key.compare(range_comparison, range_objs):
            continue
        item_size = item.size()
        if len(results) == limit or size + item_size > RESULT_SIZE_LIMIT:
            last_key = table._get_last_evaluated_key(results[-1], None)
            break
        results.append(item)
        size += item_size
    scanned = len(results)
    results = copy.deepcopy(results)
    if a["filter_expression"] is not None:
        results = [item for item in results if a["filter_expression"].expr(item)]
    if a["projection_expressions"]:
        results = [item.project(a["projection_expressions"]) for item in results]
    return results, scanned, last_key


def _prefixed(candidates: list[Any], comparison: Any, values: Any) -> list[Any]:
    """The run of sorted ``candidates`` a string ``begins_with`` can match (others: all).

    Strings sharing a prefix sit together in sorted order, so a partition of thousands of
    messages is not compared item by item to find its 500 upload files. The caller still
    applies the condition itself to each one kept.
    """
    if comparison != "BEGINS_WITH" or not values or values[0].type != "S":
        return candidates
    keys = [item.range_key.cast_value for item in candidates]
    if not all(isinstance(k, str) for k in keys):
        return candidates
    prefix = values[0].value
    start = end = bisect.bisect_left(keys, prefix)
    while end < len(keys) and keys[end].startswith(prefix):
        end += 1
    return candidates[start:end]


def _patch_items() -> None:
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models import dynamo_type
    from moto.dynamodb.models.utilities import bytesize
    from moto.dynamodb.parsing import expressions

    def item_init(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
        self.hash_key = hash_key
        self.range_key = range_key
        values = {key: dynamo_type.DynamoType(value) for key, value in attrs.items()}
        if sum(bytesize(key) + value.size() for key, value in values.items()) > _ITEM_LIMIT:
            raise ItemSizeTooLarge
        self.attrs = dynamo_type.LimitedSizeDict(values)  # its __init__ skips the check

    dynamo_type.Item.__init__ = item_init  # type: ignore[method-assign]
    parser: Any = expressions.UpdateExpressionParser  # type: ignore[attr-defined]
    make: Any = functools.lru_cache(maxsize=1024)(parser.make.__func__)
    parser.make = classmethod(make)


_ITEM_LIMIT = 405000  # moto's own figure, between the 409 and 410 KB that AWS accepts


def _patch_s3_post() -> None:
    from moto.s3.responses import S3Response

    post = S3Response._bucket_response_post
    if getattr(post, "_checks_post_policy", False):
        return  # already wrapped: a second copy of this module has an _INSTALLED of its own

    @functools.wraps(post)
    def bucket_response_post(self: Any, request: Any, bucket_name: str) -> Any:
        # A browser-based upload is a multipart form with a "key" field (DeleteObjects, the
        # other bucket POST, is an XML body on "?delete").
        if "key" in self.form_data and "key" in self.querystring:
            fields = {name: str(value) for name, value in self.form_data.items() if name != "file"}
            fields["key"] = self.querystring["key"][0]  # after moto expands ${filename}
            body = self.raw_body
            size = len(body if isinstance(body, bytes) else str(body).encode())
            refusal = _post_policy_refusal(fields, bucket_name, size, dt.datetime.now(dt.UTC))
            if refusal is not None:
                return refusal
        return post(self, request, bucket_name)

    bucket_response_post._checks_post_policy = True  # type: ignore[attr-defined]
    S3Response._bucket_response_post = bucket_response_post  # type: ignore[method-assign]


def _patch_s3_copy_if_match() -> None:
    from urllib.parse import unquote, urlparse

    from moto.s3.exceptions import PreconditionFailed
    from moto.s3.responses import S3Response

    copy = S3Response.copy_object
    if getattr(copy, "_checks_if_match", False):
        return

    @functools.wraps(copy)
    def copy_object(self: Any) -> Any:
        wanted = self.headers.get("x-amz-copy-source-if-match")
        if wanted is not None:
            source = self.headers.get("x-amz-copy-source")
            if isinstance(source, bytes):
                source = source.decode("utf-8")
            parsed = urlparse(source)
            bucket, key = unquote(parsed.path).lstrip("/").split("/", 1)
            found = self.backend.get_object(bucket, key)
            # A missing source is moto's own NoSuchKey, as on S3; ETags compare unquoted.
            if found is not None and found.etag.strip('"') != wanted.strip('"'):
                raise PreconditionFailed(failed_condition="x-amz-copy-source-If-Match")
        return copy(self)

    copy_object._checks_if_match = True  # type: ignore[attr-defined]
    S3Response.copy_object = copy_object  # type: ignore[method-assign]

    global ORIGINAL_S3_SERIALIZED  # noqa: PLW0603 - kept once, for the equivalence test
    ORIGINAL_S3_SERIALIZED = serialized = S3Response.serialized

    @functools.wraps(serialized)
    def fast_serialized(self: Any, action_result: Any) -> Any:
        body = _copy_result_xml(self, action_result)
        if body is None:
            return serialized(self, action_result)
        headers = {"Content-Type": "application/xml"}
        headers.update(self.response_headers)
        return 200, headers, body

    S3Response.serialized = fast_serialized  # type: ignore[method-assign]


_ISO_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


@functools.cache  # built whole: first copies on several threads at once share no half-filled list
def _copy_members() -> tuple[str, ...]:
    """``CopyObjectResult``'s members, in the order S3's shape lists them."""
    from moto.core.utils import get_service_model

    shape = get_service_model("s3").shape_for("CopyObjectResult")
    return tuple(shape.members)  # type: ignore[attr-defined] # a StructureShape


def _copy_result_xml(response: Any, action_result: Any) -> str | None:
    """CopyObject's answer as moto's serializer writes it, or None for anything else."""
    if response.data.get("Action") != "CopyObject":  # every other S3 answer: one look
        return None
    from moto import settings

    result = getattr(action_result, "result", None)
    if (
        settings.PRETTIFY_RESPONSES
        or not isinstance(result, dict)
        or list(result) != ["CopyObjectResult"]
    ):
        return None
    fields = result["CopyObjectResult"]
    members = _copy_members()
    if (
        not isinstance(fields, dict)
        or not set(fields) <= set(members)
        or not all(isinstance(v, str) for v in fields.values())
        or not _ISO_MS.fullmatch(fields.get("LastModified", ""))
    ):
        return None
    inner = "".join(f"<{k}>{escape(fields[k])}</{k}>" for k in members if k in fields)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<CopyObjectResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{inner}'
        "</CopyObjectResult>"
    )


# Form fields no policy condition has to name (S3's POST policy documentation).
_UNCHECKED_FIELDS = {"policy", "x-amz-signature", "file", "signature", "awsaccesskeyid"}


class _Refused(Exception):
    """S3's refusal of a POST upload: the status and XML error it answers with."""

    def __init__(self, status: int, code: str, message: str, **extra: object) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra

    def answer(self) -> tuple[int, dict[str, str], str]:
        """The error document, as S3 sends it."""
        parts = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in self.extra.items())
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{self.code}</Code><Message>{escape(self.message)}</Message>{parts}"
            f"<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId><HostId>local</HostId>"
            "</Error>"
        )
        return self.status, {"Content-Type": "application/xml"}, xml


def _policy_failed(detail: str) -> _Refused:
    return _Refused(403, "AccessDenied", f"Invalid according to Policy: {detail}")


def _post_policy_refusal(
    fields: dict[str, str], bucket: str, size: int, now: dt.datetime
) -> tuple[int, dict[str, str], str] | None:
    """S3's answer refusing a browser-based POST upload, or None if S3 would store it.

    As S3 does: a form without a policy is an anonymous request, refused on a private bucket
    (every bucket here). An unreadable policy is ``InvalidPolicyDocument`` (400). The policy's
    ``expiration`` passed: 403 ``AccessDenied`` "Invalid according to Policy: Policy expired.".
    Each condition is checked against the form's fields (names without case; ``bucket`` is the
    URL's): exact match (``{"name": value}`` or ``["eq", "$name", value]``) and ``starts-with``;
    a failure is 403 ``AccessDenied`` "Invalid according to Policy: Policy Condition failed:"
    and the condition. A form field that no condition names (but the policy, the signature,
    the file and ``x-ignore-*``) is 403 "Extra input fields:". ``content-length-range`` is
    checked on the file's size: 400 ``EntityTooLarge`` or ``EntityTooSmall``. A SigV4 signature
    is checked when its access key is this process's own (the only secret known here):
    403 ``SignatureDoesNotMatch``.
    """
    lower = {name.lower(): value for name, value in fields.items()}
    try:
        if "policy" not in lower:
            raise _Refused(403, "AccessDenied", "Access Denied")
        expiration, conditions = _read_policy(lower["policy"])
        if _signature_mismatch(lower):
            raise _Refused(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. "
                "Check your key and signing method.",
            )
        if now >= expiration:
            raise _policy_failed("Policy expired.")
        length = _check_conditions(conditions, {**lower, "bucket": bucket})
        if length is not None:
            _check_length(size, *length)
    except _Refused as refused:
        return refused.answer()
    return None


def _read_policy(encoded: str) -> tuple[dt.datetime, list[Any]]:
    try:
        policy = json.loads(base64.b64decode(encoded, validate=True))
        expiration = dt.datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
        return expiration, list(policy["conditions"])
    except (binascii.Error, ValueError, KeyError, TypeError, AttributeError) as e:
        raise _Refused(400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON.") from e


def _check_conditions(conditions: list[Any], values: dict[str, str]) -> tuple[int, int] | None:
    """Raise at the first condition the form fails, or at a field no condition names; the
    ``content-length-range`` if there is one.
    """
    named = {"bucket"}  # the URL's, not a form field
    length: tuple[int, int] | None = None
    for condition in conditions:
        if isinstance(condition, dict) and len(condition) == 1:
            [(name, expected)] = condition.items()
            check = ["eq", f"${name}", expected]
        elif isinstance(condition, list) and len(condition) == 3:  # noqa: PLR2004 - op, a, b
            check = condition
        else:
            raise _Refused(400, "InvalidPolicyDocument", "Invalid Policy: Invalid Condition.")
        op = str(check[0]).lower()
        if op == "content-length-range":
            length = (int(check[1]), int(check[2]))
            continue
        name = str(check[1]).removeprefix("$").lower()
        named.add(name)
        value = values.get(name)
        if value is None or not (
            value == str(check[2])
            if op == "eq"
            else op == "starts-with" and value.startswith(str(check[2]))
        ):
            shown = ", ".join(json.dumps(part) for part in check)
            raise _policy_failed(f"Policy Condition failed: [{shown}]")
    for name in values:
        if name not in named and name not in _UNCHECKED_FIELDS and not name.startswith("x-ignore-"):
            raise _policy_failed(f"Extra input fields: {name}")
    return length


def _check_length(size: int, smallest: int, largest: int) -> None:
    if size > largest:
        raise _Refused(
            400,
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed size",
            ProposedSize=size,
            MaxSizeAllowed=largest,
        )
    if size < smallest:
        raise _Refused(
            400,
            "EntityTooSmall",
            "Your proposed upload is smaller than the minimum allowed size",
            ProposedSize=size,
            MinSizeAllowed=smallest,
        )


def _signature_mismatch(fields: dict[str, str]) -> bool:
    """A POST signed with this process's own key whose signature does not match its policy
    (SigV4, or the SigV2 that boto3 still uses for presigned POSTs by default). Other keys
    are not checked: moto accepts any key, and their secret is not known here.
    """
    key_id, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    if not secret:
        return False
    policy = fields["policy"].encode()
    credential = fields.get("x-amz-credential", "").split("/")
    if credential[0] == key_id and len(credential) == 5:  # noqa: PLR2004 - key/date/region/s3/aws4_request
        signing = f"AWS4{secret}".encode()
        for part in credential[1:]:
            signing = hmac.new(signing, part.encode(), hashlib.sha256).digest()
        expected = hmac.new(signing, policy, hashlib.sha256).hexdigest()
        return not hmac.compare_digest(expected, fields.get("x-amz-signature", ""))
    if fields.get("awsaccesskeyid") == key_id:
        digest = hmac.new(secret.encode(), policy, hashlib.sha1).digest()
        expected = base64.b64encode(digest).decode()
        return not hmac.compare_digest(expected, fields.get("signature", ""))
    return False


def _locked(method: Any) -> Any:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return method(*args, **kwargs)

    return wrapper


def _key_of(backend: Any, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return dict(op["Key"])
    table = backend.get_table(op["TableName"])
    attrs = op["Item"]
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


def _check(backend: Any, op_type: str, op: dict[str, Any], key: dict[str, Any]) -> Any:
    """Evaluate one operation's condition: None if it holds, else the reason tuple."""
    from moto.dynamodb.comparisons import get_filter_expression

    if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
        raise ValueError("Unsupported transaction operation")
    current = backend.get_item(op["TableName"], key)
    expression = op.get("ConditionExpression")
    if expression is None:
        return None
    condition = get_filter_expression(
        expression, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
    )
    if condition.expr(current):
        return None
    old = None
    if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
        old = current.to_json()["Attributes"]
    return ("ConditionalCheckFailed", "The conditional request failed", old)


def _apply(backend: Any, op_type: str, op: dict[str, Any], key: dict[str, Any]) -> None:
    names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
    if op_type == "Put":
        backend.put_item(op["TableName"], op["Item"])
    elif op_type == "Delete":
        backend.delete_item(op["TableName"], key)
    elif op_type == "Update":
        backend.update_item(
            op["TableName"],
            key,
            update_expression=op["UpdateExpression"],
            expression_attribute_names=names,
            expression_attribute_values=values,
        )


def _plan(
    backend: Any, transact_items: list[dict[str, Any]]
) -> tuple[list[tuple[str, dict[str, Any], dict[str, Any]]], list[tuple[Any, Any, Any]]]:
    """Every operation with its key, and every condition's outcome, before any write."""
    from moto.dynamodb.exceptions import (
        MockValidationException,
        MultipleTransactionsException,
        TransactWriteSingleOpException,
    )

    ops: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    seen: set[tuple[str, str]] = set()
    errors: list[tuple[Any, Any, Any]] = []
    for item in transact_items:
        if len(item) > 1:
            raise TransactWriteSingleOpException
        op_type, op = next(iter(item.items()))
        key = _key_of(backend, op_type, op)
        unique = (str(op["TableName"]), str(dict(sorted(key.items()))))
        if unique in seen:
            raise MultipleTransactionsException()
        seen.add(unique)
        ops.append((op_type, op, key))
        try:
            errors.append(_check(backend, op_type, op, key) or (None, None, None))
        except MockValidationException:
            raise
        except Exception as e:  # as moto does: any other failure cancels with its name
            errors.append((type(e).__name__, str(e), None))
    return ops, errors


def _transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    from moto.dynamodb.exceptions import (
        TooManyTransactionsException,
        TransactionCanceledException,
    )

    if len(transact_items) > 100:  # noqa: PLR2004 - DynamoDB's documented limit
        raise TooManyTransactionsException()
    with _LOCK:
        ops, errors = _plan(self, transact_items)
        if any(code is not None for code, _, _ in errors):
            raise TransactionCanceledException(errors)
        backups = []
        for _, op, key in ops:
            current = self.get_item(op["TableName"], key)
            backups.append(
                (op["TableName"], key, current.to_json()["Attributes"] if current else None)
            )
        try:
            for op_type, op, key in ops:
                _apply(self, op_type, op, key)
        except Exception:
            for table_name, key, attrs in backups:
                if attrs is None:
                    self.delete_item(table_name, key)
                else:
                    self.put_item(table_name, attrs)
            raise
