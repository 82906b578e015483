"""extract_many (batch, two stages) gives each document exactly what extract_invoice
gives it, in order, and a refused document in the middle does not end the batch."""

from __future__ import annotations

import threading

from fpdf import FPDF

from services.invoice_parse.extraction import (
    InvoiceRejected,
    PdfTextWorker,
    extract_invoice,
    extract_many,
)
from services.invoice_parse.extraction.pipeline import one_ahead

NOT_A_PDF = b"plain text, not a PDF"


def invoice_pdf(number: int) -> bytes:
    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    pdf.add_page()
    for line in (f"Invoice number: INV-{number:04d}", f"Amount due    ${number * 100}.00"):
        pdf.cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def one_or_reason(pdf_bytes: bytes, worker: PdfTextWorker):
    try:
        return extract_invoice(pdf_bytes, worker=worker)
    except InvoiceRejected as rejected:
        return rejected.reason


def test_batch_matches_one_by_one_in_order():
    documents = [invoice_pdf(1), NOT_A_PDF, invoice_pdf(2), invoice_pdf(3)]
    with PdfTextWorker() as worker:
        one_by_one = [one_or_reason(d, worker) for d in documents]
        batch = [
            r.reason if isinstance(r, InvoiceRejected) else r
            for r in extract_many(documents, worker=worker)
        ]
    assert batch == one_by_one
    assert batch[1] == "not_pdf"
    assert [(r.invoice_number, r.total_minor) for r in (batch[0], *batch[2:])] == [
        ("INV-0001", 10000),
        ("INV-0002", 20000),
        ("INV-0003", 30000),
    ]


def test_one_ahead_starts_the_next_call_before_the_current_is_handled():
    started: list[int] = []
    second_started = threading.Event()

    def record(item: int) -> int:
        started.append(item)
        if item == 2:
            second_started.set()
        return item * 10

    seen = []
    for item, future in one_ahead(record, [1, 2, 3]):
        if item == 1:
            assert second_started.wait(5)  # item 2 runs while item 1 is handled
        seen.append((item, future.result()))
    assert seen == [(1, 10), (2, 20), (3, 30)]
    assert started == [1, 2, 3]


def test_one_ahead_of_nothing_yields_nothing():
    assert list(one_ahead(lambda item: item, [])) == []
