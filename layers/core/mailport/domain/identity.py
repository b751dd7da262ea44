"""Who is calling: tenants, plans, users and the features a plan includes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from mailport.catalogue import Words, say
from mailport.errors import PlanRequired, Unauthenticated


class Plan(StrEnum):
    """A tenant's plan. Import is an advanced-plan feature, as in LINE WORKS."""

    BASIC = "basic"
    ADVANCED = "advanced"

    @property
    def words(self) -> Words:
        """The plan as a person names it."""
        return Words(f"plan.{self.value}")


class Feature(StrEnum):
    """Things a plan may include."""

    POP_IMPORT = "pop_import"
    IMAP_MIGRATION = "imap_migration"
    EML_UPLOAD = "eml_upload"
    MAILBOX = "mailbox"

    @property
    def words(self) -> Words:
        """The feature as a person names it."""
        return Words(f"feature.{self.value}")


_FEATURES: Mapping[Plan, frozenset[Feature]] = {
    Plan.BASIC: frozenset({Feature.MAILBOX}),
    Plan.ADVANCED: frozenset(Feature),
}


def features_of(plan: Plan) -> frozenset[Feature]:
    """The features ``plan`` includes."""
    return _FEATURES[plan]


@dataclass(frozen=True, slots=True)
class Tenant:
    """A customer organisation."""

    tenant_id: str
    name: str
    plan: Plan

    def require(self, feature: Feature) -> None:
        """Raise ``PlanRequired`` unless the plan includes ``feature``."""
        if feature not in features_of(self.plan):
            raise PlanRequired(
                say("identity.plan_required", feature=feature.words, plan=self.plan.words)
            )


@dataclass(frozen=True, slots=True)
class Principal:
    """The signed-in user, as the authorizer vouched for them."""

    user_id: str
    tenant_id: str
    email: str
    admin: bool

    @classmethod
    def from_claims(cls, claims: Mapping[str, object]) -> Principal:
        """Build from Cognito ID-token claims as API Gateway passes them (all strings)."""
        sub = str(claims.get("sub") or "")
        tenant = str(claims.get("custom:tenant") or "")
        if not sub or not tenant:
            raise Unauthenticated(say("identity.token_incomplete"))
        groups = str(claims.get("cognito:groups") or "")
        admin = str(claims.get("custom:admin") or "").lower() == "true" or "admins" in groups.split(
            ","
        )
        return cls(user_id=sub, tenant_id=tenant, email=str(claims.get("email") or ""), admin=admin)


@dataclass(frozen=True, slots=True)
class User:
    """A mailbox owner inside a tenant."""

    user_id: str
    tenant_id: str
    email: str
    display_name: str
    admin: bool
    language: str = ""  # the user's choice of the catalogue's languages; "" if none yet
