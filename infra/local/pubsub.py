"""Topics and subscriptions from the topology, on the emulator (or a real project).

Every topic gets `<topic>-dead-letter` and a pull subscription on it
(`<topic>-dead-letter-sub`), because a dead-letter topic nobody subscribes to
loses messages. Push subscriptions carry the retry and dead-letter policies.
"""

from __future__ import annotations

from google.api_core import exceptions
from google.cloud import pubsub_v1
from google.protobuf import duration_pb2

from shared.topology import Topology


def dead_letter_subscription(topic: str) -> str:
    return f"{topic}-dead-letter-sub"


def apply_topology(topology: Topology, project: str, service_urls: dict[str, str],
                   *, local: bool = True) -> dict[str, int]:
    publisher = pubsub_v1.PublisherClient()
    subscriber = pubsub_v1.SubscriberClient()
    created = {"topics": 0, "subscriptions": 0}
    try:
        for topic in list(topology.topics) + topology.dead_letter_topics():
            try:
                publisher.create_topic(name=publisher.topic_path(project, topic))
                created["topics"] += 1
            except exceptions.AlreadyExists:
                pass
        for subscription in topology.subscriptions.values():
            retry = topology.local_retry if local else subscription.retry
            attempts = (topology.local_max_delivery_attempts if local
                        else subscription.max_delivery_attempts)
            deadline = topology.local_ack_deadline_s if local else subscription.ack_deadline_s
            request = {
                "name": subscriber.subscription_path(project, subscription.name),
                "topic": publisher.topic_path(project, subscription.topic),
                "push_config": {
                    "push_endpoint": service_urls[subscription.service] + subscription.path},
                "ack_deadline_seconds": deadline,
                "retry_policy": {
                    "minimum_backoff": duration_pb2.Duration(seconds=retry.min_s),
                    "maximum_backoff": duration_pb2.Duration(seconds=retry.max_s),
                },
                "dead_letter_policy": {
                    "dead_letter_topic": publisher.topic_path(
                        project, subscription.dead_letter_topic),
                    "max_delivery_attempts": attempts,
                },
            }
            _recreate(subscriber, request)
            created["subscriptions"] += 1
        for topic in topology.topics:
            _recreate(subscriber, {
                "name": subscriber.subscription_path(project, dead_letter_subscription(topic)),
                "topic": publisher.topic_path(project, f"{topic}-dead-letter"),
                "ack_deadline_seconds": 60,
            })
            created["subscriptions"] += 1
    finally:
        subscriber.close()
    return created


def _recreate(subscriber, request: dict) -> None:
    """Start every run from the topology's settings, not from a previous run's."""
    try:
        subscriber.delete_subscription(subscription=request["name"])
    except exceptions.NotFound:
        pass
    subscriber.create_subscription(request=request)


def pull_dead_letters(project: str, topic: str, max_messages: int = 100) -> list:
    """Take what sits in a topic's dead-letter subscription (operators and tests)."""
    subscriber = pubsub_v1.SubscriberClient()
    try:
        path = subscriber.subscription_path(project, dead_letter_subscription(topic))
        response = subscriber.pull(request={"subscription": path, "max_messages": max_messages},
                                   timeout=10)
        received = list(response.received_messages)
        if received:
            subscriber.acknowledge(request={"subscription": path,
                                            "ack_ids": [r.ack_id for r in received]})
        return [r.message for r in received]
    finally:
        subscriber.close()
