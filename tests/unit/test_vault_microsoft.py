"""Turning the identity platform's answers into typed results (no network here)."""

from __future__ import annotations

import jwt
import pytest

from services.token_vault.microsoft import (
    GrantInvalid,
    InvalidTenant,
    MicrosoftIdentity,
    MicrosoftUnavailable,
    _classify,
    _token_result,
    check_tenant,
)


def _error(error: str, code: int) -> dict:
    return {"error": error, "error_codes": [code],
            "error_description": f"AADSTS{code}: words. Trace ID: abc Correlation ID: def"}


@pytest.mark.parametrize("answer", [
    _error("invalid_grant", 50173), _error("invalid_grant", 700082),
    _error("invalid_client", 7000229), _error("interaction_required", 65001)])
def test_revoked_or_expired_grants_need_consent(answer):
    classified = _classify(answer)
    assert isinstance(classified, GrantInvalid)
    assert "Trace ID" not in classified.reason


@pytest.mark.parametrize("answer", [
    _error("temporarily_unavailable", 50196), {"error": "server_error"}, {}])
def test_other_failures_are_worth_retrying_later(answer):
    assert isinstance(_classify(answer), MicrosoftUnavailable)


def test_app_token_permissions_come_from_its_roles_claim():
    token = jwt.encode({"roles": ["Mail.Read", "User.Read.All"], "tid": "t1"}, "k" * 32)
    result = _token_result({"access_token": token, "expires_in": 3599})
    assert result.permissions == ("Mail.Read", "User.Read.All")
    assert (result.tenant_id, result.expires_in, result.refresh_token) == ("t1", 3599, None)
    assert token not in repr(result)


def test_delegated_permissions_come_from_the_granted_scopes():
    token = jwt.encode({"scp": "ignored", "tid": "t2"}, "k" * 32)
    result = _token_result({"access_token": token, "expires_in": 10, "refresh_token": "r",
                            "scope": "https://graph.microsoft.com/Mail.Read User.Read.All "
                                     "openid profile offline_access"})
    assert result.permissions == ("Mail.Read", "User.Read.All")
    assert result.refresh_token == "r"


@pytest.mark.parametrize("tenant", ["", "../evil", "a b", "x/y", "t?q=1", None, "-start"])
def test_tenant_segments_are_ids_or_domains_only(tenant):
    with pytest.raises(InvalidTenant):
        check_tenant(tenant)


def test_the_admin_consent_url_asks_for_the_default_scope():
    identity = MicrosoftIdentity("client-1", lambda: "unused", "https://login.example/",
                                 http_session=None)
    url = identity.admin_consent_url("contoso.onmicrosoft.com", "https://vault/cb", "s1")
    assert url.startswith("https://login.example/contoso.onmicrosoft.com/v2.0/adminconsent?")
    assert "scope=https%3A%2F%2Fgraph.microsoft.com%2F.default" in url
    assert "client_id=client-1" in url and "state=s1" in url
