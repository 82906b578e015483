"""Which invoice facts are kept when subject and document disagree, and how a message's
attachments are read (Microsoft's side replaced by small stand-ins)."""

from __future__ import annotations

from datetime import date

import pytest
from fpdf import FPDF

from services.invoice_parse.attachments import GraphAttachments
from services.invoice_parse.documents import (
    AttachmentMeta,
    AttachmentsUnavailable,
    read_invoice_document,
)
from services.invoice_parse.extraction import DEFAULT_LIMITS, InvoiceFields, InvoiceRejected
from services.invoice_parse.extraction import SubjectFacts as Subject
from services.invoice_parse.extraction.subject import subject_without_vendor
from services.invoice_parse.facts import merge_facts
from shared.graph import AttachmentTooLarge, GraphForbidden, GraphNotFound, GraphUnavailable

ARRIVED = date(2026, 10, 5)
DOCUMENT = InvoiceFields(
    vendor="slack",
    total_minor=12000,
    currency="USD",
    invoice_date=date(2026, 10, 5),
    invoice_number="SL-42",
    period_start=date(2026, 10, 5),
    period_end=date(2026, 11, 4),
    tax_minor=2000,
)


def test_the_document_wins_over_the_subject():
    facts = merge_facts(Subject(9900, "EUR", "RCPT-1"), DOCUMENT, ARRIVED)
    assert (
        facts.total_minor,
        facts.currency,
        facts.invoice_number,
        facts.tax_minor,
        facts.source,
    ) == (12000, "USD", "SL-42", 2000, "attachment")
    assert (facts.invoice_date, facts.period_start, facts.period_end) == (
        date(2026, 10, 5),
        date(2026, 10, 5),
        date(2026, 11, 4),
    )


def test_the_subject_fills_what_the_document_lacks_and_tax_stays_with_its_total():
    facts = merge_facts(
        Subject(9900, "EUR", "RCPT-1"),
        InvoiceFields(tax_minor=500, invoice_date=date(2026, 10, 2)),
        ARRIVED,
    )
    assert (facts.total_minor, facts.currency, facts.invoice_number, facts.source) == (
        9900,
        "EUR",
        "RCPT-1",
        "subject",
    )
    assert facts.tax_minor is None  # 5.00 tax beside someone else's total
    assert facts.invoice_date == date(2026, 10, 2)


def test_without_a_total_the_number_says_where_the_facts_came_from():
    assert merge_facts(Subject(), InvoiceFields(invoice_number="A-1"), ARRIVED).source \
        == "attachment"
    assert merge_facts(Subject(invoice_number="B-2"), None, ARRIVED).source == "subject"
    nothing = merge_facts(Subject(), None, ARRIVED)
    assert not nothing.has_substance and nothing.total_minor is None


def test_a_backwards_period_is_dropped_rather_than_trusted():
    facts = merge_facts(
        Subject(),
        InvoiceFields(
            total_minor=1,
            currency="EUR",
            period_start=date(2026, 5, 1),
            period_end=date(2026, 4, 1),
        ),
        ARRIVED,
    )
    assert (facts.period_start, facts.period_end) == (None, None)


def test_the_vendor_name_is_taken_out_of_the_subject():
    assert (
        subject_without_vendor("Votre facture Dropbox INV-2026-07979", ("Dropbox",))
        == "Votre facture INV-2026-07979"
    )
    assert (
        subject_without_vendor("Your 1password receipt #1234", ("1Password", "1P"))
        == "Your receipt #1234"
    )
    # Only whole words: a vendor named "Box" leaves "Dropbox" alone.
    assert subject_without_vendor("Dropbox invoice", ("Box",)) == "Dropbox invoice"


# --- reading a message's documents ----------------------------------------------------------
def _pdf(number: str, total: str) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", "", 11)
    for line in (
        "Invoice",
        f"Invoice number: {number}",
        "Invoice date: 2026-10-05",
        f"Total USD {total}",
    ):
        pdf.cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


