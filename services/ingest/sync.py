"""One connection's sync: the steps its grant allows, in order, each failing on its own.

Directory first (the mailbox fan-out reads it), then sign-ins with their roll-ups, then the
active-user counts of discovered apps, then the mailbox fan-out. A step whose permission the
admin did not grant is skipped; a step Graph forbids is recorded as failed while the others
go on; a missing Entra ID P1 licence is not a failure at all (it is flagged on the
connection). Transient trouble (throttling or outages past the client's retries, the vault
unreachable) propagates, so Pub/Sub delivers again and the sync resumes where it stopped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from services.ingest.directory_sync import DirectoryResult, sync_directory
from services.ingest.fanout import request_mailbox_scans
from services.ingest.progress import Page, SyncContext
from services.ingest.rollups import refresh_active_users
from services.ingest.sign_in_sync import SignInResult, sync_sign_ins
from services.ingest.windows import Window
from shared.catalog import Catalog
from shared.graph.errors import GraphForbidden
from shared.logs import log_fields

log = logging.getLogger(__name__)

# Any one of these granted permissions lets a step run (application permissions).
DIRECTORY_PERMISSIONS = frozenset({"User.Read.All", "Directory.Read.All"})
SIGN_IN_PERMISSIONS = frozenset({"AuditLog.Read.All"})
MAIL_PERMISSIONS = frozenset({"Mail.ReadBasic.All", "Mail.Read", "Mail.ReadBasic"})


@dataclass(frozen=True)
class Connection:
    id: str
    org_id: str
    status: str
    permissions: tuple[str, ...]
    mailbox_scope: tuple[str, ...] | None

    def allows(self, needed: frozenset[str]) -> bool:
        return bool(needed & set(self.permissions))


@dataclass(frozen=True)
class GraphSources:
    """Page readers bound to one connection's Graph client per purpose."""

    delta_pages: Callable[[str | None], Iterator[Page]]
    sign_in_pages: Callable[[Window, str | None], Iterator[Page]]


@dataclass
class SyncOutcome:
    directory: DirectoryResult | None = None
    sign_ins: SignInResult | None = None
    apps_refreshed: int = 0
    mailbox_scans: int = 0
    failed_steps: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        return {
            "directory": vars(self.directory) if self.directory else "not granted",
            "sign_ins": vars(self.sign_ins) if self.sign_ins else "not granted",
            "apps_refreshed": self.apps_refreshed,
            "mailbox_scans": self.mailbox_scans,
            "failed_steps": self.failed_steps,
        }


def run_steps(ctx: SyncContext, connection: Connection, sources: GraphSources,
              catalog: Catalog, sync_id: str | None = None) -> SyncOutcome:
    outcome = SyncOutcome()
    if connection.allows(DIRECTORY_PERMISSIONS):
        outcome.directory = _step(outcome, "directory",
                                  lambda: sync_directory(ctx, sources.delta_pages))
    if connection.allows(SIGN_IN_PERMISSIONS):
        outcome.sign_ins = _step(outcome, "sign_ins",
                                 lambda: sync_sign_ins(ctx, sources.sign_in_pages, catalog))
    with ctx.unit() as uow:
        outcome.apps_refreshed = refresh_active_users(uow, ctx.now)
        uow.commit()
    if connection.allows(MAIL_PERMISSIONS):
        outcome.mailbox_scans = request_mailbox_scans(ctx, connection.mailbox_scope, sync_id)
    return outcome


def _step(outcome: SyncOutcome, name: str, run: Callable):
    try:
        return run()
    except GraphForbidden as exc:
        log.warning("sync step forbidden by Graph; other steps go on", extra=log_fields(
            step=name, status=exc.status, code=exc.code))
        outcome.failed_steps.append(name)
        return None
