"""The unit of work: one transaction, one commit, events published after it.

A handler receives a unit of work, does all its reads and writes through it,
and queues events with `emit()`; they are written to the outbox table in the
same transaction. Only `commit()` makes anything visible, and only after the
commit are the queued events handed to the relay for publishing. Leaving the
block without committing rolls everything back, events included.

The organization is set per transaction with `set_config(..., true)`, so it
cannot leak to the next user of a pooled connection; row-level security reads
it back with `current_setting('app.org_id', true)`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

if TYPE_CHECKING:
    from shared.messaging.contracts import Event

AfterCommit = Callable[[list[str]], None]


class UnitOfWork:
    def __init__(self, engine: sa.Engine, *, org_id: str | None = None,
                 after_commit: AfterCommit | None = None):
        self._engine = engine
        self._initial_org = org_id
        self._after_commit = after_commit
        self._connection: sa.Connection | None = None
        self._transaction: sa.RootTransaction | None = None
        self._emitted: list[str] = []
        self.org_id: str | None = None
        self.committed = False

    def __enter__(self) -> UnitOfWork:
        self._connection = self._engine.connect()
        self._transaction = self._connection.begin()
        if self._initial_org:
            self.set_org(self._initial_org)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if not self.committed and self._transaction is not None and self._transaction.is_active:
                self._transaction.rollback()
        finally:
            if self._connection is not None:
                self._connection.close()
            self._connection = None

    @property
    def connection(self) -> sa.Connection:
        if self._connection is None:
            raise RuntimeError("unit of work used outside its `with` block")
        return self._connection

    def set_org(self, org_id: str) -> None:
        """Scope every later statement of this transaction to one organization."""
        str(uuid.UUID(str(org_id)))  # refuse anything that is not a UUID early
        self.connection.execute(
            sa.text("select set_config('app.org_id', :org, true)"), {"org": str(org_id)}
        )
        self.org_id = str(org_id)

    def execute(self, sql: str | sa.Executable, params: dict | list | None = None):
        statement = sa.text(sql) if isinstance(sql, str) else sql
        return self.connection.execute(statement, params or {})

    def scalar(self, sql: str, params: dict | None = None) -> Any:
        return self.execute(sql, params).scalar()

    def emit(self, event: Event, *, ordering_key: str | None = None) -> str:
        """Queue an event: written to the outbox now, published after commit."""
        event_id = str(uuid.uuid4())
        self.execute(
            "insert into outbox (id, topic, payload, attributes) "
            "values (:id, :topic, cast(:payload as jsonb), cast(:attributes as jsonb))",
            {
                "id": event_id,
                "topic": event.topic,
                "payload": json.dumps(event.to_payload()),
                "attributes": json.dumps(event.attributes(event_id)),
            },
        )
        self._emitted.append(event_id)
        return event_id

    def audit(self, actor: str, action: str, target: str, details: dict | None = None) -> None:
        """Append an audit record (who, what, when; never a secret or token)."""
        self.execute(
            "insert into audit_log (org_id, actor, action, target, details) "
            "values (:org, :actor, :action, :target, cast(:details as jsonb))",
            {"org": self.org_id, "actor": actor, "action": action, "target": target,
             "details": json.dumps(details or {})},
        )

    def claim_message(self, consumer: str, message_key: str) -> bool:
        """Record a delivery as processed; False if it already was (a redelivery).

        Written in this transaction, so it only sticks if the handler's effects do.
        """
        row = self.execute(
            "insert into processed_messages (consumer, message_key) values (:c, :k) "
            "on conflict do nothing returning message_key",
            {"c": consumer, "k": message_key},
        ).first()
        return row is not None

    def commit(self) -> None:
        if self.committed:
            raise RuntimeError("a unit of work commits once")
        if self._transaction is None:
            raise RuntimeError("unit of work used outside its `with` block")
        self._transaction.commit()
        self.committed = True
        if self._emitted and self._after_commit is not None:
            # Publishing failures are not the caller's problem any more: the
            # events are durable in the outbox and the relay sweep retries them.
            self._after_commit(list(self._emitted))

    @property
    def emitted(self) -> Iterable[str]:
        return tuple(self._emitted)


class UnitOfWorkFactory:
    """Makes units of work bound to one engine and one outbox relay."""

    def __init__(self, engine: sa.Engine, after_commit: AfterCommit | None = None):
        self.engine = engine
        self.after_commit = after_commit

    def __call__(self, org_id: str | None = None) -> UnitOfWork:
        return UnitOfWork(self.engine, org_id=org_id, after_commit=self.after_commit)
