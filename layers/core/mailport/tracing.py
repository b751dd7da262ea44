"""What the functions' X-Ray Tracer patches.

Powertools patches every library it knows by default, which imports them all at cold start
(``requests`` alone ≈ 30 ms, bench/importtime.py). mailport's calls to AWS go through
botocore; the mail servers are plain sockets; only msal and Authlib use requests, on the
rare sign-in and token-refresh paths. So only botocore is traced.
"""

from __future__ import annotations

TRACED = ("botocore",)
