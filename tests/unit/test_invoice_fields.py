"""The field finder on invoice texts in every language we promise, laid out the way SaaS
vendors and billing platforms lay them out (written for these tests, no real customer
data). Each text also carries look-alikes the finder must not take: subtotals, due dates,
VAT numbers, order numbers."""

from __future__ import annotations

from datetime import date

import pytest

from services.invoice_parse.extraction import extract_from_text

STRIPE_INVOICE = """
Invoice
Invoice number          ABCD1234-0002
Date of issue           March 3, 2024
Date due                March 17, 2024

Acme Design, Inc.                         Bill to
                                          Example GmbH
$119.00 USD due March 17, 2024

Description                      Qty      Unit price        Amount
Professional plan
Mar 3 – Apr 3, 2024              1        $100.00           $100.00

                                 Subtotal                   $100.00
                                 Total excluding tax        $100.00
                                 VAT - Germany (19% on $100.00)  $19.00
                                 Total                      $119.00
                                 Amount due                 $119.00 USD
"""

STRIPE_RECEIPT = """
Receipt from Figma, Inc.
Receipt #2041-9921

Amount paid              Date paid                 Payment method
$20.00                   Apr 3, 2024               Visa - 4242

Summary
Professional seat  x 1                              $20.00
Amount charged                                      $20.00
"""

GOOGLE_WORKSPACE = """
Google Cloud EMEA Limited
Invoice
Invoice number: 4820012345
Invoice date                Nov 30, 2026
Billing ID: 1234-5678-9012
Domain name: example.com
Summary for Nov 1, 2026 - Nov 30, 2026
Subtotal in EUR                       € 100.00
VAT (19%)                             € 19.00
Total in EUR                          € 119.00
VAT number: IE 6388047V
"""

AWS_EMEA = """
Amazon Web Services EMEA SARL                      Invoice
Account number:          Invoice Number:   EUINDE26-1234567
123456789012             Invoice Date:     December 2 , 2026
                         TOTAL AMOUNT DUE ON December 2 , 2026        EUR 119.00
This invoice is for the billing period November 1 - November 30 , 2026
Net Charges (After Credits/Discounts, excl. Tax)    EUR 100.00
VAT 19%                                              EUR 19.00
Total for this invoice                               EUR 119.00
"""

ATLASSIAN = """
Invoice
Invoice number: IN-012-345-678
Invoice date: Mar 3, 2024
Billing period: Mar 3, 2024 - Apr 2, 2024
Subtotal (excl. tax)             USD 1,000.00
Tax (0%)                         USD 0.00
Total (incl. tax)                USD 1,000.00
Amount paid                      USD 1,000.00
Amount due                       USD 0.00
"""

MICROSOFT_US = """
Microsoft Corporation
Invoice number G012345678      Invoice date 12/1/2026
Billing period 11/1/2026 - 11/30/2026
Order number 9988776655
Charges                                   $100.00
Sales tax                                 $8.25
Total amount                              $108.25
"""

DANISH = """
Faktura nr. 2024-0117                    Fakturadato: 3. marts 2024
Forfaldsdato: 17. marts 2024             CVR-nr. 12345678
Periode: 1. marts 2024 - 31. marts 2024
Abonnement Team                           1.000,00 kr.
Subtotal                                  1.000,00 kr.
Moms (25%)                                250,00 kr.
I alt                                     1.250,00 kr.
"""

SWEDISH = """
Faktura
Fakturanummer 88123            Fakturadatum 2024-03-03
Förfallodatum 2024-04-02       Momsreg.nr SE556677889901
Delsumma                        1 000,00 kr
Moms 25%                        250,00 kr
Att betala                      1 250,00 kr
"""

GERMAN = """
Rechnung
Rechnungsnummer: RE-2024-001          Rechnungsdatum: 03.03.2024
Leistungszeitraum: 01.02.2024 - 29.02.2024
USt-IdNr.: DE123456789
Zwischensumme                               100,00 €
MwSt. 19 %                                   19,00 €
Gesamtbetrag                                119,00 €
"""

FRENCH = """
Facture N° FA-2024-001
Date de facture : 03/03/2024      Date d'échéance : 02/04/2024
N° TVA intracommunautaire : FR12345678901
Total HT                      100,00 €
TVA 20 %                       20,00 €
Total TTC                     120,00 €
"""

