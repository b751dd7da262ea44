"""``GET /v1/me``: who am I, in which tenant, on which plan, with which features."""

from __future__ import annotations

from dataclasses import dataclass

from mailport.catalogue import LANGUAGES, say
from mailport.domain.identity import Feature, Plan, Principal, User, features_of
from mailport.errors import Forbidden, ValidationFailed
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
    language: str  # the user's choice; "" until they make one


def who_am_i(principal: Principal, directory: Directory) -> MeView:
    """Resolve the caller against the directory; unknown tenants are refused."""
    tenant = directory.get_tenant(principal.tenant_id)
    if tenant is None:
        raise Forbidden(say("site.tenant_unknown"))
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
        language=user.language if user else "",
    )


def set_language(principal: Principal, directory: Directory, language: str) -> MeView:
    """Keep the caller's choice of language (what notices are written in, and the API's
    answers when a request names none).
    """
    if language not in LANGUAGES:
        raise ValidationFailed(
            say("identity.language_unknown", languages=", ".join(sorted(LANGUAGES)))
        )
    view = who_am_i(principal, directory)
    user = User(view.user_id, view.tenant_id, view.email, view.display_name, view.admin)
    directory.set_language(user, language)
    return who_am_i(principal, directory)


def language_of_user(directory: Directory, tenant_id: str, user_id: str, fallback: str) -> str:
    """The user's language for words sent without a request (notices): their choice, else
    ``fallback`` (the language of the request that started the job or account).
    """
    user = directory.get_user(tenant_id, user_id)
    chosen = user.language if user is not None else ""
    return chosen if chosen in LANGUAGES else fallback
