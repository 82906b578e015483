"""Test access to the local stack: URLs, engines, organizations, running services."""

from __future__ import annotations

import threading
import uuid
from contextlib import contextmanager

import sqlalchemy as sa
from werkzeug.serving import make_server

from infra.local.stack import StackConfig, service_env


def owner_engine(cfg: StackConfig) -> sa.Engine:
    return sa.create_engine(cfg.url("coax_owner"), poolclass=sa.pool.NullPool)


def role_engine(cfg: StackConfig, role: str) -> sa.Engine:
    return sa.create_engine(cfg.url(role), poolclass=sa.pool.NullPool)


def create_org(engine: sa.Engine, *, name: str = "Contoso", tenant_id: str | None = None,
               mode: str = "attachments", status: str = "active",
               mailbox_scope: list[str] | None = None) -> tuple[str, str]:
    """An organization with one connection, written as the owner (test set-up only)."""
    org_id, connection_id = str(uuid.uuid4()), str(uuid.uuid4())
    with engine.begin() as connection:
        connection.execute(sa.text("insert into organizations (id, name) values (:id, :name)"),
                           {"id": org_id, "name": name})
        connection.execute(
            sa.text("insert into connections (id, org_id, tenant_id, mode, status, mailbox_scope) "
                    "values (:id, :org, :tenant, :mode, :status, :scope)"),
            {"id": connection_id, "org": org_id, "tenant": tenant_id or str(uuid.uuid4()),
             "mode": mode, "status": status, "scope": mailbox_scope})
    return org_id, connection_id


def deactivate_other_connections(engine: sa.Engine, keep: list[str]) -> None:
    """Cron tests look at 'every active connection': park earlier tests' ones."""
    with engine.begin() as connection:
        connection.execute(
            sa.text("update connections set status = 'disconnected' "
                    "where not (id = any(cast(:keep as uuid[])))"), {"keep": keep})


class RunningService:
    def __init__(self, app, port: int = 0):
        """Port 0 takes any free port: only services the emulator pushes to
        need their topology port."""
        self.app = app
        self._server = make_server("127.0.0.1", port, app, threaded=True)
        self.port = self._server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> RunningService:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def running_service(cfg: StackConfig, name: str, create_app, extra_env: dict | None = None,
                    port: int | None = None, **overrides):
    from shared.topology import load_topology

    service = load_topology().service(name)
    app = create_app(service_env(cfg, name, extra_env), **overrides)
    running = RunningService(app, cfg.service_port(service) if port is None else port).start()
    try:
        yield running
    finally:
        running.stop()
        app.extensions["coax"].engine.dispose()
