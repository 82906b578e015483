"""email-scan's reads and writes, all through the handler's unit of work (org-scoped by RLS)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from services.email_scan.coverage import Window
from services.email_scan.scan import DetectedEmail
from shared.db import UnitOfWork


@dataclass(frozen=True)
class Connection:
    id: str
    mode: str                          # "metadata" | "attachments"
    status: str                        # only "active" connections are scanned
    mailbox_scope: tuple[str, ...] | None  # None: every mailbox the grant allows

    def allows_mailbox(self, mailbox_id: str) -> bool:
        """A second check behind ingest's. The scope may name mailboxes by object id, user
        principal name or address; only ingest holds the directory to resolve names, so here
        a scope made only of object ids is enforced exactly, and one with names is left to
        ingest's resolution."""
        if self.mailbox_scope is None or mailbox_id.lower() in self.mailbox_scope:
            return True
        return not all(_is_object_id(entry) for entry in self.mailbox_scope)


def _is_object_id(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def load_connection(uow: UnitOfWork, connection_id: str) -> Connection | None:
    row = uow.execute(
        "select id, mode, status, mailbox_scope from connections where id = :id",
        {"id": connection_id},
    ).first()
    if row is None:
        return None
    scope = tuple(m.lower() for m in row.mailbox_scope) if row.mailbox_scope is not None else None
    return Connection(str(row.id), row.mode, row.status, scope)


def lock_scanned_span(uow: UnitOfWork, org_id: str, connection_id: str,
                      mailbox_id: str) -> Window | None:
    """The span already scanned, with the mailbox's row locked until commit, so two scans of
    one mailbox never run side by side (Graph allows 4 concurrent requests per mailbox)."""
    uow.execute(
        "insert into mailbox_watermarks (org_id, connection_id, mailbox_id) "
        "values (:org, :conn, :mailbox) on conflict do nothing",
        {"org": org_id, "conn": connection_id, "mailbox": mailbox_id},
    )
    row = uow.execute(
        "select scanned_from, scanned_until from mailbox_watermarks "
        "where connection_id = :conn and mailbox_id = :mailbox for update",
        {"conn": connection_id, "mailbox": mailbox_id},
    ).one()
    if row.scanned_from is None or row.scanned_until is None:
        return None
    return Window(row.scanned_from, row.scanned_until)


def save_scanned_span(uow: UnitOfWork, connection_id: str, mailbox_id: str, span: Window,
                      queries: int) -> None:
    uow.execute(
        "update mailbox_watermarks set scanned_from = :start, scanned_until = :end, "
        "last_scan_at = now(), last_scan_queries = :queries "
        "where connection_id = :conn and mailbox_id = :mailbox",
        {"start": span.start, "end": span.end, "queries": queries, "conn": connection_id,
         "mailbox": mailbox_id},
    )


def store_new_email(uow: UnitOfWork, org_id: str, connection_id: str, mailbox_id: str,
                    email: DetectedEmail) -> bool:
    """True if this message was not stored before (a re-scan of it adds nothing)."""
    row = uow.execute(
        "insert into billing_emails (org_id, connection_id, mailbox_id, message_id, vendor_id, "
        "kind, subject, sender, received_at, has_attachments) values (:org, :conn, :mailbox, "
        ":message, :vendor, :kind, :subject, :sender, :received, :attachments) "
        "on conflict (org_id, message_id) do nothing returning id",
        {"org": org_id, "conn": connection_id, "mailbox": mailbox_id,
         "message": email.message_id, "vendor": email.vendor_id, "kind": email.kind,
         "subject": email.subject, "sender": email.sender, "received": email.received_at,
         "attachments": email.has_attachments},
    ).first()
    return row is not None


def record_discoveries(uow: UnitOfWork, org_id: str, emails: Iterable[DetectedEmail]) -> int:
    """Each vendor seen in billing or sign-up mail, with the first and last time seen."""
    seen: dict[str, tuple[datetime, datetime]] = {}
    for email in emails:
        first, last = seen.get(email.vendor_id, (email.received_at, email.received_at))
        seen[email.vendor_id] = (min(first, email.received_at), max(last, email.received_at))
    for vendor_id, (first, last) in sorted(seen.items()):
        uow.execute(
            "insert into vendor_discoveries (org_id, vendor_id, source, first_seen_at, "
            "last_seen_at) values (:org, :vendor, 'email', :first, :last) "
            "on conflict (org_id, vendor_id, source) do update set "
            "first_seen_at = least(vendor_discoveries.first_seen_at, excluded.first_seen_at), "
            "last_seen_at = greatest(vendor_discoveries.last_seen_at, excluded.last_seen_at)",
            {"org": org_id, "vendor": vendor_id, "first": first, "last": last},
        )
    return len(seen)
