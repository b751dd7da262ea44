"""Where the web console signs in on a deployed stack: the Cognito hosted UI's OAuth 2.0
endpoints (authorization code with PKCE, a public client), for ``GET /v1/auth/config``.
"""

from __future__ import annotations

from mailport.settings import Settings

SCOPES = ("openid", "email", "profile")


def hosted_signin_config(settings: Settings) -> dict[str, object] | None:
    """The hosted sign-in's endpoints and client, or None where there is none (the local
    stack, or a stack deployed without ``ConsoleUrl``).
    """
    if not settings.hosted_signin:
        return None
    domain = str(settings.auth_domain)
    config: dict[str, object] = {
        "authorize_url": f"{domain}/oauth2/authorize",
        "token_url": f"{domain}/oauth2/token",
        "logout_url": f"{domain}/logout",
        "client_id": settings.auth_client_id,
        "scopes": list(SCOPES),
        # The only address the client sends the browser back to (CallbackURLs, LogoutURLs).
        "redirect_uri": settings.console_url,
    }
    if settings.auth_issuer:
        config["issuer"] = settings.auth_issuer
    return config
