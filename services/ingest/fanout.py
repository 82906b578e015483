"""Mailbox fan-out: one `mailbox-scan-requested` per mailbox due, with its time window.

Events go out in batches, each batch in one unit of work together with the mailboxes'
`mail_scan_requested_until`, so a sync killed half-way neither loses a request nor (thanks to
the scan interval) asks for the same window twice when it resumes.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.ingest.mailboxes import Mailbox, ScanWindow, scans_due
from services.ingest.progress import SyncContext
from shared.messaging.contracts import MailboxScanRequested

BATCH = 500


def request_mailbox_scans(ctx: SyncContext, scope: Sequence[str] | None,
                          sync_id: str | None = None) -> int:
    with ctx.unit() as uow:
        rows = uow.execute(
            "select user_id, user_principal_name, mail, account_enabled, removed_at, "
            "mail_scan_requested_until from directory_users where connection_id = :c "
            "order by user_id", {"c": ctx.connection_id}).all()
    mailboxes = [Mailbox(str(r.user_id), r.user_principal_name, r.mail, r.account_enabled,
                         r.removed_at is not None, r.mail_scan_requested_until) for r in rows]
    due = scans_due(mailboxes, scope, ctx.now)
    for start in range(0, len(due), BATCH):
        if start:
            ctx.check_time()
        _emit_batch(ctx, due[start:start + BATCH], sync_id)
    return len(due)


def _emit_batch(ctx: SyncContext, windows: Sequence[ScanWindow], sync_id: str | None) -> None:
    with ctx.unit() as uow:
        for window in windows:
            uow.emit(MailboxScanRequested(
                org_id=ctx.org_id, connection_id=ctx.connection_id,
                mailbox_id=window.mailbox_id, window_start_at=window.start.isoformat(),
                window_end_at=window.end.isoformat(), sync_id=sync_id))
        uow.execute(
            "update directory_users set mail_scan_requested_until = :end "
            "where connection_id = :c and user_id = any(cast(:ids as uuid[]))",
            {"end": ctx.now, "c": ctx.connection_id, "ids": [w.mailbox_id for w in windows]})
        uow.commit()
