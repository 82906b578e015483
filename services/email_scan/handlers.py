"""email-scan: what arrives, what is checked, what is stored, what is emitted."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from services.email_scan import store
from services.email_scan.classify import Classifier
from services.email_scan.coverage import (
    InvalidWindow,
    Window,
    after_scan,
    parse_window,
    up_to,
    window_to_scan,
)
from services.email_scan.scan import MailboxReader, ScanOutcome, scan_mailbox
from services.email_scan.sender_filter import sender_filters
from shared.catalog import Catalog
from shared.db import UnitOfWork
from shared.graph import GraphBadRequest, GraphForbidden, GraphNotFound
from shared.logs import log_fields
from shared.messaging.consumer import PermanentFailure
from shared.messaging.contracts import BillingEmailDetected, MailboxScanRequested
from shared.vault_client import ConnectionNeedsConsentError, VaultRefused

log = logging.getLogger(__name__)

# Mail can show up in Graph queries a little after its receivedDateTime. The watermark stays
# this far behind "now", and the next scan starts from the watermark, so late arrivals are
# still found.
INDEXING_LAG = timedelta(minutes=5)


class ConnectionUnusable(Exception):
    """The grant is gone; the vault has told the organization. Acknowledge and wait: the
    watermark stays, so the first scan after reconnecting covers the gap."""


@dataclass(frozen=True)
class FilterLimits:
    """Bounds per Graph `$filter`: past them Exchange answers "too complex" (the simulator
    counts 50 comparisons; two go to the time window) or the URL gets too long."""

    max_clauses: int = 48
    max_chars: int = 3000


@dataclass(frozen=True)
class ScanDependencies:
    catalog: Catalog
    classifier: Classifier
    open_mailbox: Callable[[str], MailboxReader]  # connection id -> Graph access for it
    limits: FilterLimits = FilterLimits()
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


def scan_requested_mailbox(event: MailboxScanRequested, uow: UnitOfWork,
                           deps: ScanDependencies) -> None:
    """One mailbox, one window: query only catalog senders, keep billing and sign-up mail,
    publish each new one once, move the mailbox's watermark."""
    window = _checked_request(event)
    connection = store.load_connection(uow, event.connection_id)
    if connection is None:
        raise PermanentFailure("connection not found in this organization")
    if not connection.allows_mailbox(event.mailbox_id):
        raise PermanentFailure("mailbox is outside the connection's configured scope")
    if connection.status != "active":
        _log("scan skipped: connection not active", event, status=connection.status)
        return

    scanned = store.lock_scanned_span(uow, event.org_id, event.connection_id, event.mailbox_id)
    reachable = up_to(window, deps.clock() - INDEXING_LAG)
    todo = window_to_scan(reachable, scanned) if reachable else None
    if todo is None:
        _log("scan skipped: window already scanned or in the future", event)
        return

    filters = sender_filters(deps.catalog, todo.start, todo.end,
                             max_clauses=deps.limits.max_clauses,
                             max_chars=deps.limits.max_chars)
    try:
        outcome = _scan_or_park(deps, event, filters)
    except ConnectionUnusable:
        _log("scan skipped: connection needs an admin to reconnect", event)
        return

    new = [email for email in outcome.detected
           if store.store_new_email(uow, event.org_id, event.connection_id, event.mailbox_id,
                                    email)]
    vendors = store.record_discoveries(uow, event.org_id, outcome.detected)
    for email in new:
        uow.emit(BillingEmailDetected(
            org_id=event.org_id, connection_id=event.connection_id,
            mailbox_id=event.mailbox_id, message_id=email.message_id,
            vendor_id=email.vendor_id, kind=email.kind, subject=email.subject,
            received_at=email.received_at.isoformat(),
            has_attachments=email.has_attachments, mode=connection.mode,
        ))
    store.save_scanned_span(uow, event.connection_id, event.mailbox_id,
                            after_scan(scanned, todo), outcome.queries)
    _log("mailbox scanned", event, **outcome.counts(), new=len(new), vendors=vendors,
         window_start=todo.start.isoformat(), window_end=todo.end.isoformat())


def _scan_or_park(deps: ScanDependencies, event: MailboxScanRequested,
                  filters: list[str]) -> ScanOutcome:
    """Graph's verdicts that retrying cannot change become a parked message with the reason;
    throttling, outages and a refused token (the reader dropped it; the vault decides on
    the retry whether the grant is gone) propagate, so Pub/Sub retries with backoff."""
    try:
        return scan_mailbox(deps.open_mailbox(event.connection_id), deps.classifier,
                            event.mailbox_id, filters)
    except GraphNotFound as exc:
        raise PermanentFailure(f"mailbox not found in the tenant ({exc.code})") from None
    except GraphForbidden as exc:
        raise PermanentFailure(f"Graph refused mail access ({exc.code})") from None
    except ConnectionNeedsConsentError:
        raise ConnectionUnusable() from None
    except VaultRefused as exc:
        raise PermanentFailure(f"token-vault refused a mail token ({exc.code})") from None
    except GraphBadRequest as exc:
        log.error("Graph rejected a scan query", extra=log_fields(code=exc.code,
                                                                   filters=len(filters)))
        raise PermanentFailure(f"Graph rejected the scan query ({exc.code})") from None


def _checked_request(event: MailboxScanRequested) -> Window:
    # Graph user ids are GUIDs; refusing anything else also keeps a person's address (a UPN)
    # out of the request path and the logs.
    for name in ("connection_id", "mailbox_id"):
        try:
            uuid.UUID(getattr(event, name))
        except ValueError:
            raise PermanentFailure(f"{name} is not a UUID") from None
    try:
        return parse_window(event.window_start_at, event.window_end_at)
    except InvalidWindow as exc:
        raise PermanentFailure(f"invalid scan window: {exc}") from None


def _log(message: str, event: MailboxScanRequested, **fields) -> None:
    """Ids and counts only: never a subject or a person's address."""
    log.info(message, extra=log_fields(org_id=event.org_id, connection_id=event.connection_id,
                                       mailbox_id=event.mailbox_id, sync_id=event.sync_id,
                                       **fields))
