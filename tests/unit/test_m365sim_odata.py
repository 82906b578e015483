"""The simulator's $filter subset: what Graph accepts on our endpoints, and clear errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.m365sim.odata import FilterError, compile_filter

MESSAGE_PATHS = {"receivedDateTime", "from/emailAddress/address"}
MESSAGE = {"receivedDateTime": "2026-05-01T10:00:00Z",
           "from": {"emailAddress": {"address": "Billing@Zoom.us", "name": "Zoom"}}}


def test_sender_or_list_with_date_window():
    compiled = compile_filter(
        "receivedDateTime ge 2026-04-01T00:00:00Z and (from/emailAddress/address eq "
        "'billing@zoom.us' or startswith(from/emailAddress/address,'receipts+'))",
        MESSAGE_PATHS)
    assert compiled.matches(MESSAGE)
    assert compiled.clause_count == 3
    assert compiled.first_path() == "receivedDateTime"
    later = compile_filter("receivedDateTime gt 2026-05-02T00:00:00Z", MESSAGE_PATHS)
    assert not later.matches(MESSAGE)


def test_bounds_come_from_top_level_and_terms_only():
    compiled = compile_filter("receivedDateTime ge 2026-01-01T00:00:00Z and "
                              "receivedDateTime lt 2026-02-01T00:00:00Z", MESSAGE_PATHS)
    lower, upper = compiled.bounds("receivedDateTime")
    assert lower == datetime(2026, 1, 1, tzinfo=UTC)
    assert upper == datetime(2026, 2, 1, tzinfo=UTC)
    either = compile_filter("receivedDateTime ge 2026-01-01T00:00:00Z or "
                            "from/emailAddress/address eq 'a@b.c'", MESSAGE_PATHS)
    assert either.bounds("receivedDateTime") == (None, None)


def test_quotes_booleans_and_not():
    compiled = compile_filter("not (accountEnabled eq false) and displayName eq 'O''Brien'",
                              {"accountEnabled", "displayName"})
    assert compiled.matches({"accountEnabled": True, "displayName": "o'brien"})
    assert not compiled.matches({"accountEnabled": False, "displayName": "O'Brien"})


@pytest.mark.parametrize("text", [
    "subject eq 'x'",  # property not allowed here
    "receivedDateTime between 1 and 2",  # unknown operator
    "(receivedDateTime ge 2026-01-01T00:00:00Z",  # unbalanced
    "from/emailAddress/address eq",  # missing literal
    "receivedDateTime ge 2026-01-01T00:00:00Z extra",  # trailing tokens
    "endswith(from/emailAddress/address,'@x.com')",  # Graph has no endswith on messages
])
def test_bad_filters_raise_filter_error(text):
    with pytest.raises(FilterError):
        compile_filter(text, MESSAGE_PATHS)
