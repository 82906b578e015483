"""Graph $filter strings for catalog senders: complete, chunked, escaped, and accepted by the
simulated Graph's OData parser (the outer-edge fake of Microsoft)."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.email_scan.sender_filter import (
    SenderFilterError,
    domain_only_vendors,
    is_catalog_sender,
    odata_string,
    sender_clauses,
    sender_filters,
    utc_timestamp,
)
from shared.catalog import load_catalog, parse_catalog
from tests.m365sim.odata import compile_filter

START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 3, 4, tzinfo=UTC)
MESSAGE_PATHS = {"receivedDateTime", "from/emailAddress/address"}


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.fixture(scope="module")
def filters(catalog):
    return sender_filters(catalog, START, END)


def _message(address, received="2026-03-02T10:00:00Z"):
    return {"receivedDateTime": received, "from": {"emailAddress": {"address": address}}}


def _any_filter_matches(filters, message):
    return any(compile_filter(f, MESSAGE_PATHS).matches(message) for f in filters)


def test_every_filter_starts_with_the_time_window(filters):
    for text in filters:
        assert text.startswith(
            "receivedDateTime ge 2026-03-01T00:00:00Z and receivedDateTime lt 2026-03-04T00:00:00Z"
            " and ("
        )
        assert text.endswith(")")


def test_filters_respect_clause_and_character_bounds(catalog):
    filters = sender_filters(catalog, START, END, max_clauses=7, max_chars=900)
    assert len(filters) > 1
    for text in filters:
        assert len(text) <= 900
        assert text.count(" or ") + 1 <= 7
        assert compile_filter(text, MESSAGE_PATHS).clause_count <= 7 + 2


def test_filters_cover_every_clause_exactly_once(catalog, filters):
    expected = sender_clauses(catalog)
    found = [c for text in filters for c in text.split(" and (", 1)[1][:-1].split(" or ")]
    assert sorted(found) == sorted(expected)
    assert len(found) == len(set(found))


def test_every_vendor_address_passes_the_server_side_filter(catalog, filters):
    for vendor in catalog.vendors:
        for address in vendor.billing_senders:
            assert _any_filter_matches(filters, _message(address)), address


@pytest.mark.parametrize(
    "address",
    ["receipts+acct_1NqX@stripe.com", "invoice+statements+acct_77@stripe.com", "help@paddle.com"],
)
def test_platform_senders_pass_the_server_side_filter(filters, address):
    assert _any_filter_matches(filters, _message(address))


def test_other_senders_and_times_outside_the_window_are_filtered_out(filters):
    assert not _any_filter_matches(filters, _message("colleague@acme-partners.example"))
    assert not _any_filter_matches(filters, _message("billing@zoom.us", "2026-03-04T00:00:00Z"))
    assert not _any_filter_matches(filters, _message("billing@zoom.us", "2026-02-28T23:59:59Z"))
    assert _any_filter_matches(filters, _message("billing@zoom.us", "2026-03-01T00:00:00Z"))


def test_prefix_lets_foreign_domains_through_and_the_in_memory_check_drops_them(catalog, filters):
    lookalike = "receipts+promo@shop.example"
    assert _any_filter_matches(filters, _message(lookalike))  # startswith cannot see domains
    assert not is_catalog_sender(catalog, lookalike)
    assert is_catalog_sender(catalog, "receipts+acct_1@stripe.com")
    assert is_catalog_sender(catalog, "Billing@Zoom.us")
    assert not is_catalog_sender(catalog, "not an address")
    assert not is_catalog_sender(catalog, None)


def test_quotes_are_doubled_in_odata_literals():
    assert odata_string("o'brien@example.com") == "'o''brien@example.com'"
    document = {
        "platforms": [],
        "vendors": [{"id": "acme", "name": "Acme", "category": "it", "domain": "acme.example",
                     "billing_senders": ["o'brien@acme.example"]}],
    }
    catalog = parse_catalog(document)
    (text,) = sender_filters(catalog, START, END)
    assert "eq 'o''brien@acme.example'" in text
    assert compile_filter(text, MESSAGE_PATHS).matches(_message("o'brien@acme.example"))


def test_times_are_converted_to_utc_with_z():
    copenhagen = timezone(timedelta(hours=1))
    assert utc_timestamp(datetime(2026, 3, 1, 1, 30, tzinfo=copenhagen)) == "2026-03-01T00:30:00Z"


@pytest.mark.parametrize(
    ("start", "end", "kwargs", "message"),
    [
        (datetime(2026, 3, 1), END, {}, "no timezone"),
        (END, START, {}, "empty time window"),
        (START, START, {}, "empty time window"),
        (START, END, {"max_clauses": 0}, "max_clauses"),
        (START, END, {"max_chars": 100}, "too small"),
    ],
)
def test_bad_arguments_raise_a_typed_error(catalog, start, end, kwargs, message):
    with pytest.raises(SenderFilterError, match=message):
        sender_filters(catalog, start, end, **kwargs)


def test_domain_only_vendors_are_reported(catalog):
    document = {
        "platforms": [],
        "vendors": [
            {"id": "a", "name": "A", "category": "it", "domain": "a.example",
             "billing_sender_domains": ["billing.a.example"]},
            {"id": "b", "name": "B", "category": "it", "domain": "b.example",
             "billing_senders": ["billing@b.example"]},
        ],
    }
    assert [v.id for v in domain_only_vendors(parse_catalog(document))] == ["a"]
    assert domain_only_vendors(catalog) == []
