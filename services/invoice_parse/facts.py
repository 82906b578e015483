"""Which facts about an invoice we keep, when the subject and the document both speak.

The rule: the document wins. It is the vendor's formal record and the only
source of tax, dates and period; a subject line is a marketing summary that
may round, omit tax or show a different amount (a prorated charge, a
"from" price). The subject fills only what the document does not state, and
is all we have for connections that allow metadata only.

`source` says where the total came from ("attachment" or "subject"); when
there is no total, where the invoice number came from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from services.invoice_parse.extraction import InvoiceFields, SubjectFacts


@dataclass(frozen=True)
class InvoiceFacts:
    invoice_number: str | None
    total_minor: int | None
    currency: str | None
    tax_minor: int | None
    invoice_date: date | None
    period_start: date | None
    period_end: date | None
    source: str                        # "attachment" | "subject"

    @property
    def has_substance(self) -> bool:
        """Worth storing: an amount to count, or at least a number to recognise it by."""
        return self.total_minor is not None or bool(self.invoice_number)


def merge_facts(subject: SubjectFacts, document: InvoiceFields | None) -> InvoiceFacts:
    document = document or InvoiceFields()
    from_document = document.total_minor is not None and document.currency is not None
    if from_document:
        total, currency = document.total_minor, document.currency
    elif subject.total_minor is not None and subject.currency is not None:
        total, currency = subject.total_minor, subject.currency
    else:
        total, currency = None, None
    number = _clean_number(document.invoice_number) or _clean_number(subject.invoice_number)
    if total is not None:
        source = "attachment" if from_document else "subject"
    else:
        source = "attachment" if _clean_number(document.invoice_number) else "subject"
    period_start, period_end = document.period_start, document.period_end
    if period_start and period_end and period_end < period_start:
        period_start = period_end = None  # a misread period is worse than none
    return InvoiceFacts(
        invoice_number=number,
        total_minor=total,
        currency=currency.upper() if currency else None,
        # Tax belongs to the document's total; beside a subject's total it would not add up.
        tax_minor=document.tax_minor if from_document else None,
        invoice_date=document.invoice_date,
        period_start=period_start,
        period_end=period_end,
        source=source,
    )


def subject_without_vendor(subject: str, vendor_names: Iterable[str]) -> str:
    """The subject with the vendor's own name taken out before it is read.

    The name is known already (email-scan resolved the vendor), and between a label and
    its value it hides the value ("Votre facture Dropbox INV-2026-07979") or passes for
    one ("1Password", "8x8")."""
    for name in sorted({n for n in vendor_names if len(n) >= 2}, key=len, reverse=True):
        subject = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", " ", subject, flags=re.IGNORECASE)
    return " ".join(subject.split())


def _clean_number(number: str | None) -> str | None:
    number = (number or "").strip()
    return number[:100] or None
