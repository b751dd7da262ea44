"""The small interfaces the domain needs from the outside world. Adapters implement them;
the domain never imports an adapter.
"""

from __future__ import annotations

from typing import Protocol

from mailport.domain.identity import Tenant, User


class Directory(Protocol):
    """Tenants and users."""

    def get_tenant(self, tenant_id: str) -> Tenant | None:
        """The tenant, or None."""
        ...

    def put_tenant(self, tenant: Tenant) -> None:
        """Create or replace a tenant."""
        ...

    def get_user(self, tenant_id: str, user_id: str) -> User | None:
        """The user, or None."""
        ...

    def put_user(self, user: User) -> None:
        """Create or replace a user."""
        ...
