"""A small client for mailport's REST API, turning every failure into one clear line."""

from __future__ import annotations

from typing import Any

import requests

from . import __version__

Json = dict[str, Any]

USER_AGENT = f"mailport-cli/{__version__}"
LOGIN_HINT = "locally, get one with POST /v1/local/login (see the README)"


class CliError(Exception):
    """A failure shown to the user as one line, with the exit code to end with."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def describe_failure(error: requests.RequestException) -> str:
    """A network failure in a few words (never the request's headers)."""
    if isinstance(error, requests.Timeout):
        return "the request timed out"
    if isinstance(error, requests.ConnectionError):
        return "the connection failed"
    return type(error).__name__


def error_message(response: requests.Response) -> str:
    """The message of an API error body ``{"error": {"code", "message"}}``, or the status."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    text = str(message) if message else f"HTTP {response.status_code}"
    if response.status_code == requests.codes.unauthorized:
        text += f" (check --token or MAILPORT_TOKEN; {LOGIN_HINT})"
    return text


class Api:
    """The calls the client makes, authenticated with a bearer token."""

    def __init__(self, base_url: str, token: str, timeout: float = 30.0) -> None:
        self._base = base_url.rstrip("/")
        self._timeout = timeout
        self._session = requests.Session()
        self._session.headers.update({"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT})

    def get(self, path: str) -> Json:
        """GET a JSON object."""
        return self._send("GET", path, None)

    def post(self, path: str, body: Json) -> Json:
        """POST a JSON object and read the JSON object answered."""
        return self._send("POST", path, body)

    def _send(self, method: str, path: str, body: Json | None) -> Json:
        url = f"{self._base}{path}"
        try:
            response = self._session.request(method, url, json=body, timeout=self._timeout)
        except requests.RequestException as e:
            raise CliError(f"cannot reach the API at {self._base}: {describe_failure(e)}") from None
        if response.status_code >= requests.codes.bad_request:
            raise CliError(error_message(response))
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise CliError(f"{method} {path}: the API answered something that is not JSON")
        return data