class Mailbox:
    def __init__(self, *attachments: tuple[AttachmentMeta, bytes], fail=None):
        self.attachments = list(attachments)
        self.fail = fail
        self.downloaded: list[str] = []

    def list_attachments(self, user_id, message_id):
        if self.fail:
            raise self.fail
        return [meta for meta, _ in self.attachments]

    def download(self, user_id, message_id, attachment_id, max_bytes):
        self.downloaded.append(attachment_id)
        return dict((m.id, b) for m, b in self.attachments)[attachment_id]


def _read(mailbox):
    return read_invoice_document(
        mailbox, "user", "message", vendor_hint="slack", limits=DEFAULT_LIMITS
    )


def test_only_pdfs_are_read_and_the_first_with_facts_counts():
    terms = _pdf("", "")
    mailbox = Mailbox(
        (AttachmentMeta("logo", "logo.png", "image/png", 10), b"\x89PNG"),
        (AttachmentMeta("terms", "terms.pdf", "application/pdf", len(terms)), terms),
        (
            AttachmentMeta("inv", "Invoice.PDF", "application/octet-stream", 900),
            _pdf("SL-7", "12.00"),
        ),
    )
    reading = _read(mailbox)
    assert reading.status == "parsed" and reading.fields.invoice_number == "SL-7"
    assert reading.fields.total_minor == 1200
    assert mailbox.downloaded == ["terms", "inv"]


def test_why_there_is_no_document_is_kept():
    assert (
        _read(
            Mailbox(
                (AttachmentMeta("a", "a.png", "image/png", 1), b""),
            )
        ).reason
        == "no_pdf"
    )
    gone = _read(Mailbox(fail=AttachmentsUnavailable("message_gone")))
    assert (gone.status, gone.reason) == ("skipped", "message_gone")
    big = Mailbox(
        (AttachmentMeta("x", "x.pdf", "application/pdf", 10**9), b""),
    )
    assert (_read(big).status, _read(big).reason) == ("rejected", "too_large")
    assert big.downloaded == []  # refused from the listing alone
    broken = _read(
        Mailbox(
            (AttachmentMeta("b", "b.pdf", "application/pdf", 9), b"not a pdf"),
        )
    )
    assert (broken.status, broken.reason) == ("rejected", "not_pdf")


# --- Graph's answers, sorted -----------------------------------------------------------------
class Graph:
    def __init__(self, listing=None, error=None):
        self.listing, self.error = listing or [], error

    def attachments(self, user_id, message_id):
        if self.error:
            raise self.error
        return self.listing

    def attachment_bytes(self, user_id, message_id, attachment_id, max_bytes):
        raise self.error


def test_graph_listings_keep_file_attachments_only():
    listing = [
        {
            "@odata.type": "#microsoft.graph.fileAttachment",
            "id": "1",
            "name": "i.pdf",
            "contentType": "application/pdf",
            "size": 1234,
        },
        {
            "@odata.type": "#microsoft.graph.itemAttachment",
            "id": "2",
            "name": "fwd",
            "contentType": None,
            "size": 99,
        },
        {
            "@odata.type": "#microsoft.graph.fileAttachment",
            "id": "3",
            "name": "sig.png",
            "contentType": "image/png",
            "size": 5,
            "isInline": True,
        },
        {"id": "4", "name": "nosize.pdf", "contentType": "application/pdf"},
    ]
    metas = GraphAttachments(Graph(listing)).list_attachments("u", "m")
    assert [(m.id, m.size) for m in metas] == [("1", 1234), ("4", 2**62)]


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (GraphNotFound("gone", status=404), "message_gone"),
        (GraphForbidden("no", status=403), "forbidden"),
    ],
)
def test_answers_that_retrying_cannot_fix_become_reasons(error, reason):
    with pytest.raises(AttachmentsUnavailable) as caught:
        GraphAttachments(Graph(error=error)).list_attachments("u", "m")
    assert caught.value.reason == reason


def test_transient_failures_are_raised_for_a_retry_and_oversize_is_a_rejection():
    with pytest.raises(GraphUnavailable):
        GraphAttachments(Graph(error=GraphUnavailable("503"))).list_attachments("u", "m")
    with pytest.raises(InvoiceRejected) as caught:
        GraphAttachments(Graph(error=AttachmentTooLarge("big"))).download("u", "m", "a", 10)
    assert caught.value.reason == "too_large"
