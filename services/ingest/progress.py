"""What a sync step needs besides Graph: where to commit, what time it is, when to stop.

Steps commit page by page through their own units of work (`SyncContext.unit()`), not
through the push handler's: a large tenant's first sync runs longer than a push may stay
unacknowledged, so progress must be durable before the handler returns. A step that runs
out of its time budget stops at a page boundary; the handler then asks for a continuation
and the next delivery resumes from the stored links and watermarks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from shared.db import UnitOfWork, UnitOfWorkFactory


class OutOfTime(Exception):
    """The sync's time budget is spent; everything done so far is committed."""


@dataclass(frozen=True)
class Page:
    items: list
    next_link: str | None = None
    delta_link: str | None = None


@dataclass
class SyncContext:
    org_id: str
    connection_id: str
    uow_factory: UnitOfWorkFactory
    now: datetime                                   # the sync's clock: one instant per run
    budget_s: float = 420.0                         # well inside the 600 s ack deadline
    monotonic: Callable[[], float] = time.monotonic
    started: float = field(default=0.0)

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            raise ValueError("the sync clock must be timezone-aware")
        # Whole seconds: Graph filters and sign-in times have no fractions, so a window
        # ending mid-second would leave that second's sign-ins between two windows.
        self.now = self.now.astimezone(UTC).replace(microsecond=0)
        self.started = self.monotonic()

    def unit(self) -> UnitOfWork:
        return self.uow_factory(org_id=self.org_id)

    def check_time(self) -> None:
        """Called between pages: stop cleanly once the budget is spent."""
        if self.monotonic() - self.started > self.budget_s:
            raise OutOfTime()
