"""An email's invoice document: fetched into memory, read, and dropped.

The bytes live in one local variable for the length of one extraction and are
never written anywhere: not to disk, not to Cloud Storage, not to the
database, not to a log. Only the extracted fields leave this module.

Sizes are checked from the attachment's metadata before anything is
downloaded, and the download itself is capped, so a message with a huge
attachment costs one small listing request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from services.invoice_parse.extraction import (
    InvoiceFields,
    InvoiceRejected,
    Limits,
    PdfTextWorker,
    extract_invoice,
)

# An invoice email rarely carries more than the invoice and perhaps terms or a
# receipt; reading more PDFs than this per message only costs time.
MAX_PDFS_PER_MESSAGE = 3


@dataclass(frozen=True)
class AttachmentMeta:
    id: str
    name: str
    content_type: str
    size: int

    @property
    def is_pdf(self) -> bool:
        return (self.content_type.lower().split(";")[0].strip() == "application/pdf"
                or self.name.lower().endswith(".pdf"))


class AttachmentsUnavailable(Exception):
    """Microsoft will not give this message's attachments, and asking again will not help.

    `reason` is "forbidden" (the grant does not cover attachments) or
    "message_gone" (deleted or moved since it was detected).
    """

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class AttachmentReader(Protocol):
    """Read access to one connection's message attachments (Graph behind the vault)."""

    def list_attachments(self, user_id: str, message_id: str) -> list[AttachmentMeta]: ...

    def download(self, user_id: str, message_id: str, attachment_id: str,
                 max_bytes: int) -> bytes: ...


@dataclass(frozen=True)
class DocumentReading:
    """What reading a message's documents gave: fields, or why there are none."""

    fields: InvoiceFields | None
    status: str | None        # "parsed" | "rejected" | "skipped"
    reason: str | None        # a reason code, e.g. "encrypted", "too_large", "no_pdf"


def read_invoice_document(reader: AttachmentReader, user_id: str, message_id: str, *,
                          vendor_hint: str, limits: Limits,
                          worker: PdfTextWorker | None = None) -> DocumentReading:
    try:
        listed = reader.list_attachments(user_id, message_id)
    except AttachmentsUnavailable as exc:
        return DocumentReading(None, "skipped", exc.reason)
    pdfs = [meta for meta in listed if meta.is_pdf][:MAX_PDFS_PER_MESSAGE]
    if not pdfs:
        return DocumentReading(None, "skipped", "no_pdf")
    first_problem: str | None = None
    for meta in pdfs:
        try:
            fields = _read_one(reader, user_id, message_id, meta, vendor_hint, limits, worker)
        except InvoiceRejected as exc:
            first_problem = first_problem or exc.reason
            continue
        except AttachmentsUnavailable as exc:
            return DocumentReading(None, "skipped", exc.reason)
        if fields.total_minor is not None or fields.invoice_number:
            return DocumentReading(fields, "parsed", None)
        first_problem = first_problem or "no_fields"
    status = "skipped" if first_problem == "no_fields" else "rejected"
    return DocumentReading(None, status, first_problem)


def _read_one(reader: AttachmentReader, user_id: str, message_id: str, meta: AttachmentMeta,
              vendor_hint: str, limits: Limits, worker: PdfTextWorker | None) -> InvoiceFields:
    if meta.size > limits.max_bytes:
        raise InvoiceRejected("too_large", f"{meta.size} bytes listed > {limits.max_bytes}")
    document = reader.download(user_id, message_id, meta.id, limits.max_bytes)
    try:
        # The vendor is the one email-scan resolved from the sender and subject: no
        # catalog matching on the document, whose text may mention other vendors.
        return extract_invoice(document, vendor_hint=vendor_hint, limits=limits, worker=worker)
    finally:
        del document  # the only reference: nothing of the document outlives this call
