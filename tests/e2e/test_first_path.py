"""The first path through the plumbing: cron -> outbox -> emulator -> push -> effect, once."""

from __future__ import annotations

import time

import requests
import sqlalchemy as sa

from services.ingest.main import create_app
from tests.support.stack import create_org, deactivate_other_connections, running_service
from tests.support.waiting import wait_for


def _runs(owner, connection_id):
    with owner.connect() as c:
        return c.execute(sa.text("select status from sync_runs where connection_id = :c"),
                         {"c": connection_id}).scalars().all()


def test_cron_sync_reaches_the_consumer_through_the_emulator_exactly_once(stack, owner):
    org_id, connection_id = create_org(owner, name="First Path Ltd")
    deactivate_other_connections(owner, keep=[connection_id])

    with running_service(stack, "ingest", create_app) as ingest:
        answer = requests.post(f"{ingest.url}/cron/sync", timeout=10)
        assert answer.status_code == 200
        assert answer.json() == {"requested": 1, "already_syncing": 0}

        runs = wait_for(lambda: _runs(owner, connection_id), what="a sync run")
        assert runs == ["succeeded"]

        # The event left the outbox through the relay right after commit.
        with owner.connect() as c:
            unpublished = c.execute(sa.text(
                "select count(*) from outbox where published_at is null "
                "and attributes->>'org_id' = :org"), {"org": org_id}).scalar()
        assert unpublished == 0

        # Give Pub/Sub time to (wrongly) deliver again; the effect stays single.
        time.sleep(2)
        assert _runs(owner, connection_id) == ["succeeded"]
        with owner.connect() as c:
            released = c.execute(sa.text(
                "select sync_started_at is null and last_synced_at is not null "
                "from connections where id = :c"), {"c": connection_id}).scalar()
        assert released


def test_a_connection_already_syncing_is_not_started_twice(stack, owner):
    org_id, connection_id = create_org(owner, name="Busy Ltd")
    deactivate_other_connections(owner, keep=[connection_id])
    with owner.begin() as c:
        c.execute(sa.text("update connections set sync_started_at = now() where id = :c"),
                  {"c": connection_id})
    with running_service(stack, "ingest", create_app) as ingest:
        answer = requests.post(f"{ingest.url}/cron/sync", timeout=10)
    assert answer.json() == {"requested": 0, "already_syncing": 1}


def test_every_service_answers_healthz(stack):
    from importlib import import_module

    from shared.topology import load_topology

    for name, service in load_topology().services.items():  # every service, any free port
        create = import_module(f"{service.package}.main").create_app
        with running_service(stack, name, create, port=0) as running:
            answer = requests.get(f"{running.url}/healthz", timeout=5)
            assert answer.status_code == 200
            assert answer.json() == {"status": "ok", "service": name}
