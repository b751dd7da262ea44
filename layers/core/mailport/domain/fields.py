"""Bounds of single request fields that more than one part of the domain shares. The bodies
themselves are checked at the API's edge (``api_inputs``), these bounds with them.
"""

from __future__ import annotations

MAX_PORT = 65535
