"""Encrypted token records in `vault_tokens`, read and written through a unit of work.

Each write seals the token under a fresh data key and bumps the row's generation;
the generation is part of the AAD, so an older ciphertext (say, from a backup) copied
back into the row no longer opens. Writers hold the connection lock (`lock_connection`).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared.crypto import (
    DecryptionError,
    KeyRing,
    RecordContext,
    SealedRecord,
    UnknownKeyVersion,
    open_record,
    rewrap,
    seal_record,
)
from shared.db import UnitOfWork
from shared.logs import log_fields

log = logging.getLogger(__name__)

REFRESH_TOKEN = "refresh_token"  # noqa: S105 (a record kind)
# One access token per connection covers every purpose its grant allows; the suffix
# names the scope set, so per-purpose tokens can be added without a migration.
ACCESS_TOKEN = "access_token:default"  # noqa: S105 (a record kind)


@dataclass(frozen=True)
class StoredToken:
    id: str
    org_id: str
    connection_id: str
    kind: str
    generation: int
    sealed: SealedRecord
    expires_at: datetime | None

    def context(self) -> RecordContext:
        return record_context(self.org_id, self.connection_id, self.kind, self.generation)

    def seconds_left(self, now: datetime | None = None) -> float:
        if self.expires_at is None:
            return float("inf")
        return (self.expires_at - (now or datetime.now(UTC))).total_seconds()


def record_context(org_id: str, connection_id: str, kind: str, generation: int) -> RecordContext:
    return RecordContext(str(org_id), str(connection_id), f"{kind}#{generation}")


def lock_connection(uow: UnitOfWork, connection_id: str) -> None:
    """Serialize refreshes and writes of one connection (released at commit or rollback)."""
    uow.execute("select pg_advisory_xact_lock(hashtextextended(:key, 0))",
                {"key": f"token-vault:{connection_id}"})


_COLUMNS = ("id, org_id, connection_id, kind, generation, kek_version, wrapped_dek, ciphertext, "
            "expires_at")


def from_row(row) -> StoredToken:
    return StoredToken(
        id=str(row.id), org_id=str(row.org_id), connection_id=str(row.connection_id),
        kind=row.kind, generation=row.generation,
        sealed=SealedRecord(row.kek_version, bytes(row.wrapped_dek) if row.wrapped_dek else None,
                            bytes(row.ciphertext)),
        expires_at=row.expires_at)


def read(uow: UnitOfWork, connection_id: str, kind: str) -> StoredToken | None:
    row = uow.execute(f"select {_COLUMNS} from vault_tokens "
                      "where connection_id = :c and kind = :k",
                      {"c": connection_id, "k": kind}).first()
    return from_row(row) if row else None


def reveal(keyring: KeyRing, token: StoredToken) -> str:
    """The token text. Raises RecordShredded, UnknownKeyVersion or DecryptionError."""
    return open_record(keyring, token.sealed, token.context()).decode("utf-8")


def write(uow: UnitOfWork, keyring: KeyRing, *, org_id: str, connection_id: str, kind: str,
          token: str, expires_in_s: float | None) -> int:
    """Seal and store `token` as the next generation of (connection, kind); the caller
    holds the connection lock. Returns the new generation."""
    current = uow.scalar("select generation from vault_tokens where connection_id = :c "
                         "and kind = :k", {"c": connection_id, "k": kind})
    generation = (current or 0) + 1
    context = record_context(org_id, connection_id, kind, generation)
    sealed = seal_record(keyring, token.encode("utf-8"), context)
    expires_at = (datetime.now(UTC) + timedelta(seconds=expires_in_s)
                  if expires_in_s is not None else None)
    uow.execute(
        "insert into vault_tokens (id, org_id, connection_id, kind, generation, kek_version, "
        "wrapped_dek, ciphertext, expires_at) values (:id, :org, :c, :k, :g, :v, :dek, :ct, :exp) "
        "on conflict (connection_id, kind) do update set generation = excluded.generation, "
        "kek_version = excluded.kek_version, wrapped_dek = excluded.wrapped_dek, "
        "ciphertext = excluded.ciphertext, expires_at = excluded.expires_at, updated_at = now()",
        {"id": str(uuid.uuid4()), "org": org_id, "c": connection_id, "k": kind, "g": generation,
         "v": sealed.kek_version, "dek": sealed.wrapped_dek, "ct": sealed.ciphertext,
         "exp": expires_at})
    return generation


def forget_access_tokens(uow: UnitOfWork, connection_id: str) -> None:
    """Drop cached access tokens (e.g. after a reconnect changed the grant)."""
    uow.execute("delete from vault_tokens where connection_id = :c and kind like 'access_token:%'",
                {"c": connection_id})


def shred_connection(uow: UnitOfWork, connection_id: str) -> int:
    """Destroy the data keys of every token of one connection: the ciphertexts become noise."""
    return uow.execute("update vault_tokens set wrapped_dek = null, updated_at = now() "
                       "where connection_id = :c and wrapped_dek is not null",
                       {"c": connection_id}).rowcount


def shred_org(uow: UnitOfWork) -> int:
    """Destroy the data keys of every token of the unit of work's organization."""
    return uow.execute("update vault_tokens set wrapped_dek = null, updated_at = now() "
                       "where wrapped_dek is not null").rowcount


@dataclass(frozen=True)
class RewrapOutcome:
    moved: int
    unreadable: int   # data key did not open: tampered, or wrapped by a foreign key


def rewrap_records(uow: UnitOfWork, keyring: KeyRing, record_ids: list[str]) -> RewrapOutcome:
    """Re-wrap the data keys of these records (one organization) with the current KEK.

    The token ciphertext is copied through untouched and never decrypted. A record
    rewritten meanwhile (new generation) is skipped: its new key is already current.
    A record whose data key does not open is left as it is and counted, so one bad
    row never stops a rotation; handouts fail closed on it.
    """
    # The ciphertext is neither read nor written: re-wrapping needs only the data key.
    rows = uow.execute("select id, org_id, connection_id, kind, generation, kek_version, "
                       "wrapped_dek, ''::bytea as ciphertext, expires_at from vault_tokens "
                       "where id = any(cast(:ids as uuid[])) and wrapped_dek is not null "
                       "and kek_version <> :v",
                       {"ids": record_ids, "v": keyring.current_version}).all()
    updates, unreadable = [], 0
    for row in rows:
        token = from_row(row)
        try:
            moved = rewrap(keyring, token.sealed, token.context())
        except (DecryptionError, UnknownKeyVersion):
            unreadable += 1
            log.error("token record cannot be re-wrapped", extra=log_fields(record=token.id))
            continue
        updates.append((token.id, token.generation, token.sealed.kek_version, moved.wrapped_dek))
    moved_count = 0
    if updates:
        # One statement for the whole batch; the generation and old version in the
        # condition skip a record that a refresh rewrote since it was read.
        ids, generations, old_versions, keys = (list(column) for column in zip(*updates,
                                                                               strict=True))
        moved_count = uow.execute(
            "update vault_tokens t set kek_version = :v, wrapped_dek = u.dek "
            "from unnest(cast(:ids as uuid[]), cast(:gens as bigint[]), cast(:olds as int[]), "
            "cast(:deks as bytea[])) as u(id, generation, old_version, dek) "
            "where t.id = u.id and t.generation = u.generation "
            "and t.kek_version = u.old_version",
            {"v": keyring.current_version, "ids": ids, "gens": generations,
             "olds": old_versions, "deks": keys}).rowcount
    return RewrapOutcome(moved=moved_count, unreadable=unreadable)
