"""Public entry points: PDF bytes or text -> InvoiceFields. Pure except for the isolated
PDF-parsing child; nothing is stored or logged here."""

from __future__ import annotations

from services.invoice_parse.extraction.fields import find_fields
from services.invoice_parse.extraction.limits import DEFAULT_LIMITS, InvoiceRejected, Limits
from services.invoice_parse.extraction.model import InvoiceFields
from services.invoice_parse.extraction.pdf_text import PdfTextWorker, pdf_to_text
from services.invoice_parse.extraction.vendor import VendorMatcher


def extract_invoice(
    pdf_bytes: bytes,
    *,
    vendor_hint: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    vendors: VendorMatcher | None = None,
    worker: PdfTextWorker | None = None,
) -> InvoiceFields:
    """Fields of a PDF invoice. Raises InvoiceRejected (with a reason code) for documents
    that are too large, too long, encrypted, broken, too slow or bombs, or have no text.

    `vendors` matches catalog vendors: build it once per process,
    `VendorMatcher(load_catalog().vendors)`; without it the vendor is the hint.
    `worker` is a long-lived PdfTextWorker (one per process); without it each call
    starts and stops its own, which costs a process start.
    """
    text = extract_invoice_text(pdf_bytes, limits=limits, worker=worker)
    return fields_of_text(text, vendor_hint=vendor_hint, vendors=vendors)


def extract_invoice_text(
    pdf_bytes: bytes, *, limits: Limits = DEFAULT_LIMITS, worker: PdfTextWorker | None = None
) -> str:
    """Stage one of extract_invoice: the PDF's laid-out text, under the limits."""
    return worker.extract(pdf_bytes, limits) if worker else pdf_to_text(pdf_bytes, limits)


def fields_of_text(
    text: str, *, vendor_hint: str | None = None, vendors: VendorMatcher | None = None
) -> InvoiceFields:
    """Stage two of extract_invoice: fields of the text stage one returned."""
    if not text.strip():
        raise InvoiceRejected("no_text", "no text layer (a scanned image?)")
    return extract_from_text(text, vendor_hint=vendor_hint, vendors=vendors)


def extract_from_text(
    text: str,
    *,
    vendor_hint: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    vendors: VendorMatcher | None = None,
) -> InvoiceFields:
    """Fields of an invoice's text (as laid out by `pdf_to_text`, or a plain-text invoice)."""
    text = text[: limits.max_chars]
    found = find_fields(text)
    return InvoiceFields(
        vendor=vendor_hint if vendors is None else vendors.match(text, vendor_hint),
        total_minor=found.total.minor if found.total else None,
        currency=found.total.currency if found.total else None,
        invoice_date=found.invoice_date,
        invoice_number=found.invoice_number,
        period_start=found.period_start,
        period_end=found.period_end,
        tax_minor=found.tax_minor,
    )
