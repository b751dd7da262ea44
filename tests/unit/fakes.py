"""In-memory fakes of the ports, for unit tests."""

from __future__ import annotations

from mailport.domain.identity import Tenant, User


class MemoryDirectory:
    """``Directory`` in a dict."""

    def __init__(self) -> None:
        self.tenants: dict[str, Tenant] = {}
        self.users: dict[tuple[str, str], User] = {}

    def get_tenant(self, tenant_id: str) -> Tenant | None:
        return self.tenants.get(tenant_id)

    def put_tenant(self, tenant: Tenant) -> None:
        self.tenants[tenant.tenant_id] = tenant

    def get_user(self, tenant_id: str, user_id: str) -> User | None:
        return self.users.get((tenant_id, user_id))

    def put_user(self, user: User) -> None:
        self.users[(user.tenant_id, user.user_id)] = user
