"""Both text engines (PDFium, and pypdf where PDFium is missing) give the field finder
text it reads the same way; the layout keeps table columns apart."""

from __future__ import annotations

import pytest

from services.invoice_parse.extraction import DEFAULT_LIMITS, extract_from_text, pdf_text
from services.invoice_parse.extraction.pdf_layout import Word, layout
from tests.unit.test_invoice_hostile import invoice_pdf


@pytest.mark.parametrize("pdfium", [True, False], ids=["pdfium", "pypdf"])
def test_each_engine_yields_the_same_fields(monkeypatch, pdfium):
    monkeypatch.setattr(pdf_text, "pdfium_available", lambda: pdfium)
    # In-process on trusted, generated input: the worker isolation is tested elsewhere.
    text = pdf_text.extract_text_unguarded(invoice_pdf(pages=2), DEFAULT_LIMITS)
    fields = extract_from_text(text)
    assert (fields.total_minor, fields.currency, fields.tax_minor) == (11900, "USD", 1900)
    assert fields.invoice_number == "INV-2024-0000"


def test_layout_keeps_words_together_and_cells_apart():
    # A 10 pt font: about 5 pt per character.
    words = [
        Word(left=10, right=45, baseline=700, text="Invoice"),
        Word(left=48, right=73, baseline=700, text="Date:"),
        Word(left=200, right=215, baseline=700.8, text="Due"),
        Word(left=10, right=60, baseline=686, text="03/20/2023"),
        Word(left=200, right=250, baseline=686, text="04/04/2023"),
    ]
    first, second = layout(words).splitlines()
    assert "Invoice Date:" in first and "Invoice Date:  " in first
    assert first.index("Due") == second.index("04/04/2023")
