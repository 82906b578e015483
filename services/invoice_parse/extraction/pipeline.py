"""Batches: the PDF worker reads the next document while this process finds the fields of
the current one (two stages, one worker, the same per-document code as extract_invoice).

Field finding is pure Python in this process and text extraction runs in the worker
process, so the two overlap: a batch costs about max(stage) per document instead of the
sum. A single document gains nothing; its latency is what extract_invoice costs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from services.invoice_parse.extraction.extract import extract_invoice_text, fields_of_text
from services.invoice_parse.extraction.limits import DEFAULT_LIMITS, InvoiceRejected, Limits
from services.invoice_parse.extraction.model import InvoiceFields
from services.invoice_parse.extraction.pdf_text import PdfTextWorker
from services.invoice_parse.extraction.vendor import VendorMatcher

Item = TypeVar("Item")
Result = TypeVar("Result")


def one_ahead(
    function: Callable[[Item], Result], items: Iterable[Item]
) -> Iterator[tuple[Item, Future[Result]]]:
    """Each item with the Future of function(item), in order; the next item's call is
    already running (in one helper thread) while the caller handles the current one.
    Made for calls that wait on another process, which release the GIL meanwhile."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="one-ahead") as helper:
        previous: tuple[Item, Future[Result]] | None = None
        for item in items:
            current = (item, helper.submit(function, item))
            if previous is not None:
                yield previous
            previous = current
        if previous is not None:
            yield previous


def extract_many(
    documents: Iterable[bytes],
    *,
    worker: PdfTextWorker,
    vendor_hint: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    vendors: VendorMatcher | None = None,
) -> Iterator[InvoiceFields | InvoiceRejected]:
    """For each PDF in order: what extract_invoice returns, or the InvoiceRejected it
    would raise (returned, so one refused document does not end the batch)."""

    def text_of(pdf_bytes: bytes) -> str:
        return extract_invoice_text(pdf_bytes, limits=limits, worker=worker)

    for _, text in one_ahead(text_of, documents):
        try:
            yield fields_of_text(text.result(), vendor_hint=vendor_hint, vendors=vendors)
        except InvoiceRejected as rejected:
            yield rejected
