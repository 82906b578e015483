"""The wiring of the whole system, loaded from infra/topology.yaml.

Everything that names a service, topic, route or secret is checked here at load
time, so a typo in the topology fails at start-up instead of at 3 a.m. when a
message first goes to a topic nobody subscribes to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

ROUTE_KINDS = frozenset({"push", "scheduler", "internal", "public"})
_KEBAB = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_ROLE = re.compile(r"^[a-z_][a-z0-9_]*$")


class TopologyError(ValueError):
    """The topology file is inconsistent; the message says where."""


@dataclass(frozen=True)
class Route:
    path: str
    kind: str


@dataclass(frozen=True)
class Service:
    name: str
    package: str
    port: int
    db_role: str
    secrets: tuple[str, ...]
    routes: tuple[Route, ...]
    callers: dict[str, tuple[str, ...]]

    def route(self, path: str) -> Route:
        for route in self.routes:
            if route.path == path:
                return route
        raise KeyError(path)


@dataclass(frozen=True)
class RetryPolicy:
    min_s: int
    max_s: int


@dataclass(frozen=True)
class Subscription:
    name: str
    topic: str
    service: str
    path: str
    ack_deadline_s: int
    retry: RetryPolicy
    max_delivery_attempts: int

    @property
    def dead_letter_topic(self) -> str:
        return f"{self.topic}-dead-letter"


@dataclass(frozen=True)
class Schedule:
    name: str
    service: str
    path: str
    cron: str
    time_zone: str


@dataclass(frozen=True)
class Topology:
    project: str
    region: str
    identities: dict[str, str]
    services: dict[str, Service]
    secrets: dict[str, str]
    topics: dict[str, str]
    subscriptions: dict[str, Subscription]
    schedules: dict[str, Schedule]
    local_retry: RetryPolicy
    local_max_delivery_attempts: int
    local_ack_deadline_s: int

    def service(self, name: str) -> Service:
        try:
            return self.services[name]
        except KeyError:
            raise TopologyError(f"unknown service {name!r}") from None

    def service_account(self, identity: str) -> str:
        """The email of a service's (or a platform identity's) runtime account."""
        local = self.identities.get(identity, identity)
        return f"{local}@{self.project}.iam.gserviceaccount.com"

    def dead_letter_topics(self) -> list[str]:
        return [f"{topic}-dead-letter" for topic in self.topics]

    def subscriptions_for(self, service: str) -> list[Subscription]:
        return [s for s in self.subscriptions.values() if s.service == service]

    def secret_owners(self, secret: str) -> list[str]:
        return [s.name for s in self.services.values() if secret in s.secrets]


def default_path() -> Path:
    return Path(__file__).resolve().parent.parent / "infra" / "topology.yaml"


def load_topology(path: Path | None = None) -> Topology:
    path = path or default_path()
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise TopologyError(f"cannot read topology {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise TopologyError(f"{path}: expected a mapping at the top level")
    return _build(raw)


def _build(raw: dict) -> Topology:
    secrets = dict(_mapping(raw, "secrets"))
    topics = dict(_mapping(raw, "topics"))
    for topic in topics:
        if not _KEBAB.match(topic) or topic.endswith("-dead-letter"):
            raise TopologyError(
                f"topic {topic!r}: kebab-case, without -dead-letter (added for you)")
    services = {
        name: _service(name, spec, secrets) for name, spec in _mapping(raw, "services").items()
    }
    for service in services.values():
        for caller in service.callers:
            if caller not in services:
                raise TopologyError(f"service {service.name}: unknown caller {caller!r}")
    subscriptions = {
        name: _subscription(name, spec, topics, services)
        for name, spec in _mapping(raw, "subscriptions").items()
    }
    schedules = {
        name: _schedule(name, spec, services) for name, spec in _mapping(raw, "schedules").items()
    }
    ports = [s.port for s in services.values()]
    if len(set(ports)) != len(ports):
        raise TopologyError("two services share a local port")
    local = raw.get("local") or {}
    return Topology(
        project=_required(raw, "project", str),
        region=_required(raw, "region", str),
        identities=dict(raw.get("identities") or {}),
        services=services,
        secrets=secrets,
        topics=topics,
        subscriptions=subscriptions,
        schedules=schedules,
        local_retry=_retry("local", local.get("retry") or {"min_s": 1, "max_s": 2}),
        local_max_delivery_attempts=int(local.get("max_delivery_attempts", 5)),
        local_ack_deadline_s=int(local.get("ack_deadline_s", 30)),
    )


def _service(name: str, spec: dict, secrets: dict) -> Service:
    where = f"service {name}"
    routes = tuple(Route(path=r["path"], kind=r["kind"]) for r in spec.get("routes") or [])
    for route in routes:
        if route.kind not in ROUTE_KINDS:
            raise TopologyError(f"{where}: route {route.path} has unknown kind {route.kind!r}")
        if not route.path.startswith("/"):
            raise TopologyError(f"{where}: route {route.path!r} must start with /")
    own_secrets = tuple(spec.get("secrets") or [])
    for secret in own_secrets:
        if secret not in secrets:
            raise TopologyError(f"{where}: unknown secret {secret!r}")
    role = _required(spec, "db_role", str, where)
    if not _ROLE.match(role):
        raise TopologyError(f"{where}: db_role {role!r} is not a plain identifier")
    callers = {c: tuple(p or []) for c, p in (spec.get("callers") or {}).items()}
    return Service(
        name=name,
        package=_required(spec, "package", str, where),
        port=_required(spec, "port", int, where),
        db_role=role,
        secrets=own_secrets,
        routes=routes,
        callers=callers,
    )


def _subscription(name: str, spec: dict, topics: dict,
                  services: dict[str, Service]) -> Subscription:
    where = f"subscription {name}"
    topic = _required(spec, "topic", str, where)
    if topic not in topics:
        raise TopologyError(f"{where}: unknown topic {topic!r}")
    service_name, path = _target_route(where, spec, services, "push")
    attempts = int(spec.get("max_delivery_attempts", 10))
    if not 5 <= attempts <= 100:
        raise TopologyError(f"{where}: max_delivery_attempts must be 5..100 (Pub/Sub's range)")
    deadline = int(spec.get("ack_deadline_s", 60))
    if not 10 <= deadline <= 600:
        raise TopologyError(f"{where}: ack_deadline_s must be 10..600")
    return Subscription(
        name=name,
        topic=topic,
        service=service_name,
        path=path,
        ack_deadline_s=deadline,
        retry=_retry(where, spec.get("retry") or {"min_s": 10, "max_s": 600}),
        max_delivery_attempts=attempts,
    )


def _schedule(name: str, spec: dict, services: dict[str, Service]) -> Schedule:
    where = f"schedule {name}"
    service_name, path = _target_route(where, spec, services, "scheduler")
    cron = _required(spec, "cron", str, where)
    if len(cron.split()) != 5:
        raise TopologyError(f"{where}: cron {cron!r} needs five fields")
    return Schedule(name, service_name, path, cron, spec.get("time_zone", "Etc/UTC"))


def _target_route(where: str, spec: dict, services: dict[str, Service],
                  kind: str) -> tuple[str, str]:
    """The (service, path) a subscription or schedule points at, which must exist."""
    service_name = _required(spec, "service", str, where)
    if service_name not in services:
        raise TopologyError(f"{where}: unknown service {service_name!r}")
    path = _required(spec, "path", str, where)
    try:
        route = services[service_name].route(path)
    except KeyError:
        raise TopologyError(f"{where}: service {service_name} has no route {path}") from None
    if route.kind != kind:
        raise TopologyError(f"{where}: route {path} is not a {kind} route")
    return service_name, path


def _retry(where: str, spec: dict) -> RetryPolicy:
    policy = RetryPolicy(int(spec["min_s"]), int(spec["max_s"]))
    if not 0 <= policy.min_s <= policy.max_s <= 600:
        raise TopologyError(f"{where}: retry needs 0 <= min_s <= max_s <= 600")
    return policy


def _mapping(raw: dict, key: str) -> dict:
    value = raw.get(key) or {}
    if not isinstance(value, dict):
        raise TopologyError(f"{key}: expected a mapping")
    return value


def _required(spec: dict, key: str, kind: type, where: str = "topology"):
    if key not in spec:
        raise TopologyError(f"{where}: missing {key!r}")
    value = spec[key]
    if not isinstance(value, kind):
        raise TopologyError(f"{where}: {key!r} should be {kind.__name__}")
    return value
