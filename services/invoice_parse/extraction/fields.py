"""The template-free field finder: labelled values found by vocabulary and layout.

Every finder works the same way: find the labels of its field (best tier first, look-alikes
vetoed), read the value written after the label on its line or, in tables, in the cell
below, and pick the best candidate. No vendor or document is special-cased.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.invoice_parse.extraction.amounts import Money
from services.invoice_parse.extraction.dating import find_invoice_date, find_period
from services.invoice_parse.extraction.document import Document
from services.invoice_parse.extraction.money import find_tax, find_total
from services.invoice_parse.extraction.numbers import find_invoice_number


@dataclass(frozen=True)
class TextFields:
    total: Money | None
    tax_minor: int | None
    invoice_date: date | None
    invoice_number: str | None
    period_start: date | None
    period_end: date | None


def find_fields(text: str) -> TextFields:
    doc = Document(text)
    total = find_total(doc)
    number_hit, number = find_invoice_number(doc)
    period = find_period(doc)
    tax = find_tax(doc, total.currency if total else doc.main_currency)
    return TextFields(
        total=total,
        tax_minor=tax,
        invoice_date=find_invoice_date(doc, number_hit),
        invoice_number=number,
        period_start=period[0] if period else None,
        period_end=period[1] if period else None,
    )
