"""ingest's tables against real PostgreSQL: de-duplication, roll-ups, isolation, partitions,
grants. Everything runs as the service roles, as in production; the owner only sets up and
inspects."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from services.ingest import directory_store, rollups, sign_in_store
from services.ingest.records import DirectoryRemoval, DirectoryUser, SignIn
from services.ingest.windows import Window
from shared.catalog import load_catalog
from shared.db import UnitOfWorkFactory
from tests.support.stack import create_org, role_engine

DAY = datetime(2026, 11, 20, tzinfo=UTC)
TEAMS = "1fec8e78-bce4-4aaf-ab1b-5451cc387264"
PORTAL = "3c1e9d2a-0000-4000-8000-00000000abcd"


@pytest.fixture(scope="module")
def ingest(stack):
    engine = role_engine(stack, "coax_ingest")
    yield UnitOfWorkFactory(engine)
    engine.dispose()


def guid() -> str:
    return str(uuid.uuid4())


def signin(user: str, app: str, at: datetime, ok: bool = True, name: str = "Microsoft Teams"
           ) -> SignIn:
    return SignIn(guid(), at, user, app, name, ok, True)


def store(ingest, org: str, connection: str, rows: list[SignIn]) -> int:
    with ingest(org_id=org) as uow:
        sign_in_store.ensure_partitions(uow, DAY.date(), DAY.date())
        stored = sign_in_store.store_sign_ins(uow, connection, rows)
        uow.commit()
    return stored


def test_a_page_stored_twice_is_stored_once(owner, ingest):
    org, connection = create_org(owner)
    page = [signin(guid(), TEAMS, DAY + timedelta(minutes=i)) for i in range(50)]
    assert store(ingest, org, connection, page) == 50
    assert store(ingest, org, connection, page) == 0
    # Two batches in one transaction: the staging table does not carry the first into the second.
    more = [signin(guid(), TEAMS, DAY + timedelta(hours=1, minutes=i)) for i in range(3)]
    with ingest(org_id=org) as uow:
        assert sign_in_store.store_sign_ins(uow, connection, more[:2]) == 2
        assert sign_in_store.store_sign_ins(uow, connection, more[2:] + page[:5]) == 1
        uow.commit()
    with owner.connect() as c:
        assert c.execute(sa.text("select count(*) from sign_ins where org_id = :o"),
                         {"o": org}).scalar() == 53


def test_one_organization_never_sees_another_ones_sign_ins(owner, ingest):
    org_a, connection_a = create_org(owner)
    org_b, _ = create_org(owner)
    store(ingest, org_a, connection_a, [signin(guid(), TEAMS, DAY)])
    with ingest(org_id=org_b) as uow:
        assert uow.scalar("select count(*) from sign_ins") == 0
        assert uow.scalar("select count(*) from sign_ins where org_id = :a", {"a": org_a}) == 0
    with ingest() as uow:   # no organization set: nothing at all
        assert uow.scalar("select count(*) from sign_ins") == 0


def test_roll_ups_count_distinct_successful_users_per_app_and_day(owner, ingest):
    org, connection = create_org(owner)
    ada, bob = guid(), guid()
    rows = [
        signin(ada, TEAMS, DAY + timedelta(hours=9)),
        signin(ada, TEAMS, DAY + timedelta(hours=15)),          # same user twice: counted once
        signin(bob, TEAMS, DAY + timedelta(hours=10), ok=False),  # a failure is not activity
        signin(bob, TEAMS, DAY + timedelta(days=1, hours=8)),
        signin(bob, PORTAL, DAY + timedelta(days=1, hours=9), name="Contoso Expense Portal"),
    ]
    store(ingest, org, connection, rows)
    catalog = load_catalog()
    window = Window(DAY, DAY + timedelta(days=2))
    with ingest(org_id=org) as uow:
        rollups.roll_up_window(uow, window, catalog)
        rollups.roll_up_window(uow, window, catalog)       # re-running changes nothing
        rollups.refresh_active_users(uow, DAY + timedelta(days=2))
        uow.commit()
    with owner.connect() as c:
        daily = c.execute(sa.text(
            "select app_id::text, day, active_users, sign_ins, failed_sign_ins "
            "from app_usage_daily where org_id = :o order by app_id, day"), {"o": org}).all()
        apps = {str(r.app_id): r for r in c.execute(sa.text(
            "select * from discovered_apps where org_id = :o"), {"o": org})}
    assert [tuple(r) for r in daily] == sorted([
        (TEAMS, DAY.date(), 1, 3, 1),
        (TEAMS, (DAY + timedelta(days=1)).date(), 1, 1, 0),
        (PORTAL, (DAY + timedelta(days=1)).date(), 1, 1, 0),
    ])
    teams, portal = apps[TEAMS], apps[PORTAL]
    assert (teams.vendor_id, teams.mapping, portal.vendor_id, portal.mapping) == (
        "microsoft-365", "app_id", None, "unmapped")
    assert teams.first_seen_at == DAY + timedelta(hours=9)
    assert teams.last_seen_at == DAY + timedelta(days=1, hours=8)
    assert (teams.active_users_7d, teams.active_users_30d, teams.active_users_90d) == (2, 2, 2)
    assert portal.active_users_7d == 1


def test_a_persons_triage_survives_later_syncs(owner, ingest, stack):
    org, connection = create_org(owner)
    store(ingest, org, connection, [signin(guid(), PORTAL, DAY, name="Contoso Expense Portal")])
    window = Window(DAY, DAY + timedelta(days=1))
    with ingest(org_id=org) as uow:
        rollups.roll_up_window(uow, window, load_catalog())
        uow.commit()
    api = UnitOfWorkFactory(role_engine(stack, "coax_api"))
    with api(org_id=org) as uow:
        uow.execute("update discovered_apps set vendor_id = 'concur', mapping = 'manual' "
                    "where app_id = :a", {"a": PORTAL})
        uow.commit()
    store(ingest, org, connection, [signin(guid(), PORTAL, DAY + timedelta(hours=2),
                                           name="Contoso Expense Portal")])
    with ingest(org_id=org) as uow:
        rollups.roll_up_window(uow, window, load_catalog())
        uow.commit()
    with owner.connect() as c:
        row = c.execute(sa.text("select vendor_id, mapping, last_seen_at from discovered_apps "
                                "where org_id = :o"), {"o": org}).one()
    assert (row.vendor_id, row.mapping) == ("concur", "manual")
    assert row.last_seen_at == DAY + timedelta(hours=2)
    api.engine.dispose()


def test_directory_pages_apply_idempotently_and_removals_keep_a_trace(owner, ingest):
    org, connection = create_org(owner)
    ada = DirectoryUser(guid(), "Ada", "ada@contoso.example", "ada@contoso.example", "Analyst",
                        "Finance", True)
    bob = DirectoryUser(guid(), "Bob", "bob@contoso.example", None, None, "Sales", False)
    for _ in range(2):
        with ingest(org_id=org) as uow:
            directory_store.apply_page(uow, connection, [ada, bob], next_link="next-1",
                                       delta_link=None, now=DAY)
            uow.commit()
    moved = DirectoryUser(ada.user_id, None, None, None, None, "Sales", None,
                          present=frozenset({"department"}))
    with ingest(org_id=org) as uow:
        directory_store.apply_page(uow, connection, [moved, DirectoryRemoval(bob.user_id)],
                                   next_link=None, delta_link="delta-1", now=DAY)
        uow.commit()
    with ingest(org_id=org) as uow:
        state = directory_store.load_state(uow, connection)
    assert state == directory_store.DirectoryState("delta-1", None)
    with owner.connect() as c:
        rows = {r.display_name: r for r in c.execute(sa.text(
            "select * from directory_users where connection_id = :c"), {"c": connection})}
    assert set(rows) == {"Ada", "Bob"}
    assert (rows["Ada"].department, rows["Ada"].job_title, rows["Ada"].removed_at) == (
        "Sales", "Analyst", None)
    assert rows["Bob"].removed_at == DAY


def test_partitions_are_created_ahead_and_dropped_whole_by_retention(owner, ingest, stack):
    org, connection = create_org(owner)
    # Months far in the past, so dropping them cannot touch any other test's data.
    with ingest(org_id=org) as uow:
        assert sign_in_store.ensure_partitions(uow, datetime(2001, 1, 15).date(),
                                               datetime(2001, 2, 1).date()) == 2
        assert sign_in_store.ensure_partitions(uow, datetime(2001, 1, 1).date(),
                                               datetime(2001, 2, 1).date()) == 0
        sign_in_store.store_sign_ins(uow, connection, [
            signin(guid(), TEAMS, datetime(2001, 1, 31, 23, tzinfo=UTC)),
            signin(guid(), TEAMS, datetime(2001, 2, 1, tzinfo=UTC))])
        uow.commit()
    retention = role_engine(stack, "coax_retention_purge")
    with retention.begin() as c:
        dropped = c.execute(sa.text("select drop_sign_in_partitions_before('2001-02-01')")
                            ).scalars().all()
    with owner.connect() as c:
        left = c.execute(sa.text("select count(*) from sign_ins where org_id = :o"),
                         {"o": org}).scalar()
    with retention.begin() as c:
        cleanup = c.execute(sa.text("select drop_sign_in_partitions_before('2001-03-01')")
                            ).scalars().all()
    retention.dispose()
    assert dropped == ["sign_ins_y2001m01"]
    assert left == 1
    assert cleanup == ["sign_ins_y2001m02"]


@pytest.mark.parametrize("role, statement", [
    ("coax_ingest", "delete from sign_ins"),
    ("coax_ingest", "drop table sign_ins_y2026m11"),
    ("coax_ingest", "select drop_sign_in_partitions_before('2001-01-01')"),
    ("coax_api", "insert into discovered_apps (org_id, app_id, display_name, mapping, "
                 "first_seen_at, last_seen_at, active_users_7d, active_users_30d, "
                 "active_users_90d, as_of) values (gen_random_uuid(), gen_random_uuid(), 'x', "
                 "'manual', now(), now(), 0, 0, 0, now())"),
    ("coax_api", "update discovered_apps set active_users_7d = 1"),
    ("coax_email_scan", "select * from sign_ins"),
    ("coax_api", "select * from sign_ins_y2026m11"),
])
def test_roles_hold_only_what_they_need(stack, role, statement):
    engine = role_engine(stack, role)
    try:
        with pytest.raises(sa.exc.DBAPIError, match="permission denied|must be owner"):
            with engine.begin() as c:
                c.execute(sa.text(statement))
    finally:
        engine.dispose()


def test_an_expired_delta_link_falls_back_to_a_full_round_that_finds_leavers(owner, ingest):
    from services.ingest.directory_sync import sync_directory
    from services.ingest.progress import Page, SyncContext
    from shared.graph import GraphError

    org, connection = create_org(owner)
    ada, bob = guid(), guid()

    def user(user_id: str, name: str) -> dict:
        return {"id": user_id, "displayName": name, "userPrincipalName": f"{name}@c.example",
                "mail": f"{name}@c.example", "jobTitle": None, "department": "Sales",
                "accountEnabled": True}

    asked: list[str | None] = []

    def graph(listing: list[dict], delta_link: str):
        """Microsoft's side, scripted: a stored deltaLink has expired (410 Gone)."""
        def pages(link):
            asked.append(link)
            if link is not None:
                raise GraphError("sync state expired", status=410, code="SyncStateNotFound")
            yield Page(listing[:1], next_link="page-2")
            yield Page(listing[1:], delta_link=delta_link)
        return pages

    first = SyncContext(org, connection, ingest, now=DAY)
    assert sync_directory(first, graph([user(ada, "ada"), user(bob, "bob")], "delta-1")
                          ).round_complete
    later = SyncContext(org, connection, ingest, now=DAY + timedelta(days=1))
    result = sync_directory(later, graph([user(ada, "ada")], "delta-2"))
    assert result.round_complete and asked == [None, "delta-1", None]
    with owner.connect() as c:
        removed = dict(c.execute(sa.text(
            "select display_name, removed_at from directory_users where connection_id = :c"),
            {"c": connection}).all())
        state = c.execute(sa.text("select delta_link, next_link from directory_state "
                                  "where connection_id = :c"), {"c": connection}).one()
    assert removed == {"ada": None, "bob": DAY + timedelta(days=1)}
    assert tuple(state) == ("delta-2", None)
