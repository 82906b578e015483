"""scan_mailbox: one query per filter, metadata fields only, only billing/sign-up mail kept.

The mailbox reader is faked: it is the outer edge (Microsoft Graph)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.email_scan.classify import Classifier
from services.email_scan.scan import MESSAGE_FIELDS, scan_mailbox
from shared.catalog import load_catalog

MAILBOX = "0b8f2a8e-5f2c-4c6e-9a53-2f1f0a9c1d11"


@pytest.fixture(scope="module")
def classifier():
    return Classifier(load_catalog())


class RecordingMailbox:
    """Answers each filter with its own list of messages and records every call."""

    def __init__(self, answers: dict[str, list]):
        self.answers = answers
        self.calls: list[tuple[str, str, tuple]] = []

    def messages_matching(self, user_id, filters, fields):
        for graph_filter in filters:
            self.calls.append((user_id, graph_filter, tuple(fields)))
            yield from self.answers.get(graph_filter, [])


def message(mid, sender, subject, when="2026-03-02T10:00:00Z", attachments=False):
    return {"id": mid, "subject": subject, "receivedDateTime": when,
            "hasAttachments": attachments,
            "from": {"emailAddress": {"name": "Sender Name", "address": sender}}}


def test_each_filter_is_one_query_for_metadata_fields_only(classifier):
    mailbox = RecordingMailbox({})
    outcome = scan_mailbox(mailbox, classifier, MAILBOX, ["f1", "f2", "f3"])
    assert [c[1] for c in mailbox.calls] == ["f1", "f2", "f3"]
    assert all(c[0] == MAILBOX for c in mailbox.calls)
    assert all(c[2] == MESSAGE_FIELDS for c in mailbox.calls)
    assert not {"body", "bodyPreview", "uniqueBody"} & set(MESSAGE_FIELDS)
    assert outcome.queries == 3 and outcome.fetched == 0 and outcome.detected == []


def test_billing_and_signup_mail_is_kept_the_rest_only_counted(classifier):
    mailbox = RecordingMailbox({"f": [
        message("m1", "billing@zoom.us", "Your Zoom invoice is available", attachments=True),
        message("m2", "receipts+acct_9@stripe.com", "Your receipt from Figma #1234-5678"),
        message("m3", "feedback@slack.com", "Welcome to Slack, ana@contoso.com"),
        message("m4", "billing@zoom.us", "Join our webinar on hybrid work"),
        message("m5", "receipts+acct_9@stripe.com", "Your receipt from Corner Bakery #77"),
        message("m6", "receipts+acct_9@evil.example", "Your receipt from Figma #1"),
    ]})
    outcome = scan_mailbox(mailbox, classifier, MAILBOX, ["f"])
    kept = {(e.message_id, e.vendor_id, e.kind) for e in outcome.detected}
    assert kept == {("m1", "zoom", "receipt"), ("m2", "figma", "receipt"),
                    ("m3", "slack", "signup")}
    assert outcome.fetched == 6
    assert dict(outcome.dropped) == {"other": 1, "not_vendor": 2}
    by_id = {e.message_id: e for e in outcome.detected}
    assert by_id["m1"].has_attachments is True and by_id["m2"].has_attachments is False
    assert by_id["m3"].subject == "Welcome to Slack, [email]"
    assert by_id["m2"].sender == "receipts+acct_9@stripe.com"
    assert by_id["m1"].received_at == datetime(2026, 3, 2, 10, tzinfo=UTC)


def test_logged_counts_carry_no_content(classifier):
    mailbox = RecordingMailbox({"f": [
        message("m1", "billing@zoom.us", "Your Zoom invoice is available"),
        message("m4", "billing@zoom.us", "Join our webinar on hybrid work")]})
    counts = scan_mailbox(mailbox, classifier, MAILBOX, ["f"]).counts()
    assert counts == {"queries": 1, "fetched": 2, "kept": {"receipt": 1},
                      "dropped": {"other": 1}}


def test_a_message_returned_by_two_chunks_is_kept_once(classifier):
    twice = message("m1", "billing@zoom.us", "Your Zoom invoice is available")
    outcome = scan_mailbox(RecordingMailbox({"a": [twice], "b": [twice]}), classifier, MAILBOX,
                           ["a", "b"])
    assert [e.message_id for e in outcome.detected] == ["m1"]
    assert outcome.dropped["repeated"] == 1


@pytest.mark.parametrize("bad", [
    None, "text", {"subject": "Invoice"},
    {"id": "m1", "receivedDateTime": "not a date", "subject": "Invoice"},
    {"id": "m1", "receivedDateTime": "2026-03-02T10:00:00", "subject": "Invoice"},
    {"id": "", "receivedDateTime": "2026-03-02T10:00:00Z"},
])
def test_malformed_messages_are_dropped_not_fatal(classifier, bad):
    good = message("ok", "billing@zoom.us", "Your Zoom invoice is available")
    outcome = scan_mailbox(RecordingMailbox({"f": [bad, good]}), classifier, MAILBOX, ["f"])
    assert [e.message_id for e in outcome.detected] == ["ok"]
    assert outcome.dropped["malformed"] == 1


def test_null_subject_and_missing_sender_are_handled(classifier):
    messages = [{"id": "a", "receivedDateTime": "2026-03-02T10:00:00Z", "subject": None,
                 "from": {"emailAddress": {"address": "billing@zoom.us"}}},
                {"id": "b", "receivedDateTime": "2026-03-02T10:00:00Z", "subject": "Invoice"}]
    outcome = scan_mailbox(RecordingMailbox({"f": messages}), classifier, MAILBOX, ["f"])
    assert outcome.detected == []
    assert outcome.fetched == 2
