"""Currency conversion with a dated rate table, in exact decimal arithmetic.

Rates are stored the way the European Central Bank publishes them: units of a
currency per one euro, one row per currency and day (no row on weekends and
holidays). An amount is converted with the rate of its own date, or of the
nearest earlier date that has one, so an invoice dated on a Sunday uses
Friday's rate and re-running the conversion later gives the same answer.

Amounts stay integers in minor units; only the conversion passes through
Decimal and is rounded once, half to even, to the target's minor unit.
"""

from __future__ import annotations

import bisect
import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from services.invoice_parse.extraction.currencies import exponent

BASE_CURRENCY = "EUR"


class RateMissing(LookupError):
    """No rate for a currency on or before a date."""


@dataclass(frozen=True)
class Rate:
    currency: str
    on: date
    per_eur: Decimal


class RateTable:
    """Rates by currency, answering "the rate in force on this day"."""

    def __init__(self, rates: Iterable[Rate] = ()):
        by_currency: dict[str, list[tuple[date, Decimal]]] = {}
        for rate in rates:
            if rate.per_eur <= 0:
                raise ValueError(f"rate for {rate.currency} on {rate.on} must be positive")
            by_currency.setdefault(rate.currency.upper(), []).append((rate.on, rate.per_eur))
        self._days = {c: [d for d, _ in sorted(rows)] for c, rows in by_currency.items()}
        self._values = {c: [v for _, v in sorted(rows)] for c, rows in by_currency.items()}

    def per_eur(self, currency: str, on: date) -> Decimal:
        """Units of `currency` per euro in force on `on` (the euro itself is 1)."""
        currency = currency.upper()
        if currency == BASE_CURRENCY:
            return Decimal(1)
        days = self._days.get(currency)
        if not days:
            raise RateMissing(f"no rates for {currency}")
        position = bisect.bisect_right(days, on)
        if position == 0:
            raise RateMissing(f"no {currency} rate on or before {on.isoformat()}")
        return self._values[currency][position - 1]

    def convert_minor(self, amount_minor: int, source: str, target: str, on: date) -> int:
        """`amount_minor` of `source` in minor units of `target`, at the rate of `on`."""
        if source.upper() == target.upper():
            return amount_minor
        amount = Decimal(amount_minor).scaleb(-exponent(source.upper()))
        converted = amount / self.per_eur(source, on) * self.per_eur(target, on)
        scaled = converted.scaleb(exponent(target.upper()))
        return int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


class RateFileError(ValueError):
    """A rate file is not in the ECB's historical CSV layout."""


def parse_ecb_csv(text: str) -> list[Rate]:
    """Rows of the ECB's reference-rate files: `eurofxref-hist.csv` (ISO dates, "N/A"
    gaps) and the one-day `eurofxref.csv` ("04 December 2026").

    This is how production fills the table: a daily job downloads the file from
    https://www.ecb.europa.eu/stats/eurofxref/ (published around 16:00 CET) and runs
    `coax rates load` with it; the first load takes the full history.
    """
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header or header[0].strip().lower() != "date":
        raise RateFileError("the first column must be 'Date'")
    currencies = [name.strip().upper() for name in header[1:]]
    rates: list[Rate] = []
    for line_number, row in enumerate(reader, start=2):
        if not row or not row[0].strip():
            continue
        on = _ecb_date(row[0].strip(), line_number)
        for currency, cell in zip(currencies, row[1:], strict=False):
            cell = cell.strip()
            if not currency or cell in ("", "N/A"):
                continue
            try:
                value = Decimal(cell)
            except InvalidOperation:
                raise RateFileError(f"line {line_number}: {cell!r} is not a number") from None
            if value > 0:
                rates.append(Rate(currency, on, value))
    return rates


def _ecb_date(text: str, line_number: int) -> date:
    for parse in (date.fromisoformat, lambda t: datetime.strptime(t, "%d %B %Y").date()):
        try:
            return parse(text)
        except ValueError:
            continue
    raise RateFileError(f"line {line_number}: {text!r} is not a date")
