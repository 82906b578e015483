"""ingest entry points: decode the request, call a handler, answer a status."""

from __future__ import annotations

from flask import Flask

from services.ingest import handlers
from shared.messaging.contracts import SyncRequested
from shared.runtime import bootstrap
from shared.web import outbox_relay_route, push_route, scheduler_route, service_app


def create_app(env=None, **overrides) -> Flask:
    runtime = bootstrap("ingest", env, **overrides)
    app = service_app(runtime)
    scheduler_route(app, runtime, "/cron/sync", lambda: handlers.request_syncs(runtime.uow))
    push_route(app, runtime, "/push/sync-requested", {SyncRequested: handlers.run_sync})
    outbox_relay_route(app, runtime)
    return app
