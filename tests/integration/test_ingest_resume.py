"""A sync killed half-way continues from its watermarks, and re-reading adds nothing twice.

The steps run directly against the simulator (tokens straight from its identity platform:
the vault is not what is under test here) and real PostgreSQL as the ingest role.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
import sqlalchemy as sa

from services.ingest import graph_sources
from services.ingest.directory_sync import sync_directory
from services.ingest.progress import OutOfTime, SyncContext
from services.ingest.rollups import refresh_active_users
from services.ingest.sign_in_sync import sync_sign_ins
from shared.catalog import load_catalog
from shared.db import UnitOfWorkFactory
from shared.graph import Backoff, GraphClient
from tests.m365sim.harness import start_simulator
from tests.m365sim.world import World
from tests.support.stack import create_org, role_engine

ANCHOR = date(2026, 11, 30)
ANCHOR_TIME = datetime.combine(ANCHOR, time.min, tzinfo=UTC)


class Killed(Exception):
    """The instance died here."""


@pytest.fixture(scope="module")
def sim():
    with start_simulator(world=World(seed=11, profile="small", anchor_date=ANCHOR)) as running:
        running.set_limits(window_scale=0.01)
        yield running


@pytest.fixture(scope="module")
def ingest(stack):
    engine = role_engine(stack, "coax_ingest")
    yield UnitOfWorkFactory(engine)
    engine.dispose()


def graph(sim) -> GraphClient:
    return GraphClient(sim.token_provider(sim.tenants[0].tenant_id), base_url=sim.graph_url,
                       session=sim.session(), backoff=Backoff(base_s=0.01, cap_s=0.05))


def stored_count(owner, org_id: str) -> int:
    with owner.connect() as c:
        return c.execute(sa.text("select count(*) from sign_ins where org_id = :o"),
                         {"o": org_id}).scalar()


def stored_apps(owner, org_id: str) -> list[tuple]:
    with owner.connect() as c:
        return sorted(tuple(r) for r in c.execute(sa.text(
            "select app_id::text, active_users_7d, active_users_30d from discovered_apps "
            "where org_id = :o"), {"o": org_id}))


def truth_apps(sim) -> list[tuple]:
    tenant = sim.ground_truth()["tenants"][0]
    return sorted((a["app_id"], a["active_users_7d"], a["active_users_30d"])
                  for a in tenant["apps"])


def test_a_sync_killed_mid_window_resumes_from_its_next_link(owner, sim, ingest):
    org_id, connection_id = create_org(owner)
    client, catalog = graph(sim), load_catalog()
    links: list[str | None] = []

    def pages_for(window, link):
        links.append(link)
        yield from graph_sources.sign_in_pages(client, window, link, page_size=20)

    def dying(window, link):
        # Dies when asked for a window's third page: its first two (40 rows) were flushed
        # together with the link to the third.
        for number, page in enumerate(pages_for(window, link), start=1):
            if number == 3:
                raise Killed()
            yield page

    def context() -> SyncContext:
        return SyncContext(org_id, connection_id, ingest, now=ANCHOR_TIME)

    with pytest.raises(Killed):
        sync_sign_ins(context(), dying, catalog, flush_rows=40)
    partial = stored_count(owner, org_id)
    total = len(sim.world.tenants[0].signins.events)
    assert 0 < partial < total

    links.clear()
    result = sync_sign_ins(context(), pages_for, catalog, flush_rows=40)
    assert links[0] is not None and "skiptoken" in links[0]   # resumed inside the window
    assert stored_count(owner, org_id) == total
    assert result.stored == total - partial                      # nothing stored twice
    with ingest(org_id=org_id) as uow:
        refresh_active_users(uow, ANCHOR_TIME)
        uow.commit()
    assert stored_apps(owner, org_id) == truth_apps(sim)

    # Running the finished sync again reads only the late-arrival overlap and stores nothing.
    again = sync_sign_ins(context(), pages_for, catalog, flush_rows=40)
    assert (again.windows, again.stored) == (1, 0)


def test_a_sync_out_of_time_stops_at_a_page_and_the_next_slice_carries_on(owner, sim, ingest):
    org_id, connection_id = create_org(owner)
    client, catalog = graph(sim), load_catalog()
    slices = 0
    while True:
        slices += 1
        ctx = SyncContext(org_id, connection_id, ingest, now=ANCHOR_TIME, budget_s=0.0)
        try:
            sync_directory(ctx, lambda link: graph_sources.delta_pages(client, link))
            sync_sign_ins(ctx, lambda w, link: graph_sources.sign_in_pages(client, w, link),
                          catalog)
            break
        except OutOfTime:
            assert slices < 50
    assert slices > 2
    assert stored_count(owner, org_id) == len(sim.world.tenants[0].signins.events)
    with ingest(org_id=org_id) as uow:
        refresh_active_users(uow, ANCHOR_TIME)
        uow.commit()
    assert stored_apps(owner, org_id) == truth_apps(sim)
