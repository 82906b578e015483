"""Template-free invoice field extraction (the pure core of the invoice-parse service).

    extract_invoice(pdf_bytes, vendor_hint=..., limits=..., vendors=..., worker=...)
        -> InvoiceFields
    extract_from_text(text, ...) -> InvoiceFields
    extract_many(pdfs, worker=..., ...) -> iterator of InvoiceFields | InvoiceRejected
        (batches: text of the next PDF is read while fields of this one are found)
    parse_subject(subject) -> SubjectFacts

Callers of extract_invoice must run under an `if __name__ == "__main__":` guard (as
gunicorn, pytest and console scripts do): PDF parsing runs in forkserver children.
"""

from services.invoice_parse.extraction.amounts import AmountError, Money, parse_amount
from services.invoice_parse.extraction.dates import parse_date
from services.invoice_parse.extraction.extract import extract_from_text, extract_invoice
from services.invoice_parse.extraction.limits import (
    DEFAULT_LIMITS,
    REJECTION_REASONS,
    InvoiceRejected,
    Limits,
)
from services.invoice_parse.extraction.model import InvoiceFields
from services.invoice_parse.extraction.pdf_text import PdfTextWorker
from services.invoice_parse.extraction.pipeline import extract_many
from services.invoice_parse.extraction.subject import SubjectFacts, parse_subject
from services.invoice_parse.extraction.vendor import VendorMatcher, load_default_catalog

__all__ = [
    "DEFAULT_LIMITS",
    "REJECTION_REASONS",
    "AmountError",
    "InvoiceFields",
    "InvoiceRejected",
    "Limits",
    "Money",
    "PdfTextWorker",
    "SubjectFacts",
    "VendorMatcher",
    "extract_from_text",
    "extract_invoice",
    "extract_many",
    "load_default_catalog",
    "parse_amount",
    "parse_date",
    "parse_subject",
]
