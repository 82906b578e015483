"""Connect flows: tenant-wide admin consent (app-only) and delegated (code + PKCE).

The API starts a flow for an organization and sends the admin's browser to the
returned URL; Microsoft sends the browser back to a callback here. The flow's state
travels sealed in the OAuth `state` (see flows.py), works once, and names the tenant
the flow was started for: the callback's own `tenant` parameter is never trusted.
"""

from __future__ import annotations

import secrets

from services.token_vault import connections, flows, policy, records
from services.token_vault.errors import VaultRefusal, bad_request
from services.token_vault.fields import is_guid, optional_text, text_field, uuid_field
from services.token_vault.microsoft import (
    GrantInvalid,
    InvalidTenant,
    MicrosoftUnavailable,
    TokenResult,
    check_tenant,
)
from services.token_vault.vault import Vault

CONNECT_CALLER = "api"


def start_admin_consent(vault: Vault, caller: str, body: object) -> dict:
    """The API starts a tenant-wide (app-only) connect for an organization."""
    org_id, mode, tenant = _connect_request(vault, caller, body)
    state = flows.seal_state(vault.session_key, "admin-consent",
                             {"org_id": org_id, "mode": mode, "tenant": tenant,
                              "nonce": secrets.token_urlsafe(18)}, vault.config.flow_ttl_s)
    url = vault.identity.admin_consent_url(tenant, vault.config.redirect_uri("admin-consent"),
                                           state)
    _audit_connect(vault, org_id, caller, "connect.started", {"flow": "admin-consent",
                                                              "mode": mode, "tenant": tenant})
    return {"authorize_url": url, "expires_in": vault.config.flow_ttl_s}


def finish_admin_consent(vault: Vault, params: dict) -> dict:
    """Microsoft sends the admin back; the grant is proven with a client-credentials token."""
    state = flows.open_state(vault.session_key, "admin-consent", params.get("state"))
    org_id, tenant = state["org_id"], state["tenant"]
    _refuse_declined(vault, org_id, params, "admin-consent")
    if params.get("admin_consent") != "True" or not params.get("tenant"):
        raise bad_request("the callback does not report an admin consent", "consent_missing")
    # The tenant comes from the sealed state, never from the (forgeable) callback query.
    if params["tenant"].lower() != tenant.lower() and is_guid(tenant):
        raise VaultRefusal(400, "tenant_mismatch",
                           "consent was given for another tenant than the one requested")
    with vault.runtime.uow(org_id) as uow:
        if not connections.claim_flow_state(uow, org_id, state["nonce"]):
            raise VaultRefusal(409, "state_used", "this connect link was already used")
        result = _prove_grant(lambda: vault.identity.app_token(tenant))
        connection_id, decision = _save_connection(vault, uow, state, result, "app_only", ())
        uow.commit()
    return _connected(connection_id, result, decision)


def start_delegated(vault: Vault, caller: str, body: object) -> dict:
    """The API starts a delegated connect (authorization code with PKCE) for a user."""
    org_id, mode, tenant = _connect_request(vault, caller, body)
    login_hint = optional_text(body, "login_hint")
    scopes = policy.delegated_scopes(mode)
    try:
        msal_flow = vault.identity.start_auth_code(
            tenant, scopes, vault.config.redirect_uri("delegated"), login_hint)
    except MicrosoftUnavailable:
        raise VaultRefusal(503, "microsoft_unavailable", "Microsoft is unavailable") from None
    except GrantInvalid as error:
        raise bad_request(str(error), "invalid_tenant") from None
    kept = {k: v for k, v in msal_flow.items() if k != "auth_uri"}
    state = flows.seal_state(vault.session_key, "delegated",
                             {"org_id": org_id, "mode": mode, "tenant": tenant, "scopes": scopes,
                              "msal": kept}, vault.config.flow_ttl_s)
    _audit_connect(vault, org_id, caller, "connect.started", {"flow": "delegated", "mode": mode,
                                                              "tenant": tenant})
    return {"authorize_url": flows.with_state(msal_flow["auth_uri"], state),
            "expires_in": vault.config.flow_ttl_s}


