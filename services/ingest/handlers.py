"""ingest: what arrives, what is checked, what is stored, what is emitted."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import requests

from services.ingest import graph_sources
from services.ingest.progress import OutOfTime, SyncContext
from services.ingest.sync import Connection, GraphSources, run_steps
from shared.catalog import Catalog
from shared.db import UnitOfWork, UnitOfWorkFactory
from shared.graph import Backoff, GraphAuthError, GraphClient
from shared.logs import log_fields
from shared.messaging.contracts import SyncRequested
from shared.vault_client import VaultRefused, VaultTokenProvider

log = logging.getLogger(__name__)

# A sync that has not finished after this long is presumed dead (its instance
# was killed); the next cron run may start the connection again, and the new
# sync resumes from the stored watermarks.
SYNC_LEASE = "2 hours"
RUN_IDS = uuid.UUID("5f0c3a52-7d1e-4f43-9a41-0c1b2e3d4f50")  # namespace for sync run ids


@dataclass(frozen=True)
class SyncDeps:
    """What a sync needs from the process; built once in create_app."""

    uow_factory: UnitOfWorkFactory
    catalog: Catalog
    vault_url: str | None
    graph_base_url: str
    clock: Callable[[], datetime]
    budget_s: float
    http_session: Callable[[], requests.Session] | None = None   # tests: trust a simulator
    graph_backoff: Backoff | None = None

    def sources(self, connection_id: str) -> GraphSources:
        """Graph clients for this sync only, one per token purpose."""
        directory, sign_ins = self._client(connection_id, "directory"), self._client(
            connection_id, "sign_ins")
        return GraphSources(
            delta_pages=lambda link: graph_sources.delta_pages(directory, link),
            sign_in_pages=lambda window, link: graph_sources.sign_in_pages(sign_ins, window,
                                                                           link))

    def _client(self, connection_id: str, purpose: str) -> GraphClient:
        tokens = VaultTokenProvider(self.vault_url or "", connection_id, purpose, caller="ingest")
        session = self.http_session() if self.http_session else None
        return GraphClient(tokens, base_url=self.graph_base_url, session=session,
                           backoff=self.graph_backoff)


def request_syncs(uow_factory: UnitOfWorkFactory, reason: str = "schedule") -> dict:
    """Cron: one `sync-requested` per active connection not already syncing."""
    with uow_factory() as uow:
        due = uow.execute("select org_id, connection_id from due_connections()").all()
    requested = skipped = 0
    for org_id, connection_id in due:
        with uow_factory(org_id=str(org_id)) as uow:
            claimed = uow.execute(
                "update connections set sync_started_at = now(), updated_at = now() "
                "where id = :id and (sync_started_at is null "
                f"or sync_started_at < now() - interval '{SYNC_LEASE}') returning id",
                {"id": connection_id},
            ).first()
            if claimed is None:
                skipped += 1
                continue
            uow.emit(SyncRequested(org_id=str(org_id), connection_id=str(connection_id),
                                   reason=reason, requested_at=_now()))
            uow.commit()
            requested += 1
    return {"requested": requested, "already_syncing": skipped}


def run_sync(event: SyncRequested, uow: UnitOfWork, deps: SyncDeps) -> None:
    """One connection's sync, or the next slice of it.

    Pages are committed as they are read, in units of work of their own (see progress.py);
    this handler's unit of work holds the delivery claim and, at the end, the run record and
    the connection's release. A redelivery of this same message waits on the uncommitted
    claim and then finds it processed; a *different* event for the same connection (a manual
    sync during a scheduled one, a cron run after the lease expired) meets the
    transaction-scoped advisory lock instead, and leaves the work to the sync running.
    """
    connection = _load_connection(uow, event.connection_id)
    if connection is None or connection.status != "active":
        _finish(uow, event, "skipped")
        return
    if not uow.scalar("select pg_try_advisory_xact_lock(hashtextextended(:c, 0))",
                      {"c": connection.id}):
        log.info("sync already running for this connection",
                 extra=log_fields(connection_id=connection.id))
        return
    run_id = _run_id(event)
    ctx = SyncContext(connection.org_id, connection.id, deps.uow_factory, now=deps.clock(),
                      budget_s=deps.budget_s)
    try:
        outcome = run_steps(ctx, connection, deps.sources(connection.id), deps.catalog, run_id)
    except OutOfTime:
        _continue_later(uow, event)
        return
    except (VaultRefused, GraphAuthError) as exc:
        # The grant is gone or does not serve this sync: retrying cannot help until an
        # admin acts (the vault has flagged the connection).
        log.warning("sync stopped: the connection needs consent",
                    extra=log_fields(connection_id=connection.id, error=type(exc).__name__))
        _finish(uow, event, "failed", run_id)
        return
    log.info("sync finished", extra=log_fields(connection_id=connection.id,
                                               summary=outcome.summary()))
    _finish(uow, event, "failed" if outcome.failed_steps else "succeeded", run_id)


def _load_connection(uow: UnitOfWork, connection_id: str) -> Connection | None:
    row = uow.execute("select id, org_id, status, permissions, mailbox_scope from connections "
                      "where id = :id", {"id": connection_id}).first()
    if row is None:
        return None
    return Connection(str(row.id), str(row.org_id), row.status, tuple(row.permissions or ()),
                      tuple(row.mailbox_scope) if row.mailbox_scope is not None else None)


def _run_id(event: SyncRequested) -> str:
    """Stable across the slices of one sync (continuations carry the original request time)."""
    return str(uuid.uuid5(RUN_IDS, f"{event.connection_id}/{event.requested_at}"))


def _continue_later(uow: UnitOfWork, event: SyncRequested) -> None:
    """Out of time: progress is committed; renew the lease and ask for the next slice."""
    uow.execute("update connections set sync_started_at = now(), updated_at = now() "
                "where id = :id", {"id": event.connection_id})
    uow.emit(SyncRequested(org_id=event.org_id, connection_id=event.connection_id,
                           reason="continue", requested_at=event.requested_at))


def _finish(uow: UnitOfWork, event: SyncRequested, status: str,
            run_id: str | None = None) -> None:
    """Record the run and release the connection for the next cron round."""
    uow.execute(
        "insert into sync_runs (id, org_id, connection_id, reason, requested_at, started_at, "
        "finished_at, status) select coalesce(cast(:run as uuid), gen_random_uuid()), :org, "
        ":conn, :reason, :requested, coalesce(c.sync_started_at, now()), now(), :status "
        "from connections c where c.id = :conn on conflict (id) do nothing",
        {"run": run_id, "org": event.org_id, "conn": event.connection_id,
         "reason": event.reason, "requested": event.requested_at, "status": status})
    uow.execute(
        "update connections set sync_started_at = null, updated_at = now(), "
        "last_synced_at = case when :ok then now() else last_synced_at end where id = :id",
        {"id": event.connection_id, "ok": status == "succeeded"})


def _now() -> str:
    return datetime.now(UTC).isoformat()
