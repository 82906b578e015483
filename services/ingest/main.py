"""ingest entry points: decode the request, call a handler, answer a status."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

import requests
from flask import Flask

from services.ingest import handlers
from shared.catalog import load_catalog
from shared.graph import Backoff
from shared.messaging.contracts import SyncRequested
from shared.runtime import bootstrap
from shared.web import outbox_relay_route, push_route, scheduler_route, service_app


@dataclass(frozen=True)
class IngestOptions:
    """Process-level knobs; tests set the clock (the simulator's anchor) and a TLS session."""

    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    # Work per push delivery before handing over to a continuation: inside the 600 s ack
    # deadline with room for the final commit and publishing.
    sync_budget_s: float = 420.0
    http_session: Callable[[], requests.Session] | None = None
    graph_backoff: Backoff | None = None          # tests: millisecond backoff


def create_app(env=None, *, options: IngestOptions | None = None, **overrides) -> Flask:
    options = options or IngestOptions()
    runtime = bootstrap("ingest", env, **overrides)
    deps = handlers.SyncDeps(
        uow_factory=runtime.uow, catalog=load_catalog(), vault_url=runtime.settings.vault_url,
        graph_base_url=runtime.settings.graph_base_url, clock=options.clock,
        budget_s=options.sync_budget_s, http_session=options.http_session,
        graph_backoff=options.graph_backoff)
    app = service_app(runtime)
    scheduler_route(app, runtime, "/cron/sync", lambda: handlers.request_syncs(runtime.uow))
    push_route(app, runtime, "/push/sync-requested",
               {SyncRequested: partial(handlers.run_sync, deps=deps)})
    outbox_relay_route(app, runtime)
    return app
