"""Deterministic PDF invoices (fpdf2): three layouts, seven languages, local number formats.

Same facts, same bytes: the creation date is pinned to the invoice date and core fonts are
used (cp1252 covers €, £ and the Nordic letters), so no system font changes the output."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from fpdf import FPDF

from tests.m365sim.mail_text import INVOICE_WORDS, format_date, format_money


@dataclass(frozen=True)
class InvoiceFacts:
    vendor_name: str
    vendor_address: str
    customer_name: str
    customer_address: str
    invoice_number: str
    invoice_date: date
    period_start: date
    period_end: date
    currency: str
    description: str
    quantity: int
    unit_minor: int
    subtotal_minor: int
    tax_rate_percent: int
    tax_minor: int
    total_minor: int
    language: str
    layout: int  # 0: classic table, 1: key/value block, 2: compact receipt


def _pdf(facts: InvoiceFacts) -> FPDF:
    pdf = FPDF(format="A4")
    pdf.core_fonts_encoding = "windows-1252"
    pdf.set_creation_date(datetime.combine(facts.invoice_date, datetime.min.time(), tzinfo=UTC))
    pdf.set_title(f"{facts.vendor_name} {facts.invoice_number}")
    pdf.set_author(facts.vendor_name)
    pdf.set_producer("m365sim invoice generator")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    return pdf


def _row(pdf: FPDF, label: str, value: str, width: int = 60) -> None:
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(width, 6, label)
    pdf.set_font("Helvetica", "", 10)
    pdf.cell(0, 6, value, new_x="LMARGIN", new_y="NEXT")


def render_invoice(facts: InvoiceFacts) -> bytes:
    words = INVOICE_WORDS[facts.language]
    money = lambda minor: format_money(minor, facts.currency, facts.language)  # noqa: E731
    day = lambda d: format_date(d, facts.language)  # noqa: E731
    pdf = _pdf(facts)
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 10, facts.vendor_name, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    pdf.multi_cell(0, 5, facts.vendor_address, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 14)
    title = words["invoice"] if facts.layout != 2 else f"{words['invoice']} / {words['paid']}"
    pdf.cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
    period = f"{day(facts.period_start)} - {day(facts.period_end)}"
    if facts.layout == 1:
        _row(pdf, words["bill_to"], facts.customer_name)
        _row(pdf, words["number"], facts.invoice_number)
        _row(pdf, words["date"], day(facts.invoice_date))
        _row(pdf, words["period"], period)
        pdf.ln(3)
        _row(pdf, f"{facts.description} ({facts.quantity} {words['seats']})",
             money(facts.subtotal_minor), width=110)
    else:
        pdf.set_font("Helvetica", "", 10)
        pdf.cell(0, 6, f"{words['number']}: {facts.invoice_number}", new_x="LMARGIN",
                 new_y="NEXT")
        pdf.cell(0, 6, f"{words['date']}: {day(facts.invoice_date)}", new_x="LMARGIN",
                 new_y="NEXT")
        pdf.cell(0, 6, f"{words['period']}: {period}", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
        pdf.cell(0, 6, f"{words['bill_to']}: {facts.customer_name}, {facts.customer_address}",
                 new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
        widths = (85, 20, 40, 40)
        pdf.set_font("Helvetica", "B", 10)
        for width, header in zip(widths, ("description", "qty", "unit", "amount"), strict=True):
            pdf.cell(width, 7, words[header], border="B")
        pdf.ln()
        pdf.set_font("Helvetica", "", 10)
        cells = (facts.description, str(facts.quantity), money(facts.unit_minor),
                 money(facts.subtotal_minor))
        for width, text in zip(widths, cells, strict=True):
            pdf.cell(width, 7, text)
        pdf.ln(10)
    pdf.set_x(100)
    _row(pdf, words["subtotal"], money(facts.subtotal_minor), width=50)
    pdf.set_x(100)
    _row(pdf, f"{words['tax']} {facts.tax_rate_percent}%", money(facts.tax_minor), width=50)
    pdf.set_x(100)
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(50, 8, words["total"])
    pdf.cell(0, 8, money(facts.total_minor), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