DUTCH = """
Factuurnummer: 2024-00981
Factuurdatum: 3 maart 2024      Vervaldatum: 17 maart 2024
BTW-nummer: NL123456789B01
Subtotaal                      € 100,00
BTW 21%                        € 21,00
Totaal                         € 121,00
"""

SPANISH = """
Número de factura: F-2024-001
Fecha de factura: 3 de marzo de 2024
Fecha de vencimiento: 2 de abril de 2024
NIF: B12345678
Base imponible                  100,00 €
IVA (21%)                        21,00 €
Total a pagar                   121,00 €
"""

SWISS = """
Rechnung Nr. 2024-55
Datum: 15.01.2024
Zwischensumme               CHF 1'150.00
MWST 8.1%                   CHF 93.15
Total                       CHF 1'243.15
"""

ZOOM = """
zoom
Invoice
Invoice Number:  INV259123456
Invoice Date:    Mar 03, 2024
Account Number:  12345678
Description                  Period                     Quantity   Amount
Zoom Workplace Pro Monthly   Mar 03, 2024-Apr 02, 2024  1          $15.99
Subtotal                                                            $15.99
Tax                                                                 $1.42
Total                                                               $17.41
Amount Paid                                                         $17.41
Balance Due                                                         $0.00
"""

MICROSOFT_EU = """
Invoice
Microsoft Ireland Operations Ltd
Billing Period     11/1/2026 - 11/30/2026
Invoice Date       12/1/2026
Invoice Number     E0600ABCDE
Document Type      Invoice
Charges            EUR 100.00
Credits            EUR 0.00
Tax                EUR 23.00
Total Amount       EUR 123.00
"""

SLACK = """
Slack Technologies Limited
Invoice #SBIE-1234567
Issued: March 3, 2024
Due: March 3, 2024
Pro plan, 10 members, Mar 3 – Apr 2, 2024     €67.50
VAT (23%)                                     €15.53
Total                                         €83.03
Paid                                          €83.03
"""

GITHUB_RECEIPT = """
GitHub, Inc.
Receipt
Date                 2024-03-01
Account billed       acme-org
Transaction ID       ch_3Oabc123
Item                                   Amount
GitHub Team (5 seats)                  $20.00
Total                                  $20.00 USD
"""

GOOGLE_DANISH = """
Google Cloud EMEA Limited
Faktura
Fakturanummer: 5123456789
Fakturadato: 30. nov. 2026
Oversigt for 1. nov. 2026 - 30. nov. 2026
Subtotal i DKK           kr. 1.000,00
Moms (25 %)              kr. 250,00
Total i DKK              kr. 1.250,00
"""

SWEDISH_RECEIPT = """
Kvitto från Acme AB
Kvittonummer 2041-9921
Betalt belopp     Betalningsdatum     Betalningsmetod
1 250,00 kr       3 mars 2024         Visa - 4242
Moms 25%          250,00 kr
"""

