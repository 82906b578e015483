"""Time windows for reading sign-ins (pure).

Graph's sign-in report is slow on wide queries and throttled per tenant (about 5 requests per
10 s), so it is read in bounded windows from a watermark: a window that came back in one page
lets the next one grow (fewer requests for quiet tenants), a busy or failing window makes the
next one narrower. Windows are half-open [start, end) and never reach past `now`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

INITIAL_WINDOW = timedelta(days=3)
MIN_WINDOW = timedelta(minutes=15)
MAX_WINDOW = timedelta(days=8)
BUSY_PAGES = 20             # a window that needed more pages than this was too wide
ENTRA_RETENTION = timedelta(days=30)
# Entra publishes sign-ins with a delay of minutes; each sync re-reads this much before the
# watermark so late arrivals are caught (stored ids make the overlap free of duplicates).
LATE_ARRIVAL_OVERLAP = timedelta(hours=1)


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError("a window ends after it starts")


def first_start(now: datetime) -> datetime:
    """Where a connection's first sync starts: the oldest day Entra may still hold, whole."""
    oldest = now - ENTRA_RETENTION - timedelta(days=1)
    return oldest.replace(hour=0, minute=0, second=0, microsecond=0)


def resume_start(synced_until: datetime | None, now: datetime) -> datetime:
    """Where the next sync starts reading: a little before the watermark, or from scratch."""
    if synced_until is None:
        return first_start(now)
    return max(synced_until - LATE_ARRIVAL_OVERLAP, first_start(now))


def next_window(start: datetime, now: datetime, size: timedelta) -> Window | None:
    """The window from `start` of (at most) `size`, or None when `start` has reached now."""
    if start >= now:
        return None
    return Window(start, min(start + size, now))


def next_size(size: timedelta, pages: int, *, failed: bool = False) -> timedelta:
    """Halve after a failure or a busy window, double after a one-page window."""
    if failed or pages > BUSY_PAGES:
        return max(MIN_WINDOW, size / 2)
    if pages <= 1:
        return min(MAX_WINDOW, size * 2)
    return size


def utc_days(window: Window) -> list[date]:
    """The UTC dates a window touches (for re-rolling daily usage)."""
    start, end = window.start.astimezone(UTC), window.end.astimezone(UTC)
    day, last = start.date(), (end - timedelta(microseconds=1)).date()
    days = []
    while day <= last:
        days.append(day)
        day += timedelta(days=1)
    return days
