"""Start-up: everything a service process builds once (no import-time clients).

`bootstrap()` validates settings, configures logging, and builds the engine,
the unit-of-work factory, the publisher with its outbox relay, the scoped
secrets and the request verifiers. Services keep the returned Runtime on their
Flask app; nothing is a module global.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa

from shared.db import UnitOfWorkFactory, make_engine
from shared.identity.oidc import GOOGLE_CERTS_URL, LocalTrust, OidcVerifier
from shared.logs import configure_logging
from shared.messaging.outbox import OutboxRelay
from shared.messaging.publisher import Publisher, PubSubPublisher
from shared.secrets import ScopedSecrets, SecretStore, build_store
from shared.settings import Settings
from shared.topology import Service, Topology, load_topology

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    topology: Topology
    service: Service
    engine: sa.Engine
    uow: UnitOfWorkFactory
    publisher: Publisher
    relay: OutboxRelay
    secrets: ScopedSecrets
    verifiers: dict[str, object] = field(default_factory=dict)   # route kind -> verifier

    def audit_system(self, action: str, target: str, details: dict) -> None:
        """An audit record outside any organization (e.g. a refused secret read)."""
        with self.uow() as uow:
            uow.audit(actor=self.service.name, action=action, target=target, details=details)
            uow.commit()


def bootstrap(service_name: str, env: Mapping[str, str] | None = None, *,
              publisher: Publisher | None = None,
              secret_store: SecretStore | None = None,
              certs_url: str | None = None) -> Runtime:
    settings = Settings.from_env(service_name, env)
    configure_logging(service_name)
    topology = load_topology(settings.topology_path)
    service = topology.service(service_name)
    engine = make_engine(settings.database_url)
    publisher = publisher or PubSubPublisher.create(settings.project)
    relay = OutboxRelay(engine, publisher)
    runtime = Runtime(
        settings=settings,
        topology=topology,
        service=service,
        engine=engine,
        uow=UnitOfWorkFactory(engine, after_commit=relay.publish_ids),
        publisher=publisher,
        relay=relay,
        secrets=None,  # type: ignore[arg-type]  (set below: it audits through the runtime)
    )
    store = secret_store or build_store(settings.secrets_dir, settings.project)
    runtime.secrets = ScopedSecrets(store, service_name, topology, audit=runtime.audit_system)
    runtime.verifiers = _verifiers(settings, topology, service, certs_url)
    log.info("service started: " + json.dumps({"service": service_name,
                                               "environment": settings.environment,
                                               "push_auth": settings.push_auth}))
    return runtime


def _verifiers(settings: Settings, topology: Topology, service: Service,
               certs_url: str | None) -> dict[str, object]:
    """One verifier per route kind, each allowing exactly the topology's identities."""
    allowed = {
        "push": {"pubsub-push"},
        "scheduler": {"scheduler"},
        "internal": set(service.callers),
    }
    if not settings.push_auth:
        defaults = {"push": "pubsub-push", "scheduler": "scheduler", "internal": ""}
        return {kind: LocalTrust(defaults[kind], ids) for kind, ids in allowed.items()}
    audience = settings.push_audience or ""
    return {
        kind: OidcVerifier(
            audience,
            {topology.service_account(identity): identity for identity in ids},
            certs_url=certs_url or GOOGLE_CERTS_URL,
        )
        for kind, ids in allowed.items()
    }
