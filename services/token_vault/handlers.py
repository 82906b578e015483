"""token-vault: what arrives, what is checked, what is stored, what is emitted.

Handouts, revocation, shredding and the scheduled refresh; the connect flows are in
consent.py. Every story ends in an audit record; none of them ever carries a token.
"""

from __future__ import annotations

import logging

from services.token_vault import connections, policy, records, tokens
from services.token_vault.consent import CONNECT_CALLER
from services.token_vault.errors import VaultRefusal
from services.token_vault.fields import text_field, uuid_field
from services.token_vault.microsoft import GrantInvalid, MicrosoftUnavailable
from services.token_vault.vault import Vault
from shared.crypto import DecryptionError, RecordShredded, UnknownKeyVersion
from shared.logs import log_fields
from shared.messaging.contracts import ConnectionNeedsConsent

log = logging.getLogger(__name__)

SHRED_CALLER = "retention-purge"


# ---------------------------------------------------------------- handout

def hand_out(vault: Vault, caller: str, body: object) -> dict:
    """`POST /v1/access-token`: an access token for an allowed caller and purpose."""
    connection_id = uuid_field(body, "connection_id")
    purpose = text_field(body, "purpose")
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


# ---------------------------------------------------------------- revoke and shred

def revoke_connection(vault: Vault, caller: str, connection_id: str) -> dict:
    """The API disconnects a connection: its tokens are crypto-shredded at once."""
    if caller != CONNECT_CALLER:
        raise VaultRefusal(403, "forbidden", f"caller {caller!r} may not revoke connections")
    connection_id = uuid_field({"connection_id": connection_id}, "connection_id")
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
    org_id = uuid_field({"org_id": org_id}, "org_id")
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
