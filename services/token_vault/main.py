"""token-vault entry points: decode the request, call a handler, answer a status."""

from __future__ import annotations

import logging
from collections.abc import Callable

import requests
from flask import Flask, jsonify, request

from services.token_vault import consent, handlers, rotation
from services.token_vault.errors import VaultRefusal
from services.token_vault.vault import Vault, build_vault
from shared.identity.oidc import Forbidden, Unauthenticated
from shared.logs import log_fields
from shared.runtime import bootstrap
from shared.web import authenticate, outbox_relay_route, scheduler_route, service_app

log = logging.getLogger(__name__)


def create_app(env=None, *, http_session: requests.Session | None = None, **overrides) -> Flask:
    """`http_session` (tests): how the vault reaches the identity platform."""
    runtime = bootstrap("token-vault", env, **overrides)
    vault = build_vault(runtime, env, http_session)
    app = service_app(runtime)
    app.extensions["token-vault"] = vault

    internal(app, vault, "/v1/access-token",
             lambda caller: handlers.hand_out(vault, caller, _json()))
    internal(app, vault, "/connect/admin-consent/start",
             lambda caller: consent.start_admin_consent(vault, caller, _json()))
    internal(app, vault, "/connect/delegated/start",
             lambda caller: consent.start_delegated(vault, caller, _json()))
    internal(app, vault, "/v1/connections/<connection_id>/revoke",
             lambda caller, connection_id: handlers.revoke_connection(vault, caller,
                                                                      connection_id))
    internal(app, vault, "/v1/orgs/<org_id>/shred",
             lambda caller, org_id: handlers.shred_org(vault, caller, org_id))
    public(app, "/connect/admin-consent/callback",
           lambda: consent.finish_admin_consent(vault, _query()))
    public(app, "/connect/delegated/callback",
           lambda: consent.finish_delegated(vault, _query()))
    scheduler_route(app, runtime, "/cron/refresh", lambda: handlers.refresh_due(vault))
    scheduler_route(app, runtime, "/cron/rewrap", lambda: rotation.rewrap_all(runtime, vault.keys))
    outbox_relay_route(app, runtime)
    return app


def internal(app: Flask, vault: Vault, path: str, action: Callable[..., dict]) -> None:
    """A service-to-service route; refused callers are answered 401/403 and audited."""

    def view(**path_args):
        try:
            caller = authenticate(vault.runtime, "internal").identity
        except (Unauthenticated, Forbidden) as error:
            status = 401 if isinstance(error, Unauthenticated) else 403
            log.warning("caller refused", extra=log_fields(path=request.path, reason=str(error)))
            vault.runtime.audit_system("vault.caller_refused", request.path[:200],
                                       {"reason": str(error)[:200]})
            return jsonify(error="unauthenticated" if status == 401 else "forbidden"), status
        return _answer(lambda: action(caller, **path_args))

    app.add_url_rule(path, endpoint=f"internal:{path}", view_func=view, methods=["POST"])


def public(app: Flask, path: str, action: Callable[[], dict]) -> None:
    """A browser-facing callback (Microsoft redirects here); the sealed state authenticates."""
    app.add_url_rule(path, endpoint=f"public:{path}", view_func=lambda: _answer(action),
                     methods=["GET"])


def _answer(action: Callable[[], dict]):
    try:
        return jsonify(action()), 200
    except VaultRefusal as refusal:
        return jsonify(refusal.body()), refusal.status


def _json() -> object:
    return request.get_json(silent=True)


def _query() -> dict:
    return {key: request.args.get(key) for key in request.args}
