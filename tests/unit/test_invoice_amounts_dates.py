"""Money and date reading: every separator convention and language we promise."""

from __future__ import annotations

from datetime import date

import pytest

from services.invoice_parse.extraction import AmountError, Money, parse_amount, parse_date
from services.invoice_parse.extraction.amounts import format_minor
from services.invoice_parse.extraction.subject import parse_subject


@pytest.mark.parametrize(
    ("written", "minor", "currency"),
    [
        ("$1,234.56", 123456, "USD"),
        ("1.234,56 €", 123456, "EUR"),
        ("kr 1.234,56", 123456, None),  # which krone depends on the language: unknown here
        ("1 234,56 €", 123456, "EUR"),
        ("1\u00a0234,56\u00a0€", 123456, "EUR"),
        ("USD 80.00", 8000, "USD"),
        ("CHF 1'234.50", 123450, "CHF"),
        ("€ 4.053,67", 405367, "EUR"),
        ("29.99 € TTC", 2999, "EUR"),
        ("£12", 1200, "GBP"),
        ("KWD 1.234", 1234, "KWD"),
        ("JPY 1,234", 1234, "JPY"),
        ("¥1,234", 1234, "JPY"),
        ("$120.00 CAD", 12000, "CAD"),
        ("A$99.95", 9995, "AUD"),
        ("Rs 1939", 193900, "INR"),
        ("€ -9,32", -932, "EUR"),
        ("-$5.00", -500, "USD"),
        ("-9,32 €", -932, "EUR"),
        ("1,234 USD", 123400, "USD"),
        ("0,5 €", 50, "EUR"),
    ],
)
def test_amounts_read_into_minor_units(written, minor, currency):
    assert parse_amount(written) == Money(minor=minor, currency=currency)


def test_krone_follows_the_language():
    assert parse_amount("kr 1.234,56", language="da") == Money(123456, "DKK")
    assert parse_amount("1 234,56 kr", language="sv") == Money(123456, "SEK")


def test_caller_currency_applies_when_text_has_none():
    assert parse_amount("1.234,50", currency="EUR") == Money(123450, "EUR")


@pytest.mark.parametrize("written", ["15%", "abc", "12", "1.23.45", "2024-01-31", "$1 and $2"])
def test_non_amounts_are_refused(written):
    with pytest.raises(AmountError):
        parse_amount(written)


def test_minor_units_format_with_the_currency_exponent():
    assert format_minor(11900, "EUR") == "119.00"
    assert format_minor(1250, "KWD") == "1.250"
    assert format_minor(12800, "JPY") == "12800"
    assert format_minor(-932, "EUR") == "-9.32"


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2024-03-05", date(2024, 3, 5)),
        ("05.03.2024", date(2024, 3, 5)),
        ("5/3/24", date(2024, 3, 5)),
        ("31/12/2017", date(2017, 12, 31)),
        ("03/20/2023", date(2023, 3, 20)),  # only month-first makes sense
        ("March 5, 2024", date(2024, 3, 5)),
        ("August 3 , 2014", date(2014, 8, 3)),
        ("5 Mar 2024", date(2024, 3, 5)),
        ("5. März 2024", date(2024, 3, 5)),  # de
        ("5 mars 2024", date(2024, 3, 5)),  # fr / sv
        ("1er février 2024", date(2024, 2, 1)),  # fr
        ("5 maart 2024", date(2024, 3, 5)),  # nl
        ("5 de marzo de 2024", date(2024, 3, 5)),  # es
        ("5. marts 2024", date(2024, 3, 5)),  # da
        ("den 5 maj 2024", date(2024, 5, 5)),  # sv
        ("19 april 2014", date(2014, 4, 19)),
        ("02 Juillet 2015", date(2015, 7, 2)),
        ("15 décembre 2023", date(2023, 12, 15)),
        ("1 okt. 2024", date(2024, 10, 1)),
    ],
)
def test_dates_in_every_language(written, expected):
    assert parse_date(written) == expected


def test_ambiguous_numeric_dates_follow_the_callers_convention():
    assert parse_date("04/05/2024") == date(2024, 5, 4)
    assert parse_date("04/05/2024", month_first=True) == date(2024, 4, 5)


@pytest.mark.parametrize("written", ["31/02/2024", "2024-13-01", "Total 12.50", "no date"])
def test_impossible_dates_are_refused(written):
    with pytest.raises(ValueError):
        parse_date(written)


@pytest.mark.parametrize(
    ("subject", "total", "currency", "number"),
    [
        ("Your receipt from Figma #1234-5678", None, None, "1234-5678"),
        ("Your receipt from OpenAI #2041-9921 - $20.00", 2000, "USD", "2041-9921"),
        ("Your Microsoft invoice G012345678 is ready", None, None, "G012345678"),
        ("Your payment has been processed for the invoice IN-12345", None, None, "IN-12345"),
        (
            "Amazon Web Services Billing Statement Available [Account: 123456789012]",
            None,
            None,
            None,
        ),
        ("[GitHub] Payment Receipt for acme-org", None, None, None),
        ("Rechnung RE-2024-001 über 119,00 €", 11900, "EUR", "RE-2024-001"),
        ("Votre facture n° F2024-11 de 49,99 € est disponible", 4999, "EUR", "F2024-11"),
        ("Factuur 2024-0012: € 717,97", 71797, "EUR", "2024-0012"),
        ("Din faktura nr. 5512 – kr 1.234,56", 123456, "DKK", "5512"),
        ("Kvitto från Acme: 119 kr", 11900, "SEK", None),
        ("Votre reçu de Figma n° 1234-5678", None, None, "1234-5678"),
        ("Ihre Quittung von Figma #1234-5678", None, None, "1234-5678"),
        ("Su factura de marzo: 121,00 €", 12100, "EUR", None),
        ("", None, None, None),
    ],
)
def test_subject_facts(subject, total, currency, number):
    facts = parse_subject(subject)
    assert (facts.total_minor, facts.currency, facts.invoice_number) == (total, currency, number)
