"""Window arithmetic behind the per-mailbox watermark."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.email_scan.coverage import (
    InvalidWindow,
    Window,
    after_scan,
    parse_window,
    up_to,
    window_to_scan,
)


def day(n: int) -> datetime:
    return datetime(2026, 3, 1, tzinfo=UTC) + timedelta(days=n)


def w(a: int, b: int) -> Window:
    return Window(day(a), day(b))


def test_first_scan_covers_the_whole_request():
    assert window_to_scan(w(0, 5), None) == w(0, 5)


def test_a_window_inside_the_scanned_span_needs_no_scan():
    assert window_to_scan(w(1, 4), w(0, 5)) is None
    assert window_to_scan(w(0, 5), w(0, 5)) is None


def test_a_window_overlapping_the_end_scans_only_past_the_watermark():
    assert window_to_scan(w(3, 8), w(0, 5)) == w(5, 8)


def test_a_window_overlapping_the_start_scans_only_before_the_span():
    assert window_to_scan(w(-3, 2), w(0, 5)) == w(-3, 0)


def test_a_window_sticking_out_on_both_sides_is_scanned_whole():
    assert window_to_scan(w(-1, 6), w(0, 5)) == w(-1, 6)


def test_a_window_after_a_gap_is_scanned_from_the_watermark():
    assert window_to_scan(w(7, 9), w(0, 5)) == w(5, 9)
    assert after_scan(w(0, 5), w(5, 9)) == w(0, 9)


def test_an_old_disjoint_window_is_scanned_whole():
    assert window_to_scan(w(-9, -7), w(0, 5)) == w(-9, -7)


def test_adjacent_windows_join_the_span():
    assert window_to_scan(w(5, 7), w(0, 5)) == w(5, 7)
    assert after_scan(w(0, 5), w(5, 7)) == w(0, 7)


def test_a_gap_keeps_the_later_span_so_the_span_never_has_holes():
    assert after_scan(w(0, 5), w(7, 9)) == w(7, 9)
    assert after_scan(w(7, 9), w(0, 5)) == w(7, 9)


def test_the_watermark_never_passes_now():
    assert up_to(w(0, 5), day(3)) == w(0, 3)
    assert up_to(w(4, 5), day(3)) is None
    assert up_to(w(0, 2), day(3)) == w(0, 2)


def test_parse_window_accepts_offsets_and_normalises_to_utc():
    window = parse_window("2026-03-01T01:00:00+01:00", "2026-03-02T00:00:00Z")
    assert window == Window(day(0), day(1))
    assert window.start.tzinfo == UTC


@pytest.mark.parametrize("start,end", [
    ("2026-03-01T00:00:00", "2026-03-02T00:00:00Z"),   # no timezone
    ("2026-03-02T00:00:00Z", "2026-03-01T00:00:00Z"),  # reversed
    ("2026-03-01T00:00:00Z", "2026-03-01T00:00:00Z"),  # empty
    ("yesterday", "2026-03-01T00:00:00Z"),
    (None, "2026-03-01T00:00:00Z"),
])
def test_bad_windows_are_a_typed_error(start, end):
    with pytest.raises(InvalidWindow):
        parse_window(start, end)
