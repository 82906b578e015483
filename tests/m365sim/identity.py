"""The identity platform endpoints real msal talks to: OIDC discovery, JWKS, token (client
credentials, authorization code with PKCE, refresh token with rotation), authorize and admin
consent. Errors carry Entra's shape: error, error_description starting with an AADSTS code,
error_codes, timestamp, trace_id, correlation_id."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from datetime import UTC, datetime
from html import escape
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, jsonify, redirect, request

from tests.m365sim.state import CODE_LIFETIME_S, AuthCode, SimState
from tests.m365sim.tokens import access_token_claims, client_info, id_token_claims
from tests.m365sim.world import SimTenant, UnknownTenant

GRAPH = "https://graph.microsoft.com/"
OIDC_SCOPES = {"openid", "profile", "offline_access", "email"}
DELEGATED_SCOPES = {"User.Read", "User.Read.All", "User.ReadBasic.All", "Mail.Read",
                    "Mail.ReadBasic", "Directory.Read.All", "AuditLog.Read.All"}
MULTI_TENANT = {"organizations", "common"}

identity = Blueprint("identity", __name__)


def _state() -> SimState:
    return current_app.config["SIM_STATE"]


def aad_error(status: int, error: str, code: int, description: str) -> Response:
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    body = {
        "error": error,
        "error_description": f"AADSTS{code}: {description} Trace ID: {trace} "
                             f"Correlation ID: {correlation} Timestamp: {stamp}",
        "error_codes": [code], "timestamp": stamp, "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }
    response = jsonify(body)
    response.status_code = status
    return response


def _resolve_tenant(segment: str) -> SimTenant | None:
    world = _state().world
    try:
        return world.tenant(segment)
    except UnknownTenant:
        return world.tenant_for_domain(segment)


def _tenant_not_found(segment: str) -> Response:
    return aad_error(400, "invalid_tenant", 90002,
                     f"Tenant '{segment}' not found. Check to make sure you have the correct "
                     "tenant ID and are signing into the correct cloud.")


@identity.get("/<tenant>/v2.0/.well-known/openid-configuration")
def openid_configuration(tenant: str):
    state = _state()
    if tenant in MULTI_TENANT:
        tenant_path, issuer = tenant, f"{state.base_url}/{{tenantid}}/v2.0"
    else:
        found = _resolve_tenant(tenant)
        if found is None:
            return _tenant_not_found(tenant)
        tenant_path, issuer = found.id, state.issuer(found.id)
    base = f"{state.base_url}/{tenant_path}"
    return jsonify({
        "token_endpoint": f"{base}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                  "client_secret_basic"],
        "jwks_uri": f"{base}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": issuer,
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": f"{state.base_url}/oidc/userinfo",
        "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "preferred_username",
                             "name", "tid", "ver", "oid", "email"],
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
    })


@identity.get("/<tenant>/discovery/v2.0/keys")
def jwks(tenant: str):
    state = _state()
    return jsonify(state.key.jwks(state.issuer(tenant)))


def _split_scopes(raw: str) -> list[str]:
    scopes = []
    for scope in raw.split():
        scopes.append(scope[len(GRAPH):] if scope.startswith(GRAPH) else scope)
    return scopes


def _check_client(form) -> Response | None:
    settings = _state().settings
    client_id = form.get("client_id", "")
    if client_id != settings.client_id:
        return aad_error(400, "unauthorized_client", 700016,
                         f"Application with identifier '{client_id}' was not found in the "
                         "directory.")
    secret = form.get("client_secret")
    if secret is None and request.authorization and request.authorization.password:
        secret = request.authorization.password  # client_secret_basic
    if not secret or not hmac.compare_digest(secret, settings.client_secret):
        return aad_error(401, "invalid_client", 7000215,
                         "Invalid client secret provided. Ensure the secret being sent in the "
                         "request is the client secret value, not the client secret ID, for a "
                         f"secret added to app '{client_id}'.")
    return None


@identity.post("/<tenant>/oauth2/v2.0/token")
def token(tenant: str):
    state, form = _state(), request.form
    grant_type = form.get("grant_type", "")
    # On /organizations and /common the tenant comes from the code or refresh token.
    found = None if tenant in MULTI_TENANT else _resolve_tenant(tenant)
    if found is None and tenant not in MULTI_TENANT:
        state.stats.record_token(grant_type, "unknown_tenant")
        return _tenant_not_found(tenant)
    failure = _check_client(form)
    if failure is None and state.faults.token_error():
        failure = aad_error(503, "temporarily_unavailable", 90033,
                            "A transient error has occurred. Please try again.")
    if failure is None:
        handler = {"client_credentials": _client_credentials,
                   "authorization_code": _authorization_code,
                   "refresh_token": _refresh_token}.get(grant_type)
        if handler is None:
            failure = aad_error(400, "unsupported_grant_type", 70003,
                                f"The app requested an unsupported grant type '{grant_type}'.")
        else:
            response = handler(state, found, form)
            state.stats.record_token(grant_type, str(response.status_code))
            return response
    state.stats.record_token(grant_type, str(failure.status_code))
    return failure


def _client_credentials(state: SimState, tenant: SimTenant | None, form) -> Response:
    if tenant is None:
        return aad_error(400, "invalid_request", 90002,
                         "Client credentials need a tenant-specific authority, not "
                         "/organizations or /common.")
    scope = form.get("scope", "")
    if scope.split() != [GRAPH + ".default"]:
        return aad_error(400, "invalid_scope", 1002012,
                         f"The provided value for scope {scope} is not valid. Client credential "
                         "flows must have a scope value with /.default suffixed to the resource "
                         "identifier (application ID URI).")
    if not state.consent[tenant.id]:
        return aad_error(401, "invalid_client", 7000229,
                         f"The client application {state.settings.client_id} is missing service "
                         f"principal in the tenant {tenant.id}.")
    claims = access_token_claims(
        issuer=state.issuer(tenant.id), tenant_id=tenant.id,
        client_id=state.settings.client_id, lifetime_s=state.settings.token_lifetime_s,
        roles=list(state.roles_for(tenant.id)), app_object_id=state.app_object_id(tenant.id))
    lifetime = state.settings.token_lifetime_s
    return jsonify({"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime,
                    "access_token": state.key.sign(claims)})


def _delegated_tokens(state: SimState, tenant: SimTenant, user_id: str,
                      scopes: tuple[str, ...], nonce: str | None) -> Response:
    user = tenant.directory.get(user_id)
    if user is None or not user.account_enabled:
        return aad_error(400, "invalid_grant", 50057,
                         "The user account is disabled or was deleted.")
    profile = user.graph()
    graph_scopes = sorted(s for s in scopes if s not in OIDC_SCOPES) or ["User.Read"]
    claims = access_token_claims(
        issuer=state.issuer(tenant.id), tenant_id=tenant.id,
        client_id=state.settings.client_id, lifetime_s=state.settings.token_lifetime_s,
        scopes=graph_scopes, user=profile, app_object_id=state.app_object_id(tenant.id))
    lifetime = state.settings.token_lifetime_s
    body = {"token_type": "Bearer", "scope": " ".join(graph_scopes + sorted(
                OIDC_SCOPES.intersection(scopes) - {"offline_access"})),
            "expires_in": lifetime, "ext_expires_in": lifetime,
            "access_token": state.key.sign(claims),
            "refresh_token": state.issue_refresh(tenant.id, user.id, scopes),
            "client_info": client_info(tenant.id, user.id)}
    if "openid" in scopes:
        body["id_token"] = state.key.sign(id_token_claims(
            issuer=state.issuer(tenant.id), tenant_id=tenant.id,
            client_id=state.settings.client_id, user=profile, nonce=nonce))
    return jsonify(body)


def _pkce_matches(code: AuthCode, verifier: str | None) -> bool:
    if code.challenge is None:
        return True
    if not verifier:
        return False
    if code.challenge_method == "plain":
        return hmac.compare_digest(verifier, code.challenge)
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    expected = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    return hmac.compare_digest(expected, code.challenge)


def _authorization_code(state: SimState, tenant: SimTenant | None, form) -> Response:
    code = state.redeem_code(form.get("code", ""))
    if code is None or (tenant is not None and code.tenant_id != tenant.id):
        return aad_error(400, "invalid_grant", 70008,
                         "The provided authorization code or refresh token has expired due to "
                         "inactivity. Send a new interactive authorization request for this "
                         "user and resource.")
    if form.get("redirect_uri") != code.redirect_uri:
        return aad_error(400, "invalid_grant", 50148,
                         "The redirect_uri does not match the redirect_uri used in the "
                         "authorization request.")
    if not _pkce_matches(code, form.get("code_verifier")):
        return aad_error(400, "invalid_grant", 501481,
                         "The Code_Verifier does not match the code_challenge supplied in the "
                         "authorization request.")
    return _delegated_tokens(state, state.world.tenant(code.tenant_id), code.user_id,
                             code.scopes, code.nonce)


def _refresh_token(state: SimState, tenant: SimTenant | None, form) -> Response:
    grant = state.find_refresh(form.get("refresh_token", ""))
    if grant is None or (tenant is not None and grant.tenant_id != tenant.id):
        return aad_error(400, "invalid_grant", 9002313,
                         "Invalid request. Request is malformed or invalid.")
    if grant.revoked:
        return aad_error(400, "invalid_grant", 50173,
                         "The provided grant has expired due to it being revoked, a fresh auth "
                         "token is needed. The user might have changed or reset their password.")
    if grant.expires_at < time.time():
        return aad_error(400, "invalid_grant", 700082,
                         "The refresh token has expired due to inactivity.")
    requested = tuple(_split_scopes(form.get("scope", ""))) or grant.scopes
    extra = set(requested) - set(grant.scopes) - OIDC_SCOPES
    if extra:
        return aad_error(400, "invalid_grant", 65001,
                         "The user or administrator has not consented to use the application "
                         f"with ID '{state.settings.client_id}'. Send an interactive "
                         "authorization request for this user and resource.")
    # Rotation: every refresh answers with a new refresh token. Like Entra, the old one is
    # not revoked by use; only revocation (or consent removal) invalidates it.
    return _delegated_tokens(state, state.world.tenant(grant.tenant_id), grant.user_id,
                             grant.scopes, None)


def _redirect_error(redirect_uri: str, state_value: str | None, error: str, code: int,
                    description: str) -> Response:
    params = {"error": error, "error_description": f"AADSTS{code}: {description}"}
    if state_value:
        params["state"] = state_value
    return redirect(f"{redirect_uri}?{urlencode(params)}", code=302)


def _interactive_tenant(segment: str, login_hint: str | None) -> SimTenant | None:
    if segment not in MULTI_TENANT:
        return _resolve_tenant(segment)
    world = _state().world
    if login_hint and "@" in login_hint:
        return world.tenant_for_domain(login_hint.rsplit("@", 1)[1])
    return world.tenants[0]


def _check_redirect(client_id: str | None, redirect_uri: str | None) -> Response | None:
    settings = _state().settings
    if client_id != settings.client_id:
        return aad_error(400, "unauthorized_client", 700016,
                         f"Application with identifier '{client_id}' was not found in the "
                         "directory.")
    if not redirect_uri or (settings.redirect_uris is not None
                            and redirect_uri not in settings.redirect_uris):
        return aad_error(400, "invalid_request", 50011,
                         "The redirect URI specified in the request does not match the redirect "
                         "URIs configured for the application.")
    return None


@identity.get("/<tenant>/oauth2/v2.0/authorize")
def authorize(tenant: str):
    """No login page: the user is `login_hint` (or the tenant's first enabled user), as if they
    had signed in and consented, so tests drive the flow with plain HTTP."""
    state, args = _state(), request.args
    redirect_uri, state_value = args.get("redirect_uri"), args.get("state")
    failure = _check_redirect(args.get("client_id"), redirect_uri)
    if failure is not None:
        return failure
    if args.get("response_type") != "code":
        return _redirect_error(redirect_uri, state_value, "unsupported_response_type", 700054,
                               "response_type 'code' is required.")
    login_hint = args.get("login_hint")
    found = _interactive_tenant(tenant, login_hint)
    if found is None:
        return _redirect_error(redirect_uri, state_value, "invalid_tenant", 90002,
                               f"Tenant '{tenant}' not found.")
    user = (found.directory.get(login_hint) if login_hint
            else next(u for u in found.directory.active_users() if u.account_enabled))
    if user is None:
        return _redirect_error(redirect_uri, state_value, "invalid_request", 50034,
                               "The user account does not exist in the directory.")
    scopes = tuple(_split_scopes(args.get("scope", "")))
    unknown = [s for s in scopes if s not in OIDC_SCOPES | DELEGATED_SCOPES | {".default"}]
    if unknown:
        return _redirect_error(redirect_uri, state_value, "invalid_scope", 70011,
                               f"The provided value for the input parameter 'scope' is not "
                               f"valid. The scope {unknown[0]} is not valid.")
    scopes = tuple("User.Read" if s == ".default" else s for s in scopes)
    code = state.issue_code(AuthCode(
        tenant_id=found.id, user_id=user.id, scopes=scopes, redirect_uri=redirect_uri,
        challenge=args.get("code_challenge"),
        challenge_method=args.get("code_challenge_method", "plain"), nonce=args.get("nonce"),
        expires_at=time.time() + CODE_LIFETIME_S))
    params = {"code": code, "session_state": str(uuid.uuid4())}
    if state_value:
        params["state"] = state_value
    if args.get("response_mode") == "form_post":
        return _form_post(redirect_uri, params)
    return redirect(f"{redirect_uri}?{urlencode(params)}", code=302)


def _form_post(redirect_uri: str, params: dict) -> Response:
    """response_mode=form_post: a page that POSTs the answer to the redirect URI (a test
    reads the hidden inputs instead of running the script)."""
    inputs = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}"/>'
                     for k, v in params.items())
    page = (f'<html><body onload="document.forms[0].submit()"><form method="post" '
            f'action="{escape(redirect_uri)}">{inputs}</form></body></html>')
    return Response(page, status=200, content_type="text/html; charset=utf-8")


@identity.get("/<tenant>/v2.0/adminconsent")
def admin_consent(tenant: str):
    """The tenant's admin grants the app's application permissions; like authorize, no page."""
    state, args = _state(), request.args
    redirect_uri, state_value = args.get("redirect_uri"), args.get("state")
    failure = _check_redirect(args.get("client_id"), redirect_uri)
    if failure is not None:
        return failure
    found = _interactive_tenant(tenant, args.get("login_hint"))
    if found is None:
        return _redirect_error(redirect_uri, state_value, "invalid_tenant", 90002,
                               f"Tenant '{tenant}' not found.")
    if args.get("sim_decline"):
        return _redirect_error(redirect_uri, state_value, "access_denied", 65004,
                               "User declined to consent to access the app.")
    state.grant_consent(found.id)
    params = {"admin_consent": "True", "tenant": found.id,
              "scope": " ".join(GRAPH + r for r in state.roles_for(found.id))}
    if state_value:
        params["state"] = state_value
    return redirect(f"{redirect_uri}?{urlencode(params)}", code=302)
