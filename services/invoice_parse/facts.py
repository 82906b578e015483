"""Which facts about an invoice we keep, when the subject and the document both speak.

The rule: the document wins. It is the vendor's formal record and the only
source of tax, dates and period; a subject line is a marketing summary that
may round, omit tax or show a different amount (a prorated charge, a
"from" price). The subject fills only what the document does not state, and
is all we have for connections that allow metadata only.

`source` says where the total came from ("attachment" or "subject"); when
there is no total, where the invoice number came from.

Implausible values are dropped rather than stored: a negative total (a credit
note is not spend), an amount no SaaS invoice reaches, a currency that is not an
ISO code, an invoice date far from the day the email arrived (a misread date
would move spend to the wrong month; the arrival day is used instead).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from services.invoice_parse.extraction import InvoiceFields, SubjectFacts

# Ten billion in major units: beyond any SaaS bill, and far inside PostgreSQL's bigint.
MAX_TOTAL_MINOR = 10**13
# An invoice is mailed shortly after it is dated; annual ones at most a little early.
DATE_BEFORE_ARRIVAL = timedelta(days=400)
DATE_AFTER_ARRIVAL = timedelta(days=45)
_ISO_CURRENCY = re.compile(r"^[A-Z]{3}$")


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


def merge_facts(subject: SubjectFacts, document: InvoiceFields | None,
                received_on: date) -> InvoiceFacts:
    document = document or InvoiceFields()
    from_document = _credible(document.total_minor, document.currency)
    if from_document:
        total, currency = document.total_minor, document.currency.upper()
    elif _credible(subject.total_minor, subject.currency):
        total, currency = subject.total_minor, subject.currency.upper()
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
        currency=currency,
        # Tax belongs to the document's total; beside a subject's total it would not add up.
        tax_minor=document.tax_minor if from_document and _credible(
            document.tax_minor, currency) else None,
        invoice_date=_plausible_date(document.invoice_date, received_on),
        period_start=period_start,
        period_end=period_end,
        source=source,
    )


def _credible(amount_minor: int | None, currency: str | None) -> bool:
    return (amount_minor is not None and 0 <= amount_minor < MAX_TOTAL_MINOR
            and bool(_ISO_CURRENCY.match((currency or "").upper())))


def _plausible_date(invoice_date: date | None, received_on: date) -> date | None:
    if invoice_date is None:
        return None
    if received_on - DATE_BEFORE_ARRIVAL <= invoice_date <= received_on + DATE_AFTER_ARRIVAL:
        return invoice_date
    return None


def _clean_number(number: str | None) -> str | None:
    number = (number or "").strip()
    return number[:100] or None
