"""Publishing to Pub/Sub (the emulator locally: the client reads PUBSUB_EMULATOR_HOST)."""

from __future__ import annotations

from typing import Protocol


class Publisher(Protocol):
    def publish(self, topic: str, data: bytes, attributes: dict[str, str]) -> str: ...


class PubSubPublisher:
    def __init__(self, client, project: str, timeout_s: float = 30.0):
        self._client = client
        self.project = project
        self.timeout_s = timeout_s

    @classmethod
    def create(cls, project: str) -> PubSubPublisher:
        from google.cloud import pubsub_v1

        return cls(pubsub_v1.PublisherClient(), project)

    def publish(self, topic: str, data: bytes, attributes: dict[str, str]) -> str:
        path = self._client.topic_path(self.project, topic)
        return self._client.publish(path, data, **attributes).result(timeout=self.timeout_s)
