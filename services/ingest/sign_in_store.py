"""Bulk-loading sign-ins: COPY into a staging table, then one de-duplicating INSERT; and the
sign-in watermark that makes the loading resumable.

Row-by-row inserts would cost a round trip per sign-in; a large tenant writes millions a
month. COPY streams a whole Graph page (up to 1,000 rows) in one round trip into a temporary
table, and `insert ... select ... on conflict do nothing` moves it into the partitioned table,
skipping sign-ins already stored (the primary key (org_id, created_at, id) is the de-duplication
key: a sign-in id always comes with the same time). Re-reading a page adds nothing twice.
(PostgreSQL refuses COPY into a table with row-level security, which is one more reason for the
staging table: the INSERT into `sign_ins` is checked against the organization policy.)
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from services.ingest.records import SignIn
from services.ingest.windows import Window
from shared.db import UnitOfWork

COLUMNS = ("org_id", "created_at", "id", "connection_id", "user_id", "app_id", "app_name",
           "succeeded", "interactive")
# Lives for the session (pooled connection), emptied at every commit: created once per
# connection rather than once per page.
STAGING_DDL = ("create temporary table if not exists sign_ins_staging "
               "(like sign_ins including defaults) on commit delete rows")
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(org_id: str, connection_id: str, sign_ins: Iterable[SignIn]) -> bytes:
    """Rows in PostgreSQL's COPY text format, in COLUMNS order."""
    lines = []
    for s in sign_ins:
        lines.append("\t".join((
            org_id, s.created_at.isoformat(), s.id, connection_id, s.user_id, s.app_id,
            s.app_name.translate(_ESCAPES), "t" if s.succeeded else "f",
            "t" if s.interactive else "f")))
    return ("\n".join(lines) + "\n").encode() if lines else b""


def copy_into(uow: UnitOfWork, table: str, payload: bytes) -> None:
    """COPY FROM STDIN through the unit of work's own connection (same transaction).

    `table` is one of this module's constants, never caller input.
    """
    cursor = uow.connection.connection.driver_connection.cursor()
    try:
        cursor.execute(f"copy {table} ({', '.join(COLUMNS)}) from stdin",
                       stream=io.BytesIO(payload))
    finally:
        cursor.close()


def store_sign_ins(uow: UnitOfWork, connection_id: str, sign_ins: Sequence[SignIn]) -> int:
    """Store one page of sign-ins; returns how many were new."""
    if not sign_ins:
        return 0
    uow.execute(STAGING_DDL)
    # Empty already unless this transaction loaded a batch before: then it must go first.
    uow.execute("delete from sign_ins_staging")
    copy_into(uow, "sign_ins_staging", copy_text(uow.org_id, connection_id, sign_ins))
    inserted = uow.execute(
        f"insert into sign_ins ({', '.join(COLUMNS)}) select {', '.join(COLUMNS)} "
        "from sign_ins_staging on conflict (org_id, created_at, id) do nothing")
    return inserted.rowcount


def ensure_partitions(uow: UnitOfWork, first: date, last: date) -> int:
    """Create the monthly partitions a load will write into (idempotent)."""
    return uow.scalar("select ensure_sign_in_partitions(:first, :last)",
                      {"first": first, "last": last})


@dataclass(frozen=True)
class Watermark:
    synced_until: datetime | None       # every sign-in before this is stored and rolled up
    window: Window | None               # a window left unfinished, if any
    next_link: str | None               # its next page


def load_watermark(uow: UnitOfWork, connection_id: str) -> Watermark:
    row = uow.execute("select synced_until, window_start, window_end, next_link "
                      "from sign_in_watermarks where connection_id = :c",
                      {"c": connection_id}).first()
    if row is None:
        return Watermark(None, None, None)
    window = Window(row.window_start, row.window_end) if row.window_start else None
    return Watermark(row.synced_until, window, row.next_link)


def save_window_progress(uow: UnitOfWork, connection_id: str, window: Window,
                         next_link: str | None) -> None:
    """Mid-window: the pages so far are stored; resume from `next_link`."""
    uow.execute(
        "insert into sign_in_watermarks (org_id, connection_id, window_start, window_end, "
        "next_link, updated_at) values (:org, :c, :start, :end, :next, now()) "
        "on conflict (org_id, connection_id) do update set window_start = excluded.window_start, "
        "window_end = excluded.window_end, next_link = excluded.next_link, updated_at = now()",
        {"org": uow.org_id, "c": connection_id, "start": window.start, "end": window.end,
         "next": next_link})


def complete_window(uow: UnitOfWork, connection_id: str, window: Window) -> None:
    """The whole window is stored: the watermark moves to its end."""
    uow.execute(
        "insert into sign_in_watermarks (org_id, connection_id, synced_until, updated_at) "
        "values (:org, :c, :end, now()) "
        "on conflict (org_id, connection_id) do update set synced_until = "
        "greatest(sign_in_watermarks.synced_until, excluded.synced_until), window_start = null, "
        "window_end = null, next_link = null, updated_at = now()",
        {"org": uow.org_id, "c": connection_id, "end": window.end})
