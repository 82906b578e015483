"""Subject and sender reduction before anything is stored or published."""

from __future__ import annotations

import pytest

from services.email_scan.minimize import MAX_SUBJECT_CHARS, minimize_subject, sender_address


def test_an_ordinary_subject_is_kept_as_is():
    subject = "Your receipt from Figma #1234-5678 — $45.00"
    assert minimize_subject(subject) == subject


def test_email_addresses_in_a_subject_are_replaced():
    assert minimize_subject("Welcome to Slack, ana.lopez+x@contoso.com!") == \
        "Welcome to Slack, [email]!"


def test_controls_are_removed_and_whitespace_collapsed():
    assert minimize_subject("Invoice\r\n  INV-1\t is\u200b ready\u202e") == "Invoice INV-1 is ready"


def test_long_subjects_are_cut():
    reduced = minimize_subject("Invoice " + "x" * 500)
    assert len(reduced) == MAX_SUBJECT_CHARS
    assert reduced.endswith("…")


def test_missing_subject_becomes_empty_and_non_text_is_refused():
    assert minimize_subject(None) == ""
    with pytest.raises(TypeError):
        minimize_subject(42)  # type: ignore[arg-type]


def test_sender_address_keeps_only_the_lower_cased_address():
    address = " Receipts+acct_1@Stripe.com"
    message = {"from": {"emailAddress": {"name": "Figma", "address": address}}}
    assert sender_address(message) == "receipts+acct_1@stripe.com"


@pytest.mark.parametrize("message", [{}, {"from": None}, {"from": {"emailAddress": "x"}},
                                     {"from": {"emailAddress": {"address": 7}}}])
def test_sender_address_of_a_message_without_one_is_empty(message):
    assert sender_address(message) == ""
