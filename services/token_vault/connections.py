"""The vault's view of a connection: the foundation's `connections` row plus its grant."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from shared.db import UnitOfWork


@dataclass(frozen=True)
class Connection:
    id: str
    org_id: str
    tenant_id: str
    mode: str
    status: str
    permissions: tuple[str, ...]
    flow: str | None          # 'app_only' | 'delegated'; None: never connected via the vault
    scopes: tuple[str, ...]   # delegated: what to refresh with


def load(uow: UnitOfWork, connection_id: str) -> Connection | None:
    row = uow.execute(
        "select c.id, c.org_id, c.tenant_id, c.mode, c.status, c.permissions, g.flow, g.scopes "
        "from connections c left join vault_grants g on g.connection_id = c.id "
        "where c.id = :id", {"id": connection_id}).first()
    if row is None:
        return None
    return Connection(id=str(row.id), org_id=str(row.org_id), tenant_id=row.tenant_id,
                      mode=row.mode, status=row.status, permissions=tuple(row.permissions or ()),
                      flow=row.flow, scopes=tuple(row.scopes or ()))


def org_of(uow: UnitOfWork, connection_id: str) -> str | None:
    """The organization of a connection, asked across organizations (ids only)."""
    org = uow.scalar("select vault_connection_org(cast(:id as uuid))", {"id": connection_id})
    return str(org) if org else None


def org_is_active(uow: UnitOfWork, org_id: str) -> bool:
    status = uow.scalar("select status from organizations where id = :id", {"id": org_id})
    return status == "active"


def save_connected(uow: UnitOfWork, *, org_id: str, tenant_id: str, mode: str,
                   permissions: tuple[str, ...], flow: str, scopes: tuple[str, ...]) -> str:
    """Create the connection, or re-activate the org's existing one for this tenant."""
    existing = uow.scalar(
        "select id from connections where org_id = :org and lower(tenant_id) = lower(:tenant) "
        "order by created_at limit 1", {"org": org_id, "tenant": tenant_id})
    connection_id = str(existing or uuid.uuid4())
    uow.execute(
        "insert into connections (id, org_id, tenant_id, mode, status, permissions) "
        "values (:id, :org, :tenant, :mode, 'active', :permissions) "
        "on conflict (id) do update set mode = excluded.mode, status = 'active', "
        "permissions = excluded.permissions, needs_consent_reason = null, updated_at = now()",
        {"id": connection_id, "org": org_id, "tenant": tenant_id, "mode": mode,
         "permissions": list(permissions)})
    uow.execute(
        "insert into vault_grants (connection_id, org_id, flow, scopes) "
        "values (:id, :org, :flow, :scopes) on conflict (connection_id) do update set "
        "flow = excluded.flow, scopes = excluded.scopes, granted_at = now()",
        {"id": connection_id, "org": org_id, "flow": flow, "scopes": list(scopes)})
    return connection_id


def update_permissions(uow: UnitOfWork, connection_id: str, permissions: tuple[str, ...]) -> None:
    uow.execute("update connections set permissions = :p, updated_at = now() where id = :id",
                {"p": list(permissions), "id": connection_id})


def mark_needs_consent(uow: UnitOfWork, connection_id: str, reason: str) -> None:
    uow.execute("update connections set status = 'needs_consent', needs_consent_reason = :r, "
                "updated_at = now() where id = :id", {"r": reason[:500], "id": connection_id})


def disconnect(uow: UnitOfWork, connection_id: str | None = None) -> int:
    """Mark one connection (or every connection of the org) as disconnected."""
    if connection_id is None:
        return uow.execute("update connections set status = 'disconnected', updated_at = now() "
                           "where status <> 'disconnected'").rowcount
    return uow.execute("update connections set status = 'disconnected', updated_at = now() "
                       "where id = :id", {"id": connection_id}).rowcount


def claim_flow_state(uow: UnitOfWork, org_id: str, nonce: str) -> bool:
    """A connect callback's state works once; False if it was used before."""
    uow.execute("delete from vault_used_states where used_at < now() - interval '1 day'")
    row = uow.execute("insert into vault_used_states (nonce, org_id) values (:n, :org) "
                      "on conflict do nothing returning nonce", {"n": nonce, "org": org_id}).first()
    return row is not None
