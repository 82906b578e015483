"""What an invoice yields: only these fields are kept, never the document."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.invoice_parse.extraction.amounts import format_minor


@dataclass(frozen=True)
class InvoiceFields:
    vendor: str | None = None
    total_minor: int | None = None
    currency: str | None = None
    invoice_date: date | None = None
    invoice_number: str | None = None
    period_start: date | None = None
    period_end: date | None = None
    tax_minor: int | None = None

    def to_json_dict(self) -> dict:
        """The CLI shape: amounts as decimal strings ("119.00"), dates as YYYY-MM-DD."""
        return {
            "vendor": self.vendor,
            "total": _money(self.total_minor, self.currency),
            "currency": self.currency,
            "invoice_date": _iso(self.invoice_date),
            "invoice_number": self.invoice_number,
            "period_start": _iso(self.period_start),
            "period_end": _iso(self.period_end),
            "tax": _money(self.tax_minor, self.currency),
        }


def _money(minor: int | None, currency: str | None) -> str | None:
    return None if minor is None else format_minor(minor, currency)


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None
