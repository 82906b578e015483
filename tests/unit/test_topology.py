"""The topology is the single source of truth; its mistakes fail at load time."""

from __future__ import annotations

import copy

import pytest
import yaml

from shared.topology import TopologyError, _build, default_path, load_topology


@pytest.fixture
def raw() -> dict:
    return yaml.safe_load(default_path().read_text())


def test_the_repository_topology_loads_and_is_consistent():
    topology = load_topology()
    assert topology.region == "europe-west1"
    for subscription in topology.subscriptions.values():
        assert subscription.topic in topology.topics
        assert topology.service(subscription.service).route(subscription.path).kind == "push"
    assert "sync-requested-dead-letter" in topology.dead_letter_topics()


@pytest.mark.parametrize("mutate, message", [
    (lambda r: r["subscriptions"]["ingest-sync-requested"].update(topic="no-such-topic"),
     "unknown topic"),
    (lambda r: r["subscriptions"]["ingest-sync-requested"].update(path="/push/nowhere"),
     "has no route"),
    (lambda r: r["services"]["ingest"]["secrets"].append("no-such-secret"), "unknown secret"),
    (lambda r: r["schedules"]["sync-hourly"].update(service="nobody"), "unknown service"),
    (lambda r: r["schedules"]["sync-hourly"].update(path="/push/sync-requested"),
     "not a scheduler route"),
    (lambda r: r["subscriptions"]["ingest-sync-requested"].update(max_delivery_attempts=3),
     "5..100"),
    (lambda r: r["services"]["token-vault"]["callers"].update(stranger=["x"]), "unknown caller"),
    (lambda r: r["services"]["api"].update(port=r["services"]["ingest"]["port"]), "port"),
    (lambda r: r["topics"].update({"Bad_Name": "x"}), "kebab-case"),
    (lambda r: r["schedules"]["sync-hourly"].update(cron="* *"), "five fields"),
])
def test_inconsistent_topologies_are_refused_with_a_clear_message(raw, mutate, message):
    broken = copy.deepcopy(raw)
    mutate(broken)
    with pytest.raises(TopologyError, match=message):
        _build(broken)


def test_service_accounts_follow_the_project():
    topology = load_topology()
    assert topology.service_account("pubsub-push") == \
        "pubsub-push@coax-local.iam.gserviceaccount.com"
    assert topology.secret_owners("token-kek") == ["token-vault"]
