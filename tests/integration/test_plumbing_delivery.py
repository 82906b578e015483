"""Delivery guarantees against real PostgreSQL and the real Pub/Sub emulator."""

from __future__ import annotations

import base64
import json
import uuid

import requests
import sqlalchemy as sa
from flask import Flask
from google.cloud import pubsub_v1

from infra.local.pubsub import pull_dead_letters
from infra.local.stack import service_env
from services.ingest.main import create_app
from shared.db import UnitOfWorkFactory, make_engine
from shared.messaging.contracts import SyncRequested
from shared.messaging.outbox import OutboxRelay
from shared.messaging.publisher import PubSubPublisher
from shared.runtime import bootstrap
from shared.web import push_route, service_app
from tests.support.stack import RunningService, create_org, running_service
from tests.support.waiting import wait_for


def _envelope(event, message_id: str, event_id: str | None = None) -> dict:
    attributes = event.attributes(event_id or str(uuid.uuid4()))
    return {
        "subscription": "projects/coax-local/subscriptions/ingest-sync-requested",
        "message": {
            "data": base64.b64encode(json.dumps(event.to_payload()).encode()).decode(),
            "attributes": attributes,
            "messageId": message_id,
            "publishTime": "2026-12-04T10:00:00Z",
        },
    }


def _run_count(owner, connection_id) -> int:
    with owner.connect() as c:
        return c.execute(sa.text("select count(*) from sync_runs where connection_id = :c"),
                         {"c": connection_id}).scalar()


def test_a_push_delivered_twice_has_its_effect_once(stack, owner):
    org_id, connection_id = create_org(owner)
    event = SyncRequested(org_id=org_id, connection_id=connection_id, reason="manual",
                          requested_at="2026-12-04T10:00:00+00:00")
    envelope = _envelope(event, message_id="41")
    with running_service(stack, "ingest", create_app, port=0) as ingest:
        first = requests.post(f"{ingest.url}/push/sync-requested", json=envelope, timeout=10)
        second = requests.post(f"{ingest.url}/push/sync-requested", json=envelope, timeout=10)
        # A publisher retry re-sends the same event under a new messageId.
        envelope["message"]["messageId"] = "42"
        third = requests.post(f"{ingest.url}/push/sync-requested", json=envelope, timeout=10)
    assert [first.status_code, second.status_code, third.status_code] == [204, 204, 204]
    assert _run_count(owner, connection_id) == 1


def test_a_malformed_envelope_is_answered_and_parked_with_its_reason(stack, owner):
    with running_service(stack, "ingest", create_app, port=0) as ingest:
        garbage = requests.post(f"{ingest.url}/push/sync-requested", data=b"{not json",
                                headers={"Content-Type": "application/json"}, timeout=10)
        bad_base64 = requests.post(f"{ingest.url}/push/sync-requested", timeout=10, json={
            "subscription": "s", "message": {"messageId": "7", "data": "%%%"}})
        wrong_contract = requests.post(f"{ingest.url}/push/sync-requested", timeout=10, json={
            "subscription": "s", "message": {"messageId": "8", "data": base64.b64encode(
                b'{"type": "sync-requested", "version": 1, "data": {"org_id": "nope"}}').decode()}})
    assert garbage.status_code == bad_base64.status_code == wrong_contract.status_code == 200
    assert garbage.json()["result"] == "parked"
    with owner.connect() as c:
        reasons = c.execute(sa.text(
            "select reason from parked_messages where consumer like 'ingest:%' "
            "order by id desc limit 3")).scalars().all()
    assert any("not JSON" in r for r in reasons)
    assert any("base64" in r for r in reasons)
    assert any("contract" in r for r in reasons)


