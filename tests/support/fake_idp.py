"""The tests' fake Microsoft (and Google) identity platform: `make run --demo-microsoft`'s demo
identity provider (mailport_local.demo_identity), in its non-interactive mode: the user signs in
as ``sign_in_as`` (default: the login hint) and consents at once, or declines (``deny``).
"""

from __future__ import annotations

from mailport_local.demo_identity import (
    GOOGLE_AUTHORIZE_PATH,
    GOOGLE_TOKEN_PATH,
    IMAP_SCOPE,
    TENANT,
    DemoIdentityProvider,
)

FakeIdentityProvider = DemoIdentityProvider

__all__ = [
    "GOOGLE_AUTHORIZE_PATH",
    "GOOGLE_TOKEN_PATH",
    "IMAP_SCOPE",
    "TENANT",
    "DemoIdentityProvider",
    "FakeIdentityProvider",
]
