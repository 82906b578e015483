"""Flask glue shared by every service: health, tracing, authenticated routes.

A service's main.py builds its app with `service_app(runtime)` and then adds
its entry points with `push_route`, `scheduler_route` and `internal_route`;
each checks the caller's identity for that kind of route before anything
else happens.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, Response, g, jsonify, request

from shared.identity.oidc import LOCAL_CALLER_HEADER, Caller, Forbidden, LocalTrust, Unauthenticated
from shared.logs import log_fields, set_trace
from shared.messaging.consumer import Handler, PushConsumer
from shared.messaging.contracts import Event
from shared.runtime import Runtime

log = logging.getLogger(__name__)


def service_app(runtime: Runtime) -> Flask:
    app = Flask(runtime.service.package)
    app.extensions["coax"] = runtime

    @app.before_request
    def _trace() -> None:
        set_trace(request.headers.get("X-Cloud-Trace-Context"), runtime.settings.project)

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok", service=runtime.service.name)

    @app.errorhandler(Exception)
    def _unexpected(exc):
        from werkzeug.exceptions import HTTPException

        if isinstance(exc, HTTPException):
            return exc
        log.error("unhandled error", exc_info=True)
        return jsonify(error="internal error"), 500

    return app


def authenticate(runtime: Runtime, kind: str) -> Caller:
    verifier = runtime.verifiers[kind]
    if isinstance(verifier, LocalTrust):
        return verifier.verify(None, request.headers.get(LOCAL_CALLER_HEADER))
    return verifier.verify(request.headers.get("Authorization"))


def _guarded(runtime: Runtime, kind: str, view: Callable[[], Response | tuple]):
    def wrapper():
        try:
            g.caller = authenticate(runtime, kind)
        except Unauthenticated as exc:
            log.warning("request refused", extra=log_fields(reason=str(exc), path=request.path))
            return jsonify(error="unauthenticated"), 401
        except Forbidden as exc:
            log.warning("request refused", extra=log_fields(reason=str(exc), path=request.path))
            return jsonify(error="forbidden"), 403
        return view()

    return wrapper


def push_route(app: Flask, runtime: Runtime, path: str, handlers: dict[type[Event], Handler]):
    """A Pub/Sub push endpoint: verified, decoded, idempotent, status per policy."""
    consumer = PushConsumer(f"{runtime.service.name}:{path}", runtime.uow, handlers)

    def view():
        outcome = consumer.handle(request.get_data())
        if outcome.status == 204:
            return Response(status=204)
        return jsonify(result=outcome.result, detail=outcome.detail), outcome.status

    app.add_url_rule(path, endpoint=f"push:{path}", view_func=_guarded(runtime, "push", view),
                     methods=["POST"])
    return consumer


def scheduler_route(app: Flask, runtime: Runtime, path: str, action: Callable[[], dict]):
    """A Cloud Scheduler target; `action` returns a JSON-able summary."""

    def view():
        try:
            summary = action()
        except Exception:
            log.error("scheduled job failed", exc_info=True, extra=log_fields(path=path))
            return jsonify(error="job failed"), 500
        return jsonify(summary), 200

    app.add_url_rule(path, endpoint=f"cron:{path}", view_func=_guarded(runtime, "scheduler", view),
                     methods=["POST"])


def internal_route(app: Flask, runtime: Runtime, path: str, view: Callable, methods=("POST",)):
    """A service-to-service endpoint; `g.caller.identity` names the calling service."""
    app.add_url_rule(path, endpoint=f"internal:{path}",
                     view_func=_guarded(runtime, "internal", view), methods=list(methods))


def outbox_relay_route(app: Flask, runtime: Runtime, path: str = "/cron/outbox-relay"):
    """The sweep that publishes what a crash between commit and publish left behind."""
    scheduler_route(app, runtime, path,
                    lambda: {"published": runtime.relay.publish_pending(older_than_s=5)})
