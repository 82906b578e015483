"""The directory copy: one upsert per Graph page, the delta round's position beside it.

A page's users, its removals and the link to the next page are written in one transaction,
so a sync killed between pages resumes from the stored nextLink and a page applied twice
changes nothing. Removed users keep their row with `removed_at` (the inventory shows seats
still held by leavers); retention deletes them later.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from services.ingest.records import DirectoryRemoval, DirectoryUser
from shared.db import UnitOfWork


@dataclass(frozen=True)
class DirectoryState:
    delta_link: str | None      # start of the next round (None: never completed one)
    next_link: str | None       # where the unfinished round resumes


def load_state(uow: UnitOfWork, connection_id: str) -> DirectoryState:
    row = uow.execute("select delta_link, next_link from directory_state "
                      "where connection_id = :c", {"c": connection_id}).first()
    return DirectoryState(row.delta_link, row.next_link) if row else DirectoryState(None, None)


def apply_page(uow: UnitOfWork, connection_id: str,
               changes: Sequence[DirectoryUser | DirectoryRemoval], *,
               next_link: str | None, delta_link: str | None, now: datetime) -> None:
    users = [c for c in changes if isinstance(c, DirectoryUser)]
    removed = [c.user_id for c in changes if isinstance(c, DirectoryRemoval)]
    if users:
        _upsert_users(uow, connection_id, users, now)
    if removed:
        uow.execute(
            "update directory_users set removed_at = :now, updated_at = :now "
            "where connection_id = :c and user_id = any(cast(:ids as uuid[])) "
            "and removed_at is null",
            {"c": connection_id, "ids": removed, "now": now})
    if delta_link is not None:
        _close_full_round(uow, connection_id, now)
    _save_position(uow, connection_id, next_link=next_link, delta_link=delta_link, now=now)


def _close_full_round(uow: UnitOfWork, connection_id: str, now: datetime) -> None:
    """A round started without a deltaLink lists every current user and no removals: anyone
    we hold that it did not list has left. (Only matters when an expired deltaLink forced a
    full round; on a connection's first round there is nobody to miss.)"""
    uow.execute(
        "update directory_users u set removed_at = :now "
        "from directory_state s where s.connection_id = :c and u.connection_id = :c "
        "and s.delta_link is null and u.removed_at is null "
        "and u.updated_at < coalesce(s.round_started_at, :now)",
        {"c": connection_id, "now": now})


def _upsert_users(uow: UnitOfWork, connection_id: str, users: Sequence[DirectoryUser],
                  now: datetime) -> None:
    """New users are inserted; known ones get the properties their item carried (a delta
    item may leave unchanged properties out). Items are grouped by the properties they carry:
    in practice one group per page."""
    groups: dict[frozenset[str], list[DirectoryUser]] = {}
    for user in users:
        groups.setdefault(user.present, []).append(user)
    for present, group in groups.items():
        updates = "".join(f"{column} = excluded.{column}, " for column in sorted(present))
        uow.execute(
            "insert into directory_users (org_id, connection_id, user_id, display_name, "
            "user_principal_name, mail, job_title, department, account_enabled, "
            "first_synced_at, updated_at) "
            "select cast(:org as uuid), cast(:c as uuid), u.*, :now, :now from unnest("
            "cast(:ids as uuid[]), cast(:names as text[]), cast(:upns as text[]), "
            "cast(:mails as text[]), cast(:titles as text[]), cast(:departments as text[]), "
            "cast(:enabled as boolean[])) as u "
            f"on conflict (org_id, connection_id, user_id) do update set {updates}"
            "removed_at = null, updated_at = excluded.updated_at",
            {"org": uow.org_id, "c": connection_id, "now": now, **_columns(group)})


def _columns(users: Sequence[DirectoryUser]) -> dict[str, list]:
    return {
        "ids": [u.user_id for u in users],
        "names": [u.display_name for u in users],
        "upns": [u.user_principal_name for u in users],
        "mails": [u.mail for u in users],
        "titles": [u.job_title for u in users],
        "departments": [u.department for u in users],
        "enabled": [u.account_enabled for u in users],
    }


def _save_position(uow: UnitOfWork, connection_id: str, *, next_link: str | None,
                   delta_link: str | None, now: datetime) -> None:
    """After a middle page: the next page. After the last: the new deltaLink, round done."""
    if delta_link is not None:
        uow.execute(
            "insert into directory_state (org_id, connection_id, delta_link, next_link, "
            "last_round_finished_at, updated_at) values (:org, :c, :delta, null, :now, :now) "
            "on conflict (org_id, connection_id) do update set delta_link = excluded.delta_link, "
            "next_link = null, round_started_at = null, "
            "last_round_finished_at = excluded.last_round_finished_at, "
            "updated_at = excluded.updated_at",
            {"org": uow.org_id, "c": connection_id, "delta": delta_link, "now": now})
        return
    uow.execute(
        "insert into directory_state (org_id, connection_id, next_link, round_started_at, "
        "updated_at) values (:org, :c, :next, :now, :now) "
        "on conflict (org_id, connection_id) do update set next_link = excluded.next_link, "
        "round_started_at = coalesce(directory_state.round_started_at, "
        "excluded.round_started_at), updated_at = excluded.updated_at",
        {"org": uow.org_id, "c": connection_id, "next": next_link, "now": now})


def restart_round(uow: UnitOfWork, connection_id: str, *, full: bool) -> None:
    """Forget an unfinished round whose link Graph no longer accepts; `full` also forgets the
    deltaLink (it expired), so the next round lists everyone."""
    uow.execute("update directory_state set next_link = null, round_started_at = null, "
                "delta_link = case when :full then null else delta_link end "
                "where connection_id = :c", {"c": connection_id, "full": full})
