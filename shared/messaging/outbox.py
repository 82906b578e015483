"""The outbox relay: publishes events after their transaction committed.

Right after a commit the unit of work hands the relay the ids it wrote
(`publish_ids`); the periodic sweep (`publish_pending`, a scheduler route on
each producing service) picks up whatever a crash or an outage left behind.
Rows are locked with SKIP LOCKED, so two relays never publish the same row at
the same moment; if a publish succeeds and marking it fails, the event goes
out twice and consumers de-duplicate on `event_id`.
"""

from __future__ import annotations

import json
import logging

import sqlalchemy as sa

from shared.logs import log_fields
from shared.messaging.publisher import Publisher

log = logging.getLogger(__name__)

_SELECT = """
select id, topic, payload, attributes from outbox
where published_at is null and {condition}
order by created_at
limit :limit
for update skip locked
"""


class OutboxRelay:
    def __init__(self, engine: sa.Engine, publisher: Publisher):
        self.engine = engine
        self.publisher = publisher

    def publish_ids(self, ids: list[str]) -> int:
        try:
            return self._publish("id = any(cast(:ids as uuid[]))", {"ids": ids, "limit": len(ids)})
        except Exception:
            # The events are safe in the outbox; the sweep will publish them.
            log.warning("outbox publish after commit failed; left for the relay sweep",
                        exc_info=True)
            return 0

    def publish_pending(self, older_than_s: float = 0.0, limit: int = 500) -> int:
        return self._publish(
            "created_at <= now() - make_interval(secs => :age)",
            {"age": older_than_s, "limit": limit},
        )

    def _publish(self, condition: str, params: dict) -> int:
        published = 0
        with self.engine.connect() as connection, connection.begin():
            rows = connection.execute(sa.text(_SELECT.format(condition=condition)), params).all()
            for row in rows:
                payload = row.payload if isinstance(row.payload, dict) else json.loads(row.payload)
                attributes = (row.attributes if isinstance(row.attributes, dict)
                              else json.loads(row.attributes))
                try:
                    self.publisher.publish(row.topic, json.dumps(payload).encode(), attributes)
                except Exception as exc:
                    connection.execute(
                        sa.text("update outbox set attempts = attempts + 1, last_error = :err "
                                "where id = :id"),
                        {"id": row.id, "err": type(exc).__name__},
                    )
                    log.warning("outbox publish failed", extra=log_fields(
                        topic=row.topic, event_id=str(row.id), error=type(exc).__name__))
                    continue
                connection.execute(
                    sa.text("update outbox set published_at = now(), attempts = attempts + 1 "
                            "where id = :id"),
                    {"id": row.id},
                )
                published += 1
        return published
