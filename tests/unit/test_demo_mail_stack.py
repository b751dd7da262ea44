"""Which CA the local stack's functions trust for mail servers: --trust-ca's, the demo mail
server's, or both (MAIL_EXTRA_CA_FILE names one file, so a bundle)."""

from __future__ import annotations

import ssl
from pathlib import Path
from types import SimpleNamespace

from mailport_local.dovecot_support import make_tls
from mailport_local.stack import LocalStack, LocalStackConfig


def ca(tmp_path: Path, name: str) -> Path:
    etc = tmp_path / name
    etc.mkdir()
    return make_tls(etc)[0]


def stack(tmp_path: Path, trust: Path | None, demo_ca: Path | None) -> LocalStack:
    config = LocalStackConfig(state_dir=tmp_path, mail_ca_file=str(trust) if trust else None)
    s = LocalStack(config)
    s.demo_mail = SimpleNamespace(ca_file=demo_ca) if demo_ca else None  # type: ignore[assignment]
    return s


def test_either_ca_alone_is_used_as_it_is(tmp_path: Path) -> None:
    given, demo = ca(tmp_path, "given"), ca(tmp_path, "demo")
    assert stack(tmp_path, given, None)._mail_ca_file() == str(given)
    assert stack(tmp_path, None, demo)._mail_ca_file() == str(demo)
    assert stack(tmp_path, None, None)._mail_ca_file() is None


def test_both_go_in_one_bundle_that_trusts_each(tmp_path: Path) -> None:
    given, demo = ca(tmp_path, "given"), ca(tmp_path, "demo")
    bundle = stack(tmp_path, given, demo)._mail_ca_file()
    assert bundle is not None and Path(bundle).parent == tmp_path
    context = ssl.create_default_context(cafile=bundle)
    assert len(context.get_ca_certs()) == 2
    text = Path(bundle).read_bytes()
    assert given.read_bytes().strip() in text and demo.read_bytes().strip() in text
