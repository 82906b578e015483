"""Sign-in windows, mailbox selection and vendor mapping: the pure decisions of a sync."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.ingest.discovery import map_app
from services.ingest.mailboxes import Mailbox, in_scope, scan_window, scans_due
from services.ingest.windows import (
    INITIAL_WINDOW,
    LATE_ARRIVAL_OVERLAP,
    MAX_WINDOW,
    MIN_WINDOW,
    Window,
    first_start,
    next_size,
    next_window,
    resume_start,
    utc_days,
)
from shared.catalog import load_catalog

NOW = datetime(2026, 11, 30, 14, 30, tzinfo=UTC)


# --- windows -----------------------------------------------------------------------------------

def test_a_first_sync_reaches_back_past_entra_retention_to_a_whole_day():
    start = first_start(NOW)
    assert start == datetime(2026, 10, 30, tzinfo=UTC)
    assert NOW - start > timedelta(days=30)


def test_later_syncs_start_a_little_before_the_watermark_for_late_arrivals():
    watermark = NOW - timedelta(hours=5)
    assert resume_start(watermark, NOW) == watermark - LATE_ARRIVAL_OVERLAP
    assert resume_start(None, NOW) == first_start(NOW)
    # A watermark older than anything Entra still has starts at the retention horizon.
    assert resume_start(NOW - timedelta(days=90), NOW) == first_start(NOW)


def test_windows_are_bounded_and_never_pass_now():
    assert next_window(NOW - timedelta(days=10), NOW, INITIAL_WINDOW) == Window(
        NOW - timedelta(days=10), NOW - timedelta(days=7))
    assert next_window(NOW - timedelta(hours=1), NOW, INITIAL_WINDOW).end == NOW
    assert next_window(NOW, NOW, INITIAL_WINDOW) is None


def test_window_size_adapts_to_how_busy_the_last_window_was():
    assert next_size(INITIAL_WINDOW, pages=1) == INITIAL_WINDOW * 2
    assert next_size(MAX_WINDOW, pages=0) == MAX_WINDOW
    assert next_size(INITIAL_WINDOW, pages=5) == INITIAL_WINDOW
    assert next_size(INITIAL_WINDOW, pages=50) == INITIAL_WINDOW / 2
    assert next_size(INITIAL_WINDOW, pages=3, failed=True) == INITIAL_WINDOW / 2
    assert next_size(MIN_WINDOW, pages=50) == MIN_WINDOW


def test_a_window_must_end_after_it_starts():
    with pytest.raises(ValueError):
        Window(NOW, NOW)


def test_utc_days_of_a_window():
    window = Window(datetime(2026, 11, 28, 22, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC))
    assert utc_days(window) == [date(2026, 11, 28), date(2026, 11, 29)]


# --- mailboxes ---------------------------------------------------------------------------------

def mailbox(**overrides) -> Mailbox:
    values = {"user_id": "6e1f0f5e-3a8b-4c11-9a0e-2f3c4d5e6f70", "user_principal_name":
              "ada@contoso.example", "mail": "Ada@Contoso.example", "account_enabled": True,
              "removed": False, "requested_until": None}
    return Mailbox(**{**values, **overrides})


def test_only_enabled_present_users_with_an_address_are_mailboxes():
    assert in_scope(mailbox(), None)
    assert not in_scope(mailbox(mail=None), None)
    assert not in_scope(mailbox(account_enabled=False), None)
    assert not in_scope(mailbox(removed=True), None)


def test_a_configured_scope_is_matched_by_id_upn_or_address_ignoring_case():
    assert in_scope(mailbox(), ["ADA@contoso.example"])
    assert in_scope(mailbox(), ["6E1F0F5E-3A8B-4C11-9A0E-2F3C4D5E6F70"])
    assert not in_scope(mailbox(), ["bob@contoso.example"])
    assert not in_scope(mailbox(), [])


def test_a_first_scan_looks_back_180_days_and_later_ones_continue_where_the_last_ended():
    first = scan_window(mailbox(), NOW)
    assert (first.start, first.end) == (NOW - timedelta(days=180), NOW)
    later = scan_window(mailbox(requested_until=NOW - timedelta(days=1)), NOW)
    assert (later.start, later.end) == (NOW - timedelta(days=1), NOW)


def test_a_mailbox_scanned_recently_is_not_asked_for_again():
    assert scan_window(mailbox(requested_until=NOW - timedelta(hours=1)), NOW) is None


def test_scans_due_combines_scope_and_windows():
    boxes = [mailbox(), mailbox(user_id="7e1f0f5e-3a8b-4c11-9a0e-2f3c4d5e6f70",
                                user_principal_name="bob@contoso.example",
                                mail="bob@contoso.example")]
    assert [w.mailbox_id for w in scans_due(boxes, ["bob@contoso.example"], NOW)] == [
        "7e1f0f5e-3a8b-4c11-9a0e-2f3c4d5e6f70"]
    assert len(scans_due(boxes, None, NOW)) == 2


# --- discovery ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def test_an_app_is_mapped_by_its_entra_app_id_first(catalog):
    teams = map_app(catalog, "1FEC8E78-BCE4-4AAF-AB1B-5451CC387264", "Some renamed app")
    assert (teams.vendor_id, teams.mapping) == ("microsoft-365", "app_id")


def test_an_app_without_a_known_id_is_mapped_by_its_name(catalog):
    slack = map_app(catalog, "00000000-0000-4000-8000-000000000001", "slack")
    assert (slack.vendor_id, slack.mapping) == ("slack", "name")


def test_an_unknown_app_stays_unmapped_for_triage(catalog):
    portal = map_app(catalog, "00000000-0000-4000-8000-000000000002", "Contoso Expense Portal")
    assert (portal.vendor_id, portal.mapping) == (None, "unmapped")
