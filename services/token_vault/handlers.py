"""token-vault: what arrives, what is checked, what is stored, what is emitted.

Every story ends in an audit record; none of them ever carries a token.
"""

from __future__ import annotations

import logging
import secrets
import uuid

from services.token_vault import connections, flows, policy, records, tokens
from services.token_vault.errors import VaultRefusal, bad_request
from services.token_vault.microsoft import (
    GrantInvalid,
    InvalidTenant,
    MicrosoftUnavailable,
    TokenResult,
    check_tenant,
)
from services.token_vault.vault import Vault
from shared.crypto import DecryptionError, RecordShredded, UnknownKeyVersion
from shared.logs import log_fields
from shared.messaging.contracts import ConnectionNeedsConsent

log = logging.getLogger(__name__)

CONNECT_CALLER = "api"
SHRED_CALLER = "retention-purge"


# ---------------------------------------------------------------- handout

def hand_out(vault: Vault, caller: str, body: object) -> dict:
    """`POST /v1/access-token`: an access token for an allowed caller and purpose."""
    connection_id = _uuid_field(body, "connection_id")
    purpose = _text_field(body, "purpose")
    org_id = None
    try:
        with vault.runtime.uow() as uow:
            org_id = connections.org_of(uow, connection_id)
            if org_id is not None:
                uow.set_org(org_id)
            return _hand_out_in_org(vault, uow, caller, org_id, connection_id, purpose)
    except (DecryptionError, UnknownKeyVersion) as error:
        # The transaction was rolled back; the failure is recorded in a new one.
        _integrity_failure(vault, org_id, connection_id, type(error).__name__)
        raise VaultRefusal(500, "stored_token_unreadable",
                           "the stored token failed its integrity check") from None


def _hand_out_in_org(vault: Vault, uow, caller: str, org_id: str | None, connection_id: str,
                     purpose: str) -> dict:
    try:
        policy.check_caller_purpose(vault.callers, caller, purpose)
        if org_id is None:
            raise policy.PolicyRefusal("unknown_connection", "no such connection")
        connection = connections.load(uow, connection_id)
        _require_usable(connection)
        policy.check_grant_serves(purpose, connection.mode, connection.permissions)
    except policy.PolicyRefusal as refusal:
        uow.audit(caller or "unknown", "token.refused", connection_id,
                  {"purpose": purpose[:100], "reason": refusal.code})
        uow.commit()
        status = 404 if refusal.code == "unknown_connection" else 403
        raise VaultRefusal(status, refusal.code, refusal.detail) from None
    try:
        token = tokens.current_access_token(vault, uow, connection)
    except GrantInvalid as error:
        _needs_consent(vault, uow, connection, error.reason)
        uow.commit()
        raise VaultRefusal(409, "needs_consent", "the organization's consent was revoked or "
                                                 "expired; an admin must reconnect") from None
    except MicrosoftUnavailable as error:
        log.warning("refresh failed", extra=log_fields(connection=connection_id,
                                                       reason=str(error)))
        raise VaultRefusal(503, "microsoft_unavailable",
                           "Microsoft's identity platform is unavailable; retry later") from None
    except RecordShredded:
        raise VaultRefusal(410, "shredded", "the connection's tokens were destroyed") from None
    uow.audit(caller, "token.handout", connection_id,
              {"purpose": purpose, "refreshed": token.refreshed, "expires_in": token.expires_in})
    uow.commit()
    return {"access_token": token.text, "expires_in": token.expires_in}


def _require_usable(connection: connections.Connection | None) -> None:
    if connection is None:
        raise VaultRefusal(404, "unknown_connection", "no such connection")
    if connection.status == "needs_consent":
        raise VaultRefusal(409, "needs_consent", "the organization's consent was revoked or "
                                                 "expired; an admin must reconnect")
    if connection.status != "active" or connection.flow is None:
        raise VaultRefusal(409, "not_connected", f"the connection is {connection.status}")


def _needs_consent(vault: Vault, uow, connection: connections.Connection, reason: str) -> None:
    """Stop using the grant and tell the admin; nothing retries it on its own."""
    connections.mark_needs_consent(uow, connection.id, reason)
    uow.emit(ConnectionNeedsConsent(org_id=connection.org_id, connection_id=connection.id,
                                    reason=reason[:300]))
    uow.audit(vault.actor, "connection.needs_consent", connection.id, {"reason": reason[:300]})


def _integrity_failure(vault: Vault, org_id: str, connection_id: str, error: str) -> None:
    # Fail closed: no token leaves, an operator is told; a tampered row is never "healed".
    log.error("stored token failed its integrity check",
              extra=log_fields(connection=connection_id, error=error))
    with vault.runtime.uow(org_id) as uow:
        uow.audit(vault.actor, "token.integrity_failed", connection_id, {"error": error})
        uow.commit()


