"""An access token that is good for a while yet: read, or refreshed under the connection lock.

The fast path reads the cached record without locking. Only when it is missing or
expiring does a request take the connection's lock; it then re-reads, because the
request it waited for has usually refreshed already. So a hundred concurrent requests
for an expired token make one call to Microsoft.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.token_vault import connections, records
from services.token_vault.connections import Connection
from services.token_vault.microsoft import GrantInvalid, MicrosoftUnavailable
from services.token_vault.vault import Vault
from shared.crypto import RecordShredded
from shared.db import UnitOfWork

# When Microsoft is unreachable, a cached token with at least this much life left is
# still handed out (inside the refresh margin, but perfectly usable).
GRACE_S = 60


@dataclass(frozen=True)
class AccessToken:
    text: str
    expires_in: int
    refreshed: bool

    def __repr__(self) -> str:
        return f"AccessToken(expires_in={self.expires_in}, refreshed={self.refreshed})"


def current_access_token(vault: Vault, uow: UnitOfWork, connection: Connection,
                         force: bool = False) -> AccessToken:
    margin = vault.config.refresh_margin_s
    if not force:
        cached = _usable(vault, records.read(uow, connection.id, records.ACCESS_TOKEN), margin)
        if cached:
            return cached
    records.lock_connection(uow, connection.id)
    stored = records.read(uow, connection.id, records.ACCESS_TOKEN)
    if not force:
        cached = _usable(vault, stored, margin)   # refreshed while we waited for the lock
        if cached:
            return cached
    try:
        return refresh(vault, uow, connection)
    except MicrosoftUnavailable:
        fallback = _usable(vault, stored, GRACE_S)
        if fallback:
            return fallback
        raise


def _usable(vault: Vault, stored: records.StoredToken | None, min_left_s: float
            ) -> AccessToken | None:
    if stored is None or stored.seconds_left() <= min_left_s:
        return None
    if stored.sealed.is_shredded:
        raise RecordShredded()
    ring = vault.keys.ring_with(stored.sealed.kek_version)
    return AccessToken(records.reveal(ring, stored), int(stored.seconds_left()), refreshed=False)


def refresh(vault: Vault, uow: UnitOfWork, connection: Connection) -> AccessToken:
    """Ask Microsoft for a new access token; the caller holds the connection lock.

    Delegated connections store the rotated refresh token in this same transaction,
    so the newest one is what is kept.
    """
    ring = vault.keys.ring()
    if connection.flow == "app_only":
        result = vault.identity.app_token(connection.tenant_id)
    elif connection.flow == "delegated":
        stored = records.read(uow, connection.id, records.REFRESH_TOKEN)
        if stored is None:
            raise GrantInvalid("no refresh token is stored for this connection")
        if stored.sealed.is_shredded:
            raise RecordShredded()
        refresh_token = records.reveal(vault.keys.ring_with(stored.sealed.kek_version), stored)
        result = vault.identity.refresh(connection.tenant_id, refresh_token,
                                        list(connection.scopes))
        if result.refresh_token:
            records.write(uow, ring, org_id=connection.org_id, connection_id=connection.id,
                          kind=records.REFRESH_TOKEN, token=result.refresh_token,
                          expires_in_s=None)
    else:
        raise GrantInvalid("the connection was never connected through the vault")
    records.write(uow, ring, org_id=connection.org_id, connection_id=connection.id,
                  kind=records.ACCESS_TOKEN, token=result.access_token,
                  expires_in_s=result.expires_in)
    if result.permissions and set(result.permissions) != set(connection.permissions):
        connections.update_permissions(uow, connection.id, result.permissions)
    uow.audit(vault.actor, "token.refreshed", connection.id,
              {"flow": connection.flow, "expires_in": result.expires_in,
               "refresh_token_rotated": bool(result.refresh_token)})
    return AccessToken(result.access_token, result.expires_in, refreshed=True)
