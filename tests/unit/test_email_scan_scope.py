"""The connection's mailbox scope, as email-scan can check it (object ids only)."""

from __future__ import annotations

from services.email_scan.store import Connection

BOX = "6a1c3c1e-2b1d-4a51-8a9e-0c7b2f6d9e01"
OTHER = "11111111-2222-4333-8444-555555555555"


def connection(scope):
    return Connection("c", "metadata", "active", scope)


def test_no_scope_allows_every_mailbox():
    assert connection(None).allows_mailbox(BOX)


def test_a_scope_of_object_ids_is_enforced_exactly():
    assert connection((BOX,)).allows_mailbox(BOX.upper())
    assert not connection((OTHER,)).allows_mailbox(BOX)
    assert not connection(()).allows_mailbox(BOX)


def test_a_scope_naming_mailboxes_by_address_is_left_to_ingest():
    assert connection((OTHER, "finance@contoso.com")).allows_mailbox(BOX)
