"""Spend roll-ups of one vendor, recomputed from its invoices (no I/O here).

The roll-ups are always rebuilt from the full list of the vendor's invoices
rather than incremented, so a redelivered or replayed message cannot count an
invoice twice.

Rules (shown to customers, so kept simple):
- An invoice counts in the month of its invoice date, or of the day its email
  arrived when the invoice states no date. An annual invoice counts in full in
  the month it was billed (spend is what was billed, not an accrual).
- The organization-currency amount converts each invoice at the rate of that
  same date (see rates.py); it is unknown (None) when a rate is missing,
  rather than silently wrong.
- Annualized spend is the run rate as of the vendor's latest invoice: every
  invoice whose service period covers that day counts, scaled to a year by its
  billing cycle. The cycle is the invoice's stated period rounded to whole
  months (monthly x12, quarterly x4, annual x1, two-year x0.5). An invoice
  without a stated period is taken as monthly, the common SaaS plan, and its
  period runs from its date to the same day of the next month.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from services.invoice_parse.rates import RateMissing, RateTable

DAYS_PER_MONTH = Decimal("30.436875")  # mean Gregorian month


@dataclass(frozen=True)
class SpendInvoice:
    total_minor: int
    currency: str
    spend_date: date                 # invoice date, else the day the email arrived
    period_start: date | None = None
    period_end: date | None = None   # inclusive, as invoices print it


@dataclass(frozen=True)
class MonthlySpend:
    month: date                      # first day of the month
    currency: str
    amount_minor: int
    org_amount_minor: int | None
    invoices: int


@dataclass(frozen=True)
class AnnualizedSpend:
    currency: str
    annualized_minor: int
    org_annualized_minor: int | None
    as_of: date
    invoices: int


def cycle_months(invoice: SpendInvoice) -> int:
    """Billing cycle in whole months, from the stated period (1 when none is stated)."""
    if invoice.period_start is None or invoice.period_end is None:
        return 1
    days = (invoice.period_end - invoice.period_start).days + 1
    if days <= 0:
        return 1
    return max(1, int((Decimal(days) / DAYS_PER_MONTH).quantize(Decimal(1))))


def coverage(invoice: SpendInvoice) -> tuple[date, date]:
    """First and last day (inclusive) of the service the invoice pays for."""
    if invoice.period_start is not None and invoice.period_end is not None \
            and invoice.period_end >= invoice.period_start:
        return invoice.period_start, invoice.period_end
    start = invoice.period_start or invoice.spend_date
    return start, add_months(start, 1) - timedelta(days=1)


def annualize_minor(invoice: SpendInvoice) -> int:
    scaled = Decimal(invoice.total_minor) * 12 / cycle_months(invoice)
    return int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def monthly_spend(invoices: Iterable[SpendInvoice], org_currency: str,
                  rates: RateTable) -> list[MonthlySpend]:
    groups: dict[tuple[date, str], list[SpendInvoice]] = {}
    for invoice in invoices:
        groups.setdefault((invoice.spend_date.replace(day=1), invoice.currency), []).append(invoice)
    return [
        MonthlySpend(month, currency, sum(i.total_minor for i in members),
                     _org_sum(((i.total_minor, i) for i in members), org_currency, rates),
                     len(members))
        for (month, currency), members in sorted(groups.items())
    ]


def annualized_spend(invoices: Iterable[SpendInvoice], org_currency: str,
                     rates: RateTable) -> list[AnnualizedSpend]:
    invoices = list(invoices)
    if not invoices:
        return []
    as_of = max(i.spend_date for i in invoices)
    in_force = [i for i in invoices if coverage(i)[0] <= as_of <= coverage(i)[1]]
    by_currency: dict[str, list[SpendInvoice]] = {}
    for invoice in in_force:
        by_currency.setdefault(invoice.currency, []).append(invoice)
    return [
        AnnualizedSpend(currency, sum(annualize_minor(i) for i in members),
                        _org_sum(((annualize_minor(i), i) for i in members), org_currency, rates),
                        as_of, len(members))
        for currency, members in sorted(by_currency.items())
    ]


def _org_sum(amounts: Iterable[tuple[int, SpendInvoice]], org_currency: str,
             rates: RateTable) -> int | None:
    total = 0
    for amount, invoice in amounts:
        try:
            total += rates.convert_minor(amount, invoice.currency, org_currency, invoice.spend_date)
        except RateMissing:
            return None
    return total


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's end (Jan 31 + 1 = Feb 28)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return day.replace(year=year, month=month,
                       day=min(day.day, calendar.monthrange(year, month)[1]))
