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


def pop_form(port: int, username: str, password: str, **extra: object) -> dict[str, object]:
    """A POP account registration for the test Dovecot's POP3S ``port`` (agreement given)."""
    return {
        "preset": "manual",
        "host": "127.0.0.1",
        "port": port,
        "ssl": True,
        "username": username,
        "password": password,
        "agreed": True,
        **extra,
    }
