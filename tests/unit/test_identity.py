import api_views
import pytest

from mailport.domain.identity import Feature, Plan, Principal, Tenant, features_of
from mailport.errors import PlanRequired, Unauthenticated
from mailport.usecases.me import who_am_i
from tests.unit.fakes import MemoryDirectory


def test_claims_as_api_gateway_passes_them() -> None:
    p = Principal.from_claims(
        {"sub": "u1", "custom:tenant": "acme", "email": "a@x.example", "custom:admin": "true"}
    )
    assert p == Principal(user_id="u1", tenant_id="acme", email="a@x.example", admin=True)


def test_admin_from_cognito_group() -> None:
    claims = {"sub": "u1", "custom:tenant": "acme", "cognito:groups": "staff,admins"}
    assert Principal.from_claims(claims).admin


def test_not_admin_by_default() -> None:
    assert not Principal.from_claims({"sub": "u1", "custom:tenant": "t"}).admin


@pytest.mark.parametrize(
    "claims", [{}, {"sub": "u1"}, {"custom:tenant": "acme"}, {"sub": "", "custom:tenant": "a"}]
)
def test_claims_without_user_or_tenant_are_refused(claims: dict[str, str]) -> None:
    with pytest.raises(Unauthenticated):
        Principal.from_claims(claims)


def test_import_needs_the_advanced_plan() -> None:
    assert Feature.POP_IMPORT not in features_of(Plan.BASIC)
    assert Feature.IMAP_MIGRATION in features_of(Plan.ADVANCED)
    with pytest.raises(PlanRequired) as err:
        Tenant("t", "T", Plan.BASIC).require(Feature.EML_UPLOAD)
    assert "advanced plan" in err.value.message
    Tenant("t", "T", Plan.ADVANCED).require(Feature.EML_UPLOAD)


def test_who_am_i_resolves_tenant_and_plan() -> None:
    directory = MemoryDirectory()
    directory.put_tenant(Tenant("acme", "Acme", Plan.ADVANCED))
    me = who_am_i(Principal("u1", "acme", "a@acme.example", False), directory)
    body = api_views.me(me)
    assert body["plan"] == "advanced"
    assert body["tenant"] == {"id": "acme", "name": "Acme"}
    assert "pop_import" in body["features"]
    assert body["user"] == {"id": "u1", "email": "a@acme.example", "display_name": "a@acme.example"}


def test_who_am_i_refuses_an_unknown_tenant() -> None:
    from mailport.errors import Forbidden

    with pytest.raises(Forbidden):
        who_am_i(Principal("u1", "ghost", "a@x.example", False), MemoryDirectory())
