"""Talking to the local stack's API the way a client does."""

from __future__ import annotations

import requests

from mailport_local.stack import LocalStack


def login(stack: LocalStack, email: str, tenant: str, **extra: object) -> dict[str, str]:
    """Sign in through ``POST /v1/local/login``; the headers that carry the token."""
    r = requests.post(
        f"{stack.api_url}/v1/local/login",
        json={"email": email, "tenant": tenant, **extra},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}
