"""ingest: what arrives, what is checked, what is stored, what is emitted."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.db import UnitOfWork, UnitOfWorkFactory
from shared.messaging.contracts import SyncRequested

# A sync that has not finished after this long is presumed dead (its instance
# was killed); the next cron run may start the connection again, and the new
# sync resumes from the stored watermarks.
SYNC_LEASE = "2 hours"


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


def run_sync(event: SyncRequested, uow: UnitOfWork) -> None:
    """One connection's sync: recorded as a run; the connection is released."""
    uow.execute(
        "insert into sync_runs (org_id, connection_id, reason, requested_at, finished_at, status) "
        "values (:org, :conn, :reason, :requested, now(), 'succeeded')",
        {"org": event.org_id, "conn": event.connection_id, "reason": event.reason,
         "requested": event.requested_at},
    )
    uow.execute(
        "update connections set sync_started_at = null, last_synced_at = now(), "
        "updated_at = now() where id = :id",
        {"id": event.connection_id},
    )


def _now() -> str:
    return datetime.now(UTC).isoformat()