def test_a_crash_between_commit_and_publish_loses_no_event_and_duplicates_no_effect(stack, owner):
    """Commit with no publish afterwards (the process died), then the relay sweep."""
    org_id, connection_id = create_org(owner)
    env = service_env(stack, "ingest")
    engine = make_engine(env["DATABASE_URL"])
    crashed = UnitOfWorkFactory(engine, after_commit=None)     # nobody publishes after commit
    with crashed(org_id=org_id) as uow:
        event_id = uow.emit(SyncRequested(org_id=org_id, connection_id=connection_id,
                                          reason="manual", requested_at="2026-12-04T10:00:00Z"))
        uow.commit()
    with owner.begin() as c:
        assert c.execute(sa.text("select published_at from outbox where id = :id"),
                         {"id": event_id}).scalar() is None
        # The crash happened a minute ago: older than the sweep's grace period,
        # which keeps it from racing publishes that are still in flight.
        c.execute(sa.text("update outbox set created_at = now() - interval '1 minute' "
                          "where id = :id"), {"id": event_id})

    with running_service(stack, "ingest", create_app) as ingest:
        swept = requests.post(f"{ingest.url}/cron/outbox-relay", timeout=10)
        assert swept.status_code == 200
        wait_for(lambda: _run_count(owner, connection_id) == 1, what="the relayed event's effect")
        # A second sweep publishes nothing again; the effect stays single.
        relay = OutboxRelay(engine, PubSubPublisher.create(stack.project))
        assert relay.publish_pending() == 0
    assert _run_count(owner, connection_id) == 1
    engine.dispose()


def test_a_handler_that_keeps_failing_ends_in_the_dead_letter_topic(stack, owner):
    """A real subscription with a dead-letter policy pushing to a consumer that always fails."""
    topic = f"plumbing-{uuid.uuid4().hex[:8]}"
    publisher = pubsub_v1.PublisherClient()
    subscriber = pubsub_v1.SubscriberClient()
    topic_path = publisher.topic_path(stack.project, topic)
    dead_path = publisher.topic_path(stack.project, f"{topic}-dead-letter")
    publisher.create_topic(name=topic_path)
    publisher.create_topic(name=dead_path)
    subscriber.create_subscription(request={
        "name": subscriber.subscription_path(stack.project, f"{topic}-dead-letter-sub"),
        "topic": dead_path})

    runtime = bootstrap("ingest", service_env(stack, "ingest"))
    app: Flask = service_app(runtime)
    calls = []

    def always_fails(event, uow):
        calls.append(event)
        raise ConnectionError("downstream unavailable")

    push_route(app, runtime, "/push/always-fails", {SyncRequested: always_fails})
    server = RunningService(app, 0).start()
    try:
        from google.protobuf import duration_pb2

        subscriber.create_subscription(request={
            "name": subscriber.subscription_path(stack.project, topic),
            "topic": topic_path,
            "push_config": {"push_endpoint": f"{server.url}/push/always-fails"},
            "ack_deadline_seconds": 10,
            "retry_policy": {"minimum_backoff": duration_pb2.Duration(seconds=1),
                             "maximum_backoff": duration_pb2.Duration(seconds=1)},
            "dead_letter_policy": {"dead_letter_topic": dead_path, "max_delivery_attempts": 5},
        })
        org_id, connection_id = create_org(owner)
        event = SyncRequested(org_id=org_id, connection_id=connection_id, reason="manual",
                              requested_at="2026-12-04T10:00:00Z")
        publisher.publish(topic_path, json.dumps(event.to_payload()).encode(),
                          **event.attributes(str(uuid.uuid4()))).result(timeout=10)
        dead = wait_for(lambda: pull_dead_letters(stack.project, topic), timeout_s=60,
                        what="the message in the dead-letter subscription")
        assert json.loads(dead[0].data)["data"]["connection_id"] == connection_id
        attempts = len(calls)
        assert 5 <= attempts <= 7          # bounded: max_delivery_attempts, best effort
        import time

        time.sleep(3)
        assert len(calls) == attempts      # and then it stops
        assert _run_count(owner, connection_id) == 0
    finally:
        server.stop()
        runtime.engine.dispose()
        subscriber.close()
