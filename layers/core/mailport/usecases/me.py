"""``GET /v1/me``: who am I, in which tenant, on which plan, with which features."""

from __future__ import annotations

from dataclasses import dataclass

from mailport.domain.identity import Feature, Plan, Principal, features_of
from mailport.errors import Forbidden
from mailport.ports import Directory


@dataclass(frozen=True, slots=True)
class MeView:
    """What the console needs to know about the caller."""

    user_id: str
    email: str
    display_name: str
    tenant_id: str
    tenant_name: str
    plan: Plan
    admin: bool
    features: tuple[Feature, ...]


def who_am_i(principal: Principal, directory: Directory) -> MeView:
    """Resolve the caller against the directory; unknown tenants are refused."""
    tenant = directory.get_tenant(principal.tenant_id)
    if tenant is None:
        raise Forbidden("your organisation is not registered with mailport")
    user = directory.get_user(principal.tenant_id, principal.user_id)
    display = user.display_name if user else principal.email
    return MeView(
        user_id=principal.user_id,
        email=principal.email,
        display_name=display,
        tenant_id=tenant.tenant_id,
        tenant_name=tenant.name,
        plan=tenant.plan,
        admin=principal.admin,
        features=tuple(sorted(features_of(tenant.plan))),
    )
