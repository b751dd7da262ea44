"""boto3 clients are made in one place (``mailport.adapters.clients``), on first use, once; every
adapter is handed a client source and makes none itself."""

from __future__ import annotations

import ast
import threading
import time
from pathlib import Path
from typing import Any

from mailport.adapters.clients import Clients, LazyClient
from mailport.adapters.kms import KmsSecretBox
from mailport.settings import Settings
from mailport.wiring import Container

PACKAGE = Path(__file__).resolve().parents[2] / "layers/core/mailport"
CLIENTS = PACKAGE / "adapters/clients.py"


def makes_clients(path: Path) -> list[str]:
    """Where ``path`` makes a client or resource, or uses boto3 itself (its session)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in {"client", "resource"}:
                found.append(f"{path.name}:{node.lineno}: .{node.func.attr}(")
        elif isinstance(node, ast.Name) and node.id == "boto3":
            found.append(f"{path.name}:{node.lineno}: boto3.")
        elif isinstance(node, ast.Import) and any(a.name == "boto3" for a in node.names):
            found.append(f"{path.name}:{node.lineno}: import boto3")
        elif isinstance(node, ast.ImportFrom) and node.module in {"boto3", "boto3.session"}:
            found.append(f"{path.name}:{node.lineno}: from {node.module} import")
    return found


def test_the_scan_sees_a_client_being_made(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import boto3\nx = boto3.session.Session().client('s3')\n")
    assert len(makes_clients(module)) == 3  # the import, boto3's session, the client


def test_no_module_but_clients_makes_a_client() -> None:
    modules = [p for p in PACKAGE.rglob("*.py") if p != CLIENTS]
    assert len(modules) > 30
    assert [hit for p in modules for hit in makes_clients(p)] == []
    assert makes_clients(CLIENTS)  # the one place


class _Session:
    """Counts clients made; slow, so threads asking at once overlap."""

    def __init__(self) -> None:
        self.made: list[tuple[str, Any]] = []
        self.inside = 0
        self.overlapped = False

    def client(self, service: str, config: Any = None) -> object:
        self.inside += 1
        self.overlapped |= self.inside > 1
        time.sleep(0.01)
        self.made.append((service, config))
        self.inside -= 1
        return _Client()


class _Events:
    def register(self, *_: Any) -> None: ...

    def unregister(self, *_: Any) -> None: ...


class _Client:
    """A made client, as far as ``Clients`` touches one (its events, to adjust them)."""

    def __init__(self) -> None:
        self.meta = type("Meta", (), {"events": _Events()})()


def test_a_lazy_client_is_made_on_first_call_once_whichever_thread_asks() -> None:
    session = _Session()
    lazy = LazyClient("kms", session)  # type: ignore[arg-type]
    assert session.made == []
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(lazy())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(session.made) == 1 and len({id(c) for c in got}) == 1 and lazy() is got[0]


def test_the_clients_of_one_session_are_never_made_at_once() -> None:
    session = _Session()
    clients = Clients(session)  # type: ignore[arg-type]
    sources = [clients.dynamodb, clients.s3, clients.kms, clients.sqs, clients.ses] * 2
    threads = [threading.Thread(target=source) for source in sources]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not session.overlapped and len(session.made) == 5


def test_pooled_and_presigning_clients_keep_their_config() -> None:
    session = _Session()
    clients = Clients(session)  # type: ignore[arg-type]
    for source in (clients.dynamodb, clients.s3, clients.s3_presign, clients.kms):
        source()
    (ddb, pooled), (s3, pooled_too), (presign, sigv4), (kms, default) = session.made
    # Pooled: the fetch worker's threads share them. SigV4: S3 refuses SigV2 on new buckets.
    assert (ddb, pooled.max_pool_connections) == ("dynamodb", 100)
    assert (s3, pooled_too.max_pool_connections) == ("s3", 100)
    assert (presign, sigv4.signature_version) == ("s3", "s3v4")
    assert (kms, default) == ("kms", None)


def test_the_container_makes_no_client_until_an_adapter_calls() -> None:
    session = _Session()
    settings = Settings.from_env(
        {
            "TABLE_NAME": "t",
            "MAIL_BUCKET": "m",
            "UPLOAD_BUCKET": "u",
            "FETCH_QUEUE_URL": "q",
            "CREDENTIALS_KEY_ID": "k",
        }
    )
    container = Container(settings, session)  # type: ignore[arg-type]
    box = container._secrets
    assert isinstance(box, KmsSecretBox)
    container.mailbox, container.accounts, container.uploads  # noqa: B018 - wired, unused
    assert session.made == []
    assert box._kms is container.clients.kms()
    assert [s for s, _ in session.made] == ["kms"]


def _sent_expect(client: Any, body: bytes) -> str | None:
    """The Expect header of a PutObject as it is sent (answered here: no socket opened)."""
    from botocore.awsrequest import AWSResponse

    seen: list[str | None] = []

    class Raw:
        def stream(self, **_: Any) -> Any:
            yield b""

    def answer(request: Any, **_: Any) -> AWSResponse:
        seen.append(request.headers.get("Expect"))
        return AWSResponse(request.url, 200, {}, Raw())

    client.meta.events.register("before-send.s3", answer)
    client.put_object(Bucket="b", Key="k", Body=body)
    return seen[0].decode() if isinstance(seen[0], bytes) else seen[0]


def test_the_mail_bucket_client_asks_100_continue_only_for_a_big_body() -> None:
    import boto3

    from mailport.adapters.clients import EXPECT_CONTINUE_BYTES

    session = boto3.session.Session(
        aws_access_key_id="x", aws_secret_access_key="y", region_name="us-east-1"
    )
    plain = session.client("s3")
    assert _sent_expect(plain, b"x" * 100) == "100-continue"  # botocore's own: every body
    s3 = Clients(session).s3()
    assert _sent_expect(s3, b"x" * 100) is None
    assert _sent_expect(s3, b"x" * (EXPECT_CONTINUE_BYTES - 1)) is None
    assert _sent_expect(s3, b"x" * EXPECT_CONTINUE_BYTES) == "100-continue"
