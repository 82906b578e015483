"""Real msal against the simulated identity platform: app-only, auth code + PKCE, refresh with
rotation, revocation, consent and Entra-shaped failures."""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import parse_qs, urlparse

import jwt
import msal
import pytest

from tests.m365sim import fixtures

m365sim = fixtures.m365sim  # pytest finds fixtures by module attribute
m365sim_server = fixtures.m365sim_server

GRAPH_DEFAULT = ["https://graph.microsoft.com/.default"]
REDIRECT = "http://localhost:8400/callback"


def _app(sim, tenant_id, secret=None, **kwargs):
    return msal.ConfidentialClientApplication(
        sim.client_id, client_credential=secret or sim.client_secret,
        oidc_authority=sim.authority(tenant_id), http_client=sim.session(), **kwargs)


def _verified_claims(sim, token: str) -> dict:
    jwks = sim.session().get(f"{sim.base_url}/{sim.tenants[0].tenant_id}/discovery/v2.0/keys",
                             timeout=10).json()
    key = jwt.PyJWK(jwks["keys"][0]).key
    return jwt.decode(token, key, algorithms=["RS256"], audience="https://graph.microsoft.com")


def _auth_code_flow(sim, app, scopes, **kwargs):
    flow = app.initiate_auth_code_flow(scopes, redirect_uri=REDIRECT, **kwargs)
    answer = sim.session().get(flow["auth_uri"], allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    params = {k: v[0] for k, v in parse_qs(urlparse(answer.headers["Location"]).query).items()}
    return flow, params


def test_app_only_token_with_oidc_authority(m365sim):
    tenant = m365sim.tenants[0]
    result = _app(m365sim, tenant.tenant_id).acquire_token_for_client(scopes=GRAPH_DEFAULT)
    assert "access_token" in result, result.get("error_description")
    claims = _verified_claims(m365sim, result["access_token"])
    assert claims["tid"] == tenant.tenant_id
    assert claims["appid"] == m365sim.client_id
    assert set(claims["roles"]) == set(tenant.roles)
    assert "scp" not in claims and claims["exp"] > claims["iat"]


def test_app_only_token_with_authority_and_no_instance_discovery(m365sim):
    tenant = m365sim.tenants[1]
    app = msal.ConfidentialClientApplication(
        m365sim.client_id, client_credential=m365sim.client_secret,
        authority=f"{m365sim.base_url}/{tenant.tenant_id}", instance_discovery=False,
        http_client=m365sim.session())
    result = app.acquire_token_for_client(scopes=GRAPH_DEFAULT)
    claims = _verified_claims(m365sim, result["access_token"])
    assert "Mail.ReadBasic.All" in claims["roles"] and "Mail.Read" not in claims["roles"]


def test_msal_refuses_an_http_authority():
    """Why the simulator serves HTTPS: msal 1.39 only accepts https authorities."""
    with pytest.raises(ValueError, match="https"):
        msal.ConfidentialClientApplication("id", client_credential="s",
                                           oidc_authority="http://127.0.0.1:9/t/v2.0")


def test_wrong_secret_fails_cleanly_with_aadsts7000215(m365sim):
    result = _app(m365sim, m365sim.tenants[0].tenant_id, secret="not-the-secret") \
        .acquire_token_for_client(scopes=GRAPH_DEFAULT)
    assert "access_token" not in result
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [7000215]
    assert result["error_description"].startswith("AADSTS7000215:")
    assert "not-the-secret" not in str(result)


def test_client_credentials_need_the_default_scope(m365sim):
    result = _app(m365sim, m365sim.tenants[0].tenant_id).acquire_token_for_client(
        scopes=["https://graph.microsoft.com/Mail.Read"])
    assert result["error"] == "invalid_scope" and result["error_codes"] == [1002012]


def test_unknown_tenant_is_refused_at_discovery(m365sim):
    with pytest.raises(ValueError, match="OIDC"):
        _app(m365sim, "00000000-0000-0000-0000-000000000000")


def test_delegated_auth_code_with_pkce_and_refresh_rotation(m365sim):
    tenant = m365sim.tenants[0]
    user = m365sim.world.tenants[0].directory.active_users()[2]
    app = _app(m365sim, tenant.tenant_id)
    flow, params = _auth_code_flow(m365sim, app, ["User.Read"],
                                   login_hint=user.user_principal_name)
    result = app.acquire_token_by_auth_code_flow(flow, params)
    assert "access_token" in result, result.get("error_description")
    assert result["id_token_claims"]["oid"] == user.id
    claims = _verified_claims(m365sim, result["access_token"])
    assert claims["scp"] == "User.Read" and "roles" not in claims and claims["tid"] == \
        tenant.tenant_id

    first = result["refresh_token"]
    second = app.acquire_token_by_refresh_token(first, ["User.Read"])
    assert second["refresh_token"] != first, "every refresh returns a new refresh token"
    third = app.acquire_token_by_refresh_token(second["refresh_token"], ["User.Read"])
    assert third["refresh_token"] not in (first, second["refresh_token"])
    # Like Entra, using a refresh token does not revoke it: concurrent refreshes both work.
    assert "access_token" in app.acquire_token_by_refresh_token(first, ["User.Read"])

    revoked = m365sim.revoke(tenant.tenant_id, refresh_tokens=True)
    assert revoked["refresh_tokens_revoked"] >= 3
    reused = app.acquire_token_by_refresh_token(third["refresh_token"], ["User.Read"])
    assert reused["error"] == "invalid_grant"
    assert reused["error_codes"] == [50173]


def test_pkce_verifier_is_checked(m365sim):
    tenant = m365sim.tenants[0]
    verifier = "a" * 50
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()) \
        .decode().rstrip("=")
    session = m365sim.session()
    answer = session.get(f"{m365sim.base_url}/{tenant.tenant_id}/oauth2/v2.0/authorize", params={
        "client_id": m365sim.client_id, "response_type": "code", "redirect_uri": REDIRECT,
        "scope": "openid User.Read", "code_challenge": challenge,
        "code_challenge_method": "S256", "state": "s1"}, allow_redirects=False, timeout=10)
    code = parse_qs(urlparse(answer.headers["Location"]).query)["code"][0]
    token_url = f"{m365sim.base_url}/{tenant.tenant_id}/oauth2/v2.0/token"
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "client_id": m365sim.client_id, "client_secret": m365sim.client_secret,
            "code_verifier": "b" * 50}
    wrong = session.post(token_url, data=form, timeout=10)
    assert wrong.status_code == 400 and wrong.json()["error_codes"] == [501481]
    # A code is single use: after the failed redemption it is gone.
    again = session.post(token_url, data={**form, "code_verifier": verifier}, timeout=10)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_admin_consent_redirect_and_consent_revocation(m365sim_server):
    sim = m365sim_server
    tenant = sim.tenants[1]
    sim.revoke(tenant.tenant_id, consent=True)
    refused = _app(sim, tenant.tenant_id).acquire_token_for_client(scopes=GRAPH_DEFAULT)
    assert refused["error"] == "invalid_client" and refused["error_codes"] == [7000229]

    answer = sim.session().get(f"{sim.base_url}/organizations/v2.0/adminconsent", params={
        "client_id": sim.client_id, "scope": GRAPH_DEFAULT[0], "redirect_uri": REDIRECT,
        "state": "xyz", "login_hint": f"admin@{tenant.domain}"},
        allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    location = urlparse(answer.headers["Location"])
    params = parse_qs(location.query)
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    assert params["admin_consent"] == ["True"]
    assert params["tenant"] == [tenant.tenant_id] and params["state"] == ["xyz"]
    granted = _app(sim, tenant.tenant_id).acquire_token_for_client(scopes=GRAPH_DEFAULT)
    assert "access_token" in granted


def test_graph_rejects_tokens_it_did_not_sign(m365sim):
    answer = m365sim.session().get(f"{m365sim.graph_url}/users",
                                   headers={"Authorization": "Bearer e30.e30.sig"}, timeout=10)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_token_endpoint_faults_and_runtime_grants(m365sim):
    tenant = m365sim.tenants[1]
    m365sim.set_faults(token_error_rate=1.0)
    with pytest.raises(msal.exceptions.MsalServiceError, match="503"):
        # msal raises on 5xx rather than returning an error dict: callers must catch it.
        _app(m365sim, tenant.tenant_id).acquire_token_for_client(scopes=GRAPH_DEFAULT)
    raw = m365sim.session().post(
        f"{m365sim.base_url}/{tenant.tenant_id}/oauth2/v2.0/token", timeout=10,
        data={"grant_type": "client_credentials", "client_id": m365sim.client_id,
              "client_secret": m365sim.client_secret, "scope": GRAPH_DEFAULT[0]})
    assert raw.status_code == 503 and raw.json()["error_codes"] == [90033]
    m365sim.set_faults()
    m365sim.set_grants(tenant.tenant_id, ["User.Read.All"])
    try:
        narrowed = _app(m365sim, tenant.tenant_id).acquire_token_for_client(scopes=GRAPH_DEFAULT)
        assert _verified_claims(m365sim, narrowed["access_token"])["roles"] == ["User.Read.All"]
    finally:
        m365sim.set_grants(tenant.tenant_id, list(tenant.roles))


def test_multi_tenant_sign_in_through_organizations(m365sim):
    """The api's login uses /organizations: the user's tenant decides the token's tid."""
    tenant = m365sim.tenants[1]
    user = m365sim.world.tenants[1].directory.active_users()[0]
    app = _app(m365sim, "organizations")
    flow, params = _auth_code_flow(m365sim, app, ["User.Read"],
                                   login_hint=user.user_principal_name)
    result = app.acquire_token_by_auth_code_flow(flow, params)
    assert result["id_token_claims"]["tid"] == tenant.tenant_id
    assert result["id_token_claims"]["preferred_username"] == user.user_principal_name
    refreshed = app.acquire_token_by_refresh_token(result["refresh_token"], ["User.Read"])
    assert _verified_claims(m365sim, refreshed["access_token"])["tid"] == tenant.tenant_id
    app_only = app.acquire_token_for_client(scopes=GRAPH_DEFAULT)
    assert app_only["error"] == "invalid_request"


def test_form_post_response_mode(m365sim):
    tenant = m365sim.tenants[0]
    app = _app(m365sim, tenant.tenant_id)
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT,
                                       response_mode="form_post")
    page = m365sim.session().get(flow["auth_uri"], timeout=10)
    assert page.status_code == 200 and f'action="{REDIRECT}"' in page.text
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page.text))
    result = app.acquire_token_by_auth_code_flow(flow, fields)
    assert "access_token" in result, result.get("error_description")
