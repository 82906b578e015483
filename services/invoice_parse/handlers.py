"""invoice-parse: what arrives, what is checked, what is stored, what is emitted."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from services.invoice_parse import store
from services.invoice_parse.documents import (
    AttachmentReader,
    DocumentReading,
    read_invoice_document,
)
from services.invoice_parse.extraction import (
    DEFAULT_LIMITS,
    Limits,
    PdfTextWorker,
    parse_subject,
)
from services.invoice_parse.facts import merge_facts
from services.invoice_parse.spend import annualized_spend, monthly_spend
from shared.db import UnitOfWork
from shared.logs import log_fields
from shared.messaging.consumer import PermanentFailure
from shared.messaging.contracts import BillingEmailDetected, InvoiceParsed

log = logging.getLogger(__name__)

# Receipts and renewals are money that left the organization. A failed payment
# or a sign-up is a billing signal email-scan already keeps, not spend.
SPEND_KINDS = frozenset({"receipt", "renewal"})
NO_DOCUMENT = DocumentReading(None, None, None)


@dataclass(frozen=True)
class InvoiceDependencies:
    open_attachments: Callable[[str], AttachmentReader]   # connection id -> Graph via vault
    vendor_names: Mapping[str, tuple[str, ...]]           # catalog id -> name, merchant names
    limits: Limits = DEFAULT_LIMITS
    # One long-lived extraction process per service process (None: a fresh one per
    # document, which costs a process start each time).
    pdf_worker: PdfTextWorker | None = None


def record_invoice(event: BillingEmailDetected, uow: UnitOfWork,
                   deps: InvoiceDependencies) -> None:
    """A billing email from a known vendor: keep its invoice fields (from the subject and,
    where the connection allows it, the PDF read in memory), publish them once, and
    rebuild the vendor's spend."""
    def outcome(result: str, reading: DocumentReading = NO_DOCUMENT, invoice_id=None) -> None:
        store.record_outcome(uow, event.org_id, event.message_id, event.vendor_id, event.kind,
                             outcome=result, document=reading.status, reason=reading.reason,
                             invoice_id=invoice_id)

    if event.kind not in SPEND_KINDS:
        outcome("not_spend")
        return
    connection = store.load_connection(uow, event.connection_id)
    if connection is None:
        raise PermanentFailure("connection not found in this organization")

    reading = _read_document(event, connection, deps)
    received_on = _received_on(event)
    subject_facts = parse_subject(event.subject, deps.vendor_names.get(event.vendor_id, ()))
    facts = merge_facts(subject_facts, reading.fields, received_on)
    if not facts.has_substance:
        outcome("nothing_found", reading)
        _log("no invoice facts found", event, reading)
        return

    store.lock_vendor(uow, event.org_id, event.vendor_id)
    saved = store.save_invoice(uow, event.org_id, event.vendor_id, event.message_id, event.kind,
                               received_on, facts)
    outcome("stored", reading, saved.id)
    if saved.changed:
        refresh_spend(uow, event.org_id, event.vendor_id)
        uow.emit(InvoiceParsed(
            org_id=event.org_id, invoice_id=saved.id, vendor_id=event.vendor_id,
            total_minor=facts.total_minor, currency=facts.currency,
            invoice_date=facts.invoice_date.isoformat() if facts.invoice_date else None,
            source=facts.source))
    _log("invoice stored" if saved.changed else "invoice already known", event, reading,
         source=facts.source)


def refresh_spend(uow: UnitOfWork, org_id: str, vendor_id: str) -> None:
    """Rebuild one vendor's roll-ups from all its invoices (never incremented, so a
    redelivery cannot count twice)."""
    invoices = store.spend_invoices(uow, org_id, vendor_id)
    currency = store.org_currency(uow, org_id)
    needs = {(i.currency, i.spend_date) for i in invoices}
    needs |= {(currency, i.spend_date) for i in invoices}
    rates = store.rates_for(uow, needs)
    store.replace_spend(uow, org_id, vendor_id, currency,
                        monthly_spend(invoices, currency, rates),
                        annualized_spend(invoices, currency, rates))


def _read_document(event: BillingEmailDetected, connection: store.ConnectionAccess,
                   deps: InvoiceDependencies) -> DocumentReading:
    # Both the event and the connection as it is now must allow attachments: an
    # admin may have narrowed the connection since the email was detected.
    if not (event.has_attachments and event.mode == "attachments"
            and connection.mode == "attachments"):
        return NO_DOCUMENT
    if connection.status != "active":
        return DocumentReading(None, "skipped", "connection_not_active")
    reader = deps.open_attachments(event.connection_id)
    return read_invoice_document(reader, event.mailbox_id, event.message_id,
                                 vendor_hint=event.vendor_id, limits=deps.limits,
                                 worker=deps.pdf_worker)


def _received_on(event: BillingEmailDetected) -> date:
    received = datetime.fromisoformat(event.received_at)
    if received.tzinfo is not None:
        received = received.astimezone(UTC)
    return received.date()


def _log(message: str, event: BillingEmailDetected, reading: DocumentReading, **extra) -> None:
    # Never the subject: it can name people or customers.
    level = logging.WARNING if reading.status == "rejected" else logging.INFO
    log.log(level, message, extra=log_fields(
        org_id=event.org_id, vendor_id=event.vendor_id, kind=event.kind,
        document=reading.status, reason=reading.reason, **extra))
