"""Spend roll-ups and currency conversion: the pure rules behind the spend figures."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.invoice_parse.rates import (
    Rate,
    RateFileError,
    RateMissing,
    RateTable,
    parse_ecb_csv,
)
from services.invoice_parse.spend import (
    SpendInvoice,
    add_months,
    annualize_minor,
    annualized_spend,
    cycle_months,
    monthly_spend,
)

RATES = RateTable(
    [
        Rate("USD", date(2026, 1, 2), Decimal("1.25")),
        Rate("USD", date(2026, 3, 2), Decimal("1.10")),
        Rate("JPY", date(2026, 1, 2), Decimal("160")),
        Rate("GBP", date(2026, 1, 2), Decimal("0.80")),
    ]
)


def test_a_rate_is_the_one_in_force_on_the_day_or_the_nearest_earlier():
    assert RATES.per_eur("USD", date(2026, 1, 2)) == Decimal("1.25")
    assert RATES.per_eur("USD", date(2026, 3, 1)) == Decimal("1.25")
    assert RATES.per_eur("USD", date(2026, 3, 2)) == Decimal("1.10")
    assert RATES.per_eur("usd", date(2030, 1, 1)) == Decimal("1.10")
    assert RATES.per_eur("EUR", date(1990, 1, 1)) == 1


def test_no_rate_before_the_first_row_or_for_an_unknown_currency_is_an_error():
    with pytest.raises(RateMissing):
        RATES.per_eur("USD", date(2026, 1, 1))
    with pytest.raises(RateMissing):
        RATES.per_eur("XAF", date(2026, 6, 1))


def test_conversion_goes_through_the_euro_and_respects_minor_units():
    # $125.00 at 1.25 USD/EUR is EUR 100.00
    assert RATES.convert_minor(12500, "USD", "EUR", date(2026, 2, 1)) == 10000
    # EUR 100.00 is JPY 16000 (JPY has no minor unit)
    assert RATES.convert_minor(10000, "EUR", "JPY", date(2026, 2, 1)) == 16000
    # JPY 16000 -> GBP: 100 EUR -> 80.00 GBP
    assert RATES.convert_minor(16000, "JPY", "GBP", date(2026, 2, 1)) == 8000
    assert RATES.convert_minor(999, "USD", "USD", date(2000, 1, 1)) == 999


def test_conversion_rounds_once_half_to_even():
    table = RateTable([Rate("USD", date(2026, 1, 1), Decimal("2"))])
    assert table.convert_minor(1, "USD", "EUR", date(2026, 1, 1)) == 0  # 0.5 -> 0
    assert table.convert_minor(3, "USD", "EUR", date(2026, 1, 1)) == 2  # 1.5 -> 2


def test_a_non_positive_rate_is_refused():
    with pytest.raises(ValueError):
        RateTable([Rate("USD", date(2026, 1, 1), Decimal("0"))])


def test_the_ecb_history_file_is_read_with_its_gaps():
    text = "Date,USD,JPY,CYP,\n2026-01-05,1.1713,183.5,N/A,\n2026-01-02,1.1708,184.02,N/A,\n"
    rates = parse_ecb_csv(text)
    assert Rate("USD", date(2026, 1, 5), Decimal("1.1713")) in rates
    assert Rate("JPY", date(2026, 1, 2), Decimal("184.02")) in rates
    assert {r.currency for r in rates} == {"USD", "JPY"}
    with pytest.raises(RateFileError):
        parse_ecb_csv("Day,USD\n2026-01-01,1.1\n")
    with pytest.raises(RateFileError):
        parse_ecb_csv("Date,USD\n2026-01-01,abc\n")


def _monthly(total, day, currency="USD"):
    return SpendInvoice(total, currency, day)


def test_billing_cycles_come_from_the_stated_period():
    def cycle(start, end):
        return cycle_months(SpendInvoice(100, "EUR", start, start, end))

    assert cycle(date(2026, 2, 1), date(2026, 2, 28)) == 1
    assert cycle(date(2026, 1, 1), date(2026, 3, 31)) == 3
    assert cycle(date(2026, 1, 15), date(2027, 1, 14)) == 12
    assert cycle(date(2026, 1, 1), date(2027, 12, 31)) == 24
    assert cycle_months(_monthly(100, date(2026, 1, 1))) == 1


def test_annualizing_scales_by_the_cycle():
    annual = SpendInvoice(120000, "EUR", date(2026, 1, 15), date(2026, 1, 15), date(2027, 1, 14))
    quarterly = SpendInvoice(3000, "EUR", date(2026, 1, 1), date(2026, 1, 1), date(2026, 3, 31))
    assert annualize_minor(annual) == 120000
    assert annualize_minor(quarterly) == 12000
    assert annualize_minor(_monthly(1999, date(2026, 1, 1))) == 23988


def test_monthly_spend_groups_by_month_and_currency_and_converts_each_invoice_on_its_date():
    invoices = [
        _monthly(12500, date(2026, 2, 10)),  # 100.00 EUR at 1.25
        _monthly(11000, date(2026, 3, 5)),  # 100.00 EUR at 1.10
        _monthly(2200, date(2026, 3, 20)),  # 20.00 EUR at 1.10
        _monthly(5000, date(2026, 3, 9), "EUR"),
    ]
    rows = monthly_spend(invoices, "EUR", RATES)
    summary = [(r.month, r.currency, r.amount_minor, r.org_amount_minor, r.invoices) for r in rows]
    assert summary == [
        (date(2026, 2, 1), "USD", 12500, 10000, 1),
        (date(2026, 3, 1), "EUR", 5000, 5000, 1),
        (date(2026, 3, 1), "USD", 13200, 12000, 2),
    ]


def test_the_org_amount_is_unknown_rather_than_wrong_when_a_rate_is_missing():
    rows = monthly_spend([_monthly(100, date(2025, 12, 1))], "EUR", RATES)
    assert rows[0].amount_minor == 100 and rows[0].org_amount_minor is None


def test_annualized_is_the_run_rate_of_what_is_in_force_on_the_latest_invoice():
    annual = SpendInvoice(120000, "USD", date(2026, 1, 15), date(2026, 1, 15), date(2027, 1, 14))
    may = _monthly(2000, date(2026, 5, 3))
    june = _monthly(2500, date(2026, 6, 3))
    [row] = annualized_spend([annual, may, june], "EUR", RATES)
    assert row.as_of == date(2026, 6, 3)
    assert row.invoices == 2  # May's month has ended
    assert row.annualized_minor == 120000 + 2500 * 12
    assert row.org_annualized_minor == round(120000 / 1.25) + round(30000 / 1.10)


def test_an_annual_invoice_alone_is_its_own_annual_spend():
    annual = SpendInvoice(99900, "EUR", date(2026, 4, 1), date(2026, 4, 1), date(2027, 3, 31))
    [row] = annualized_spend([annual], "EUR", RATES)
    assert (row.annualized_minor, row.org_annualized_minor) == (99900, 99900)
    assert annualized_spend([], "EUR", RATES) == []


def test_add_months_clamps_to_the_end_of_the_month():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert add_months(date(2026, 12, 15), 1) == date(2027, 1, 15)


def test_the_ecb_one_day_file_with_its_spelled_out_date_is_read():
    rates = parse_ecb_csv("Date, USD, JPY, \n04 December 2026, 1.0541, 163.22, \n")
    assert rates == [
        Rate("USD", date(2026, 12, 4), Decimal("1.0541")),
        Rate("JPY", date(2026, 12, 4), Decimal("163.22")),
    ]