# ---------------------------------------------------------------- connect flows

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
    if params["tenant"].lower() != tenant.lower() and _is_guid(tenant):
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
    login_hint = body.get("login_hint") if isinstance(body.get("login_hint"), str) else None
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
    org_id = _uuid_field(body, "org_id")
    mode = _text_field(body, "mode")
    if mode not in policy.MODES:
        raise bad_request(f"mode must be one of {', '.join(policy.MODES)}")
    try:
        tenant = check_tenant(_text_field(body, "tenant"))
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


# ---------------------------------------------------------------- revoke and shred

def revoke_connection(vault: Vault, caller: str, connection_id: str) -> dict:
    """The API disconnects a connection: its tokens are crypto-shredded at once."""
    if caller != CONNECT_CALLER:
        raise VaultRefusal(403, "forbidden", f"caller {caller!r} may not revoke connections")
    connection_id = _uuid_field({"connection_id": connection_id}, "connection_id")
    org_id = _org_of(vault, connection_id)
    if org_id is None:
        raise VaultRefusal(404, "unknown_connection", "no such connection")
    with vault.runtime.uow(org_id) as uow:
        records.lock_connection(uow, connection_id)
        shredded = records.shred_connection(uow, connection_id)
        connections.disconnect(uow, connection_id)
        uow.audit(caller, "connection.revoked", connection_id, {"records_shredded": shredded})
        uow.commit()
    return {"connection_id": connection_id, "status": "disconnected",
            "records_shredded": shredded}


def shred_org(vault: Vault, caller: str, org_id: str) -> dict:
    """Organization purge: destroy every data key first, so nothing of it can be decrypted."""
    if caller != SHRED_CALLER:
        raise VaultRefusal(403, "forbidden", f"caller {caller!r} may not shred organizations")
    org_id = _uuid_field({"org_id": org_id}, "org_id")
    with vault.runtime.uow(org_id) as uow:
        shredded = records.shred_org(uow)
        disconnected = connections.disconnect(uow)
        uow.audit(caller, "org.shredded", org_id, {"records_shredded": shredded,
                                                   "connections_disconnected": disconnected})
        uow.commit()
    return {"org_id": org_id, "records_shredded": shredded,
            "connections_disconnected": disconnected}


# ---------------------------------------------------------------- scheduled jobs

def refresh_due(vault: Vault) -> dict:
    """Cron: refresh access tokens that expire soon (keeps delegated grants alive, too)."""
    with vault.runtime.uow() as uow:
        due = uow.execute("select org_id, connection_id from vault_refresh_due(:h)",
                          {"h": vault.config.refresh_margin_s * 2}).all()
    summary = {"refreshed": 0, "fresh": 0, "needs_consent": 0, "failed": 0}
    for org_id, connection_id in due:
        summary[refresh_one(vault, str(org_id), str(connection_id))] += 1
    return summary


def refresh_one(vault: Vault, org_id: str, connection_id: str) -> str:
    """Refresh one connection's access token if it is (still) due; says what happened."""
    with vault.runtime.uow(org_id) as uow:
        connection = connections.load(uow, connection_id)
        if connection is None or connection.flow is None or connection.status != "active":
            return "fresh"
        try:
            token = tokens.current_access_token(vault, uow, connection)
        except GrantInvalid as error:
            _needs_consent(vault, uow, connection, error.reason)
            uow.commit()
            return "needs_consent"
        except (MicrosoftUnavailable, RecordShredded, DecryptionError, UnknownKeyVersion) as error:
            log.warning("scheduled refresh failed",
                        extra=log_fields(connection=connection_id, error=type(error).__name__))
            return "failed"
        uow.commit()
        return "refreshed" if token.refreshed else "fresh"


# ---------------------------------------------------------------- helpers

def _org_of(vault: Vault, connection_id: str) -> str | None:
    with vault.runtime.uow() as uow:
        return connections.org_of(uow, connection_id)


def _uuid_field(body: object, name: str) -> str:
    value = body.get(name) if isinstance(body, dict) else None
    try:
        return str(uuid.UUID(str(value))) if isinstance(value, str) else _missing(name)
    except ValueError:
        raise bad_request(f"{name} must be a UUID") from None


def _text_field(body: object, name: str) -> str:
    value = body.get(name) if isinstance(body, dict) else None
    if not isinstance(value, str) or not value or len(value) > 200:
        raise bad_request(f"{name} is required (a short string)")
    return value


def _missing(name: str):
    raise bad_request(f"{name} is required (a UUID)")


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
