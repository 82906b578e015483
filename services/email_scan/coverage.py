"""Time windows and the per-mailbox watermark, as pure arithmetic.

A mailbox remembers the contiguous span already scanned (`scanned_from` .. `scanned_until`;
`scanned_until` is the watermark). A requested window is cut down to the part outside that
span, so a redelivered or overlapping request costs few or no Graph requests; whatever overlap
remains is harmless because stored messages are unique per organization and message id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


class InvalidWindow(ValueError):
    """A scan window that cannot be scanned: unparseable, without a timezone, or empty."""


@dataclass(frozen=True)
class Window:
    start: datetime  # inclusive
    end: datetime    # exclusive

    def __post_init__(self) -> None:
        for moment in (self.start, self.end):
            if moment.tzinfo is None or moment.utcoffset() is None:
                raise InvalidWindow(f"{moment.isoformat()} has no timezone")
        if self.start >= self.end:
            raise InvalidWindow(f"empty window: {self.start.isoformat()} is not before "
                                f"{self.end.isoformat()}")

    def contains(self, other: Window) -> bool:
        return self.start <= other.start and other.end <= self.end

    def touches(self, other: Window) -> bool:
        """Overlapping or adjacent: the union is one contiguous window."""
        return self.start <= other.end and other.start <= self.end


def parse_window(start: str, end: str) -> Window:
    try:
        parsed = (datetime.fromisoformat(start), datetime.fromisoformat(end))
    except (TypeError, ValueError):
        raise InvalidWindow(f"window times must be ISO 8601: {start!r}, {end!r}") from None
    window = Window(*parsed)
    return Window(window.start.astimezone(UTC), window.end.astimezone(UTC))


def up_to(window: Window, now: datetime) -> Window | None:
    """The part of the window that can hold mail already: a watermark past `now` would skip
    mail that arrives later inside the window."""
    if window.start >= now:
        return None
    return Window(window.start, min(window.end, now))


def window_to_scan(requested: Window, scanned: Window | None) -> Window | None:
    """What still needs scanning; None when the span already scanned covers it all.

    A request starting after the watermark is scanned from the watermark, so no mail falls
    into a gap. When the request sticks out on both sides it is scanned whole: one round of
    queries instead of two, and the overlap stores nothing twice."""
    if scanned is None:
        return requested
    if requested.start > scanned.end:
        # A gap since the watermark (a skipped or lost request): scan from the watermark.
        return Window(scanned.end, requested.end)
    if not requested.touches(scanned):
        return requested
    if scanned.contains(requested):
        return None
    if requested.start >= scanned.start:
        return Window(max(requested.start, scanned.end), requested.end)
    if requested.end <= scanned.end:
        return Window(requested.start, min(requested.end, scanned.start))
    return requested


def after_scan(scanned: Window | None, done: Window) -> Window:
    """The new scanned span: the union when contiguous; across a gap, the later span wins
    (scans move forward in time, and the span must stay free of holes)."""
    if scanned is None:
        return done
    if scanned.touches(done):
        return Window(min(scanned.start, done.start), max(scanned.end, done.end))
    return done if done.end > scanned.end else scanned