CASES = [
    # text, total minor, currency, date, number, tax minor, period
    (
        STRIPE_INVOICE,
        11900,
        "USD",
        date(2024, 3, 3),
        "ABCD1234-0002",
        1900,
        (date(2024, 3, 3), date(2024, 4, 3)),
    ),
    (STRIPE_RECEIPT, 2000, "USD", date(2024, 4, 3), "2041-9921", None, None),
    (
        GOOGLE_WORKSPACE,
        11900,
        "EUR",
        date(2026, 11, 30),
        "4820012345",
        1900,
        (date(2026, 11, 1), date(2026, 11, 30)),
    ),
    (
        AWS_EMEA,
        11900,
        "EUR",
        date(2026, 12, 2),
        "EUINDE26-1234567",
        1900,
        (date(2026, 11, 1), date(2026, 11, 30)),
    ),
    (
        ATLASSIAN,
        100000,
        "USD",
        date(2024, 3, 3),
        "IN-012-345-678",
        0,
        (date(2024, 3, 3), date(2024, 4, 2)),
    ),
    (
        MICROSOFT_US,
        10825,
        "USD",
        date(2026, 12, 1),
        "G012345678",
        825,
        (date(2026, 11, 1), date(2026, 11, 30)),
    ),
    (
        DANISH,
        125000,
        "DKK",
        date(2024, 3, 3),
        "2024-0117",
        25000,
        (date(2024, 3, 1), date(2024, 3, 31)),
    ),
    (SWEDISH, 125000, "SEK", date(2024, 3, 3), "88123", 25000, None),
    (
        GERMAN,
        11900,
        "EUR",
        date(2024, 3, 3),
        "RE-2024-001",
        1900,
        (date(2024, 2, 1), date(2024, 2, 29)),
    ),
    (FRENCH, 12000, "EUR", date(2024, 3, 3), "FA-2024-001", 2000, None),
    (DUTCH, 12100, "EUR", date(2024, 3, 3), "2024-00981", 2100, None),
    (SPANISH, 12100, "EUR", date(2024, 3, 3), "F-2024-001", 2100, None),
    (SWISS, 124315, "CHF", date(2024, 1, 15), "2024-55", 9315, None),
    (
        ZOOM,
        1741,
        "USD",
        date(2024, 3, 3),
        "INV259123456",
        142,
        (date(2024, 3, 3), date(2024, 4, 2)),
    ),
    (
        MICROSOFT_EU,
        12300,
        "EUR",
        date(2026, 12, 1),
        "E0600ABCDE",
        2300,
        (date(2026, 11, 1), date(2026, 11, 30)),
    ),
    (
        SLACK,
        8303,
        "EUR",
        date(2024, 3, 3),
        "SBIE-1234567",
        1553,
        (date(2024, 3, 3), date(2024, 4, 2)),
    ),
    (GITHUB_RECEIPT, 2000, "USD", date(2024, 3, 1), None, None, None),
    (
        GOOGLE_DANISH,
        125000,
        "DKK",
        date(2026, 11, 30),
        "5123456789",
        25000,
        (date(2026, 11, 1), date(2026, 11, 30)),
    ),
    (SWEDISH_RECEIPT, 125000, "SEK", date(2024, 3, 3), "2041-9921", 25000, None),
]
IDS = [
    "stripe-invoice",
    "stripe-receipt",
    "google",
    "aws",
    "atlassian",
    "microsoft",
    "da",
    "sv",
    "de",
    "fr",
    "nl",
    "es",
    "ch",
    "zoom",
    "microsoft-eu",
    "slack",
    "github",
    "google-da",
    "sv-receipt",
]


@pytest.mark.parametrize(
    ("text", "total", "currency", "day", "number", "tax", "period"), CASES, ids=IDS
)
def test_fields_found_in_each_layout_and_language(text, total, currency, day, number, tax, period):
    fields = extract_from_text(text)
    assert (fields.total_minor, fields.currency) == (total, currency)
    assert fields.invoice_date == day
    assert fields.invoice_number == number
    assert fields.tax_minor == tax
    found_period = (fields.period_start, fields.period_end) if fields.period_start else None
    assert found_period == period


def test_empty_text_finds_nothing():
    fields = extract_from_text("")
    assert fields.to_json_dict() == dict.fromkeys(fields.to_json_dict())


def test_json_shape_uses_decimal_strings_and_iso_dates():
    shape = extract_from_text(GERMAN).to_json_dict()
    assert shape["total"] == "119.00" and shape["tax"] == "19.00"
    assert shape["invoice_date"] == "2024-03-03"
    assert (shape["period_start"], shape["period_end"]) == ("2024-02-01", "2024-02-29")


def test_three_decimal_and_zero_decimal_currencies_keep_their_minor_units():
    kwd = extract_from_text("Invoice no. 7781\nDate: 2024-05-01\nTotal due   KWD 1.250")
    assert (kwd.total_minor, kwd.currency) == (1250, "KWD")
    assert kwd.to_json_dict()["total"] == "1.250"
    jpy = extract_from_text("Invoice no. 7782\nDate: 2024-05-01\nTotal due   ¥12,800")
    assert (jpy.total_minor, jpy.currency, jpy.to_json_dict()["total"]) == (12800, "JPY", "12800")


def test_number_on_its_own_line_after_a_bare_title():
    fields = extract_from_text("INVOICE\n#A-1002\nDate: 2024-01-02\nTotal  $5.00")
    assert fields.invoice_number == "A-1002"
    assert (fields.total_minor, fields.invoice_date) == (500, date(2024, 1, 2))