def finish_delegated(vault: Vault, params: dict) -> dict:
    """Microsoft sends the user back with a code; msal redeems it with the PKCE verifier."""
    state = flows.open_state(vault.session_key, "delegated", params.get("state"))
    org_id, msal_flow = state["org_id"], state["msal"]
    _refuse_declined(vault, org_id, params, "delegated")
    if not params.get("code"):
        raise bad_request("the callback carries no authorization code", "code_missing")
    # The sealed blob we just authenticated is the OAuth state; msal compares the
    # callback's state with the one it generated, which travelled inside the blob.
    answer = {**params, "state": msal_flow["state"]}
    with vault.runtime.uow(org_id) as uow:
        if not connections.claim_flow_state(uow, org_id, msal_flow["state"]):
            raise VaultRefusal(409, "state_used", "this connect link was already used")
        result = _prove_grant(
            lambda: vault.identity.redeem_auth_code(state["tenant"], msal_flow, answer))
        if not result.refresh_token:
            raise VaultRefusal(502, "no_refresh_token", "Microsoft issued no refresh token")
        connection_id, decision = _save_connection(vault, uow, state, result, "delegated",
                                                   tuple(state["scopes"]))
        records.write(uow, vault.keys.ring(), org_id=org_id, connection_id=connection_id,
                      kind=records.REFRESH_TOKEN, token=result.refresh_token, expires_in_s=None)
        uow.commit()
    return _connected(connection_id, result, decision)


def _connect_request(vault: Vault, caller: str, body: object) -> tuple[str, str, str]:
    if caller != CONNECT_CALLER:
        raise VaultRefusal(403, "forbidden", f"caller {caller!r} may not start a connect")
    org_id = uuid_field(body, "org_id")
    mode = text_field(body, "mode")
    if mode not in policy.MODES:
        raise bad_request(f"mode must be one of {', '.join(policy.MODES)}")
    try:
        tenant = check_tenant(text_field(body, "tenant"))
    except InvalidTenant as error:
        raise bad_request(str(error)) from None
    with vault.runtime.uow(org_id) as uow:
        if not connections.org_is_active(uow, org_id):
            raise VaultRefusal(404, "unknown_org", "no such active organization")
    return org_id, mode, tenant


def _refuse_declined(vault: Vault, org_id: str, params: dict, flow: str) -> None:
    error = flows.callback_error(params)
    if error:
        _audit_connect(vault, org_id, "microsoft", "connect.declined", {"flow": flow,
                                                                        "error": error})
        raise VaultRefusal(400, "consent_declined", error)


def _prove_grant(acquire) -> TokenResult:
    try:
        return acquire()
    except GrantInvalid as error:
        raise VaultRefusal(400, "grant_not_effective", str(error)) from None
    except MicrosoftUnavailable:
        raise VaultRefusal(503, "microsoft_unavailable",
                           "Microsoft is unavailable; open the callback link again") from None


def _save_connection(vault: Vault, uow, state: dict, result: TokenResult, flow: str,
                     scopes: tuple[str, ...]):
    org_id = state["org_id"]
    decision = policy.decide_mode(state["mode"], result.permissions)
    tenant = result.tenant_id or state["tenant"]
    connection_id = connections.save_connected(
        uow, org_id=org_id, tenant_id=tenant, mode=decision.mode,
        permissions=result.permissions, flow=flow, scopes=scopes)
    records.lock_connection(uow, connection_id)
    # A reconnect starts from a clean slate: old tokens of an earlier grant are shredded.
    records.shred_connection(uow, connection_id)
    records.write(uow, vault.keys.ring(), org_id=org_id, connection_id=connection_id,
                  kind=records.ACCESS_TOKEN, token=result.access_token,
                  expires_in_s=result.expires_in)
    uow.audit(vault.actor, "connection.connected", connection_id,
              {"flow": flow, "tenant": tenant, "mode": decision.mode,
               "requested_mode": state["mode"], "permissions": list(result.permissions),
               "note": decision.note})
    return connection_id, decision


def _connected(connection_id: str, result: TokenResult, decision: policy.ModeDecision) -> dict:
    return {"connection_id": connection_id, "status": "active", "tenant_id": result.tenant_id,
            "mode": decision.mode, "permissions": list(result.permissions),
            "note": decision.note}


def _audit_connect(vault: Vault, org_id: str, actor: str, action: str, details: dict) -> None:
    with vault.runtime.uow(org_id) as uow:
        uow.audit(actor, action, org_id, details)
        uow.commit()
