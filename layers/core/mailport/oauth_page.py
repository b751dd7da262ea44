"""The page the sign-in window shows after the provider (Microsoft, Google) sends the browser
back: ready, or why not; it tells the console window that opened it (same origin only) and
closes itself.
"""

from __future__ import annotations

import html
import json

from mailport.catalogue import say

COOKIE = "mailport_oauth"


def cookie_header(value: str, *, secure: bool, max_age: int) -> str:
    """The browser binding: HttpOnly (no script reads it); Lax, so the top-level redirect
    back from the provider carries it while other sites' requests don't; Secure over https.
    """
    flags = f"{COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax"
    return flags + ("; Secure" if secure else "")


def read_cookie(header: str | None) -> str | None:
    """Our binding cookie from a ``Cookie`` header."""
    for part in (header or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE and value:
            return value
    return None


def page(
    *,
    ok: bool,
    detail: str,
    code: str,
    connection: dict[str, object] | None,
    language: str = "en",
) -> str:
    """The whole HTML page in ``language`` (every dynamic text escaped; the script's data is
    JSON).
    """
    lang = "ja" if language == "ja" else "en"
    title = (say("oauth.page_ready") if ok else say("oauth.page_failed")).render(lang)
    close = say("oauth.page_close").render(lang)
    message = {
        "type": "mailport-oauth",
        "status": "ready" if ok else "error",
        "code": code,
        "message": detail,
        "connection": connection,
    }
    # No "<" at all inside the script element: nothing in the data can close it.
    data = json.dumps(message).replace("<", "\\u003c")
    return f"""<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mailport — {html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; line-height: 1.5; color: #1b1f24; }}
h1 {{ font-size: 1.25rem; }}
.detail {{ color: #57606a; }}
</style>
</head>
<body>
<main>
<h1 id="title" data-status="{message["status"]}">{html.escape(title)}</h1>
<p class="detail" id="detail">{html.escape(detail)}</p>
<p>{html.escape(close)}</p>
</main>
<script>
(function () {{
  var message = {data};
  if (window.opener && !window.opener.closed) {{
    window.opener.postMessage(message, window.location.origin);
    if (message.status === "ready") {{ setTimeout(function () {{ window.close(); }}, 1500); }}
  }}
}})();
</script>
</body>
</html>
"""
