"""Which mailboxes to ask email-scan to read, and for which time window (pure).

A mailbox is a directory user that has a mail address, is enabled, is still in the
directory and, when the connection limits scanning to a configured set of mailboxes, is in
that set (matched by object id, user principal name or address). Each mailbox is scanned
from where its last requested window ended, or from the look-back horizon the first time,
and at most once per `SCAN_INTERVAL` so hourly syncs do not cost one Graph request per
mailbox per hour.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

FIRST_SCAN_LOOKBACK = timedelta(days=180)
SCAN_INTERVAL = timedelta(hours=6)


@dataclass(frozen=True)
class Mailbox:
    user_id: str
    user_principal_name: str | None
    mail: str | None
    account_enabled: bool | None
    removed: bool
    requested_until: datetime | None


@dataclass(frozen=True)
class ScanWindow:
    mailbox_id: str
    start: datetime
    end: datetime


def in_scope(mailbox: Mailbox, scope: Iterable[str] | None) -> bool:
    if mailbox.removed or not mailbox.mail or mailbox.account_enabled is False:
        return False
    if scope is None:
        return True
    keys = {k.strip().lower() for k in scope if k and k.strip()}
    names = {mailbox.user_id.lower(), (mailbox.mail or "").lower(),
             (mailbox.user_principal_name or "").lower()}
    return bool(keys & names)


def scan_window(mailbox: Mailbox, now: datetime,
                lookback: timedelta = FIRST_SCAN_LOOKBACK,
                interval: timedelta = SCAN_INTERVAL) -> ScanWindow | None:
    """The window to scan now, or None when the last one is recent enough."""
    start = mailbox.requested_until or now - lookback
    if start > now - interval and mailbox.requested_until is not None:
        return None
    if start >= now:
        return None
    return ScanWindow(mailbox.user_id, start, now)


def scans_due(mailboxes: Iterable[Mailbox], scope: Iterable[str] | None, now: datetime,
              lookback: timedelta = FIRST_SCAN_LOOKBACK,
              interval: timedelta = SCAN_INTERVAL) -> list[ScanWindow]:
    scope = list(scope) if scope is not None else None
    due = []
    for mailbox in mailboxes:
        if in_scope(mailbox, scope):
            window = scan_window(mailbox, now, lookback, interval)
            if window is not None:
                due.append(window)
    return due
