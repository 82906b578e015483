"""Hostile and broken documents are refused with a reason, quickly, and never crash.

Every PDF here is generated in the test (fpdf2 / pypdf), nothing is downloaded."""

from __future__ import annotations

import io
import time
import zlib

import pytest
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DictionaryObject, NameObject, StreamObject

from services.invoice_parse.extraction import (
    InvoiceRejected,
    Limits,
    PdfTextWorker,
    extract_invoice,
)

FAST_SECONDS = 5.0


def invoice_pdf(pages: int = 1) -> bytes:
    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    for page in range(pages):
        pdf.add_page()
        pdf.cell(0, 8, f"Invoice number: INV-2024-{page:04d}", new_x="LMARGIN", new_y="NEXT")
        pdf.cell(0, 8, "Invoice date: March 3, 2024", new_x="LMARGIN", new_y="NEXT")
        pdf.cell(0, 8, "Subtotal      $100.00", new_x="LMARGIN", new_y="NEXT")
        pdf.cell(0, 8, "Tax           $19.00", new_x="LMARGIN", new_y="NEXT")
        pdf.cell(0, 8, "Amount due    $119.00", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def encrypted(pdf_bytes: bytes, user_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes)))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def flate_bomb(inflated_bytes: int) -> bytes:
    """A one-page PDF whose content stream inflates to `inflated_bytes` of spaces."""
    writer = PdfWriter()
    page = writer.add_blank_page(width=200, height=200)
    stream = StreamObject()
    compressor = zlib.compressobj(9)
    chunk = b" " * (1 << 20)
    data = b"".join(compressor.compress(chunk) for _ in range(inflated_bytes >> 20))
    stream._data = data + compressor.flush()
    stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    page[NameObject("/Contents")] = writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def slow_pdf(text_objects: int) -> bytes:
    """A valid page drawing `text_objects` separate words: legal, but slow to lay out."""
    writer = PdfWriter()
    page = writer.add_blank_page(width=600, height=800)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    fonts = DictionaryObject({NameObject("/F1"): writer._add_object(font)})
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): fonts})
    operators = b"".join(
        b"BT /F1 9 Tf %d %d Td (w%d) Tj ET\n" % (i % 500, i % 700, i) for i in range(text_objects)
    )
    stream = StreamObject()
    stream._data = zlib.compress(operators)
    stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    page[NameObject("/Contents")] = writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def rejection(pdf_bytes: bytes, limits: Limits | None = None) -> tuple[str, float]:
    started = time.monotonic()
    with pytest.raises(InvoiceRejected) as caught:
        extract_invoice(pdf_bytes, **({"limits": limits} if limits else {}))
    return caught.value.reason, time.monotonic() - started


def test_a_generated_invoice_is_read_end_to_end():
    fields = extract_invoice(invoice_pdf())
    assert (fields.total_minor, fields.currency, fields.tax_minor) == (11900, "USD", 1900)
    assert fields.invoice_number == "INV-2024-0000"
    assert fields.invoice_date.isoformat() == "2024-03-03"


def test_truncated_pdf_is_malformed():
    whole = invoice_pdf()
    reason, seconds = rejection(whole[: len(whole) // 3])
    assert reason == "malformed"
    assert seconds < FAST_SECONDS


def test_password_protected_pdf_is_encrypted():
    reason, seconds = rejection(encrypted(invoice_pdf(), user_password="s3cret"))
    assert reason == "encrypted"
    assert seconds < FAST_SECONDS


def test_owner_only_encryption_still_reads():
    fields = extract_invoice(encrypted(invoice_pdf(), user_password=""))
    assert fields.total_minor == 11900


def test_flate_bomb_is_refused_without_inflating_it():
    bomb = flate_bomb(inflated_bytes=256 << 20)
    assert len(bomb) < 1 << 20  # a small file...
    reason, seconds = rejection(bomb)  # ...that would inflate to 256 MiB
    assert reason == "decompression_bomb"
    assert seconds < FAST_SECONDS


def test_hundred_page_pdf_is_too_long():
    reason, seconds = rejection(invoice_pdf(pages=100))
    assert reason == "too_many_pages"
    assert seconds < FAST_SECONDS


@pytest.mark.parametrize(
    "junk",
    [b"", b"hello, I am not a PDF", b"\x89PNG\r\n\x1a\n" + bytes(2000), b"<html>%PDF-</html>"],
)
def test_non_pdf_bytes_are_refused(junk):
    reason, seconds = rejection(junk)
    assert reason in {"not_pdf", "malformed"}
    assert seconds < FAST_SECONDS


def test_oversized_file_is_refused_before_parsing():
    reason, seconds = rejection(invoice_pdf(), Limits(max_bytes=1000))
    assert reason == "too_large"
    assert seconds < 0.5


def test_slow_document_hits_the_time_limit():
    reason, seconds = rejection(slow_pdf(100_000), Limits(timeout_seconds=0.2))
    assert reason == "timeout"
    assert seconds < FAST_SECONDS


def test_page_without_text_is_reported():
    pdf = FPDF()
    pdf.add_page()
    reason, _ = rejection(bytes(pdf.output()))
    assert reason == "no_text"


def test_garbage_inside_a_pdf_wrapper_is_malformed():
    reason, _ = rejection(b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF")
    assert reason == "malformed"


def test_one_worker_survives_hostile_documents_and_keeps_serving():
    with PdfTextWorker() as worker:
        good = invoice_pdf()
        assert extract_invoice(good, worker=worker).total_minor == 11900
        for hostile, reason, limits in (
            (flate_bomb(inflated_bytes=64 << 20), "decompression_bomb", None),
            (slow_pdf(100_000), "timeout", Limits(timeout_seconds=0.2)),
            (encrypted(good, user_password="s3cret"), "encrypted", None),
        ):
            with pytest.raises(InvoiceRejected) as caught:
                extract_invoice(hostile, worker=worker, **({"limits": limits} if limits else {}))
            assert caught.value.reason == reason
            assert extract_invoice(good, worker=worker).invoice_number == "INV-2024-0000"
