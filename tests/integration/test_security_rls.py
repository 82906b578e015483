"""Tenant isolation at the database: forced RLS everywhere, roles that cannot cross orgs."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from shared.db import UnitOfWork
from shared.db.ddl import OWNER_ROLE
from shared.topology import load_topology
from tests.support.stack import create_org, role_engine


def test_every_table_holding_org_id_has_forced_row_level_security(stack, owner):
    with owner.connect() as c:
        rows = c.execute(sa.text("""
            select c.relname, c.relrowsecurity, c.relforcerowsecurity,
                   exists (select 1 from pg_policy p where p.polrelid = c.oid) as has_policy
            from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = 'public' and c.relkind in ('r', 'p')
              and exists (select 1 from pg_attribute a where a.attrelid = c.oid
                          and a.attname = 'org_id' and not a.attisdropped)
              and not c.relispartition
        """)).all()
    assert len(rows) >= 4, "expected the foundation's tenant tables at least"
    unprotected = [r.relname for r in rows
                   if not (r.relrowsecurity and r.relforcerowsecurity and r.has_policy)]
    assert unprotected == []


def test_partitions_of_tenant_tables_are_protected_through_their_parent(stack, owner):
    # RLS on a partitioned table applies to queries through the parent; a service
    # role must not be able to reach a partition directly.
    with owner.connect() as c:
        partitions = c.execute(sa.text("""
            select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = 'public' and c.relispartition
        """)).scalars().all()
        for partition in partitions:
            for role in [s.db_role for s in load_topology().services.values()]:
                direct = c.execute(sa.text(
                    "select has_table_privilege(:role, :table, 'select')"),
                    {"role": role, "table": f"public.{partition}"}).scalar()
                assert not direct, f"{role} can read partition {partition} directly"


def test_service_roles_are_not_superusers_bypassers_or_owners(stack, owner):
    roles = [s.db_role for s in load_topology().services.values()]
    with owner.connect() as c:
        flags = c.execute(sa.text(
            "select rolname, rolsuper, rolbypassrls from pg_roles where rolname = any(:r)"),
            {"r": roles}).all()
        owned = c.execute(sa.text(
            "select tablename, tableowner from pg_tables where schemaname = 'public' "
            "and tableowner <> :owner"), {"owner": OWNER_ROLE}).all()
    assert len(flags) == len(roles)
    assert all(not r.rolsuper and not r.rolbypassrls for r in flags)
    assert owned == []


def test_a_service_role_with_org_a_sees_none_of_org_b_and_cannot_write_for_b(stack, owner):
    org_a, conn_a = create_org(owner, name="Org A")
    org_b, conn_b = create_org(owner, name="Org B")
    engine = role_engine(stack, "coax_ingest")
    try:
        with UnitOfWork(engine, org_id=org_a) as uow:
            connections = uow.execute("select id, org_id from connections").all()
            orgs = uow.execute("select id from organizations").scalars().all()
        assert {str(r.org_id) for r in connections} == {org_a}
        assert [str(o) for o in orgs] == [org_a]

        with UnitOfWork(engine, org_id=org_a) as uow:
            named = uow.execute("select count(*) from connections where id = :b",
                                {"b": conn_b}).scalar()
            assert named == 0
            touched = uow.execute("update connections set last_synced_at = now() where id = :b",
                                  {"b": conn_b}).rowcount
            assert touched == 0

        with pytest.raises(DBAPIError, match="row-level security"):
            with UnitOfWork(engine, org_id=org_a) as uow:
                uow.execute(
                    "insert into sync_runs (org_id, connection_id, reason, requested_at) "
                    "values (:b, :conn, 'manual', now())", {"b": org_b, "conn": conn_b})

        # No organization set: nothing at all is visible.
        with UnitOfWork(engine) as uow:
            assert uow.execute("select count(*) from connections").scalar() == 0
    finally:
        engine.dispose()


def test_the_org_setting_does_not_leak_to_the_next_transaction_on_a_pooled_connection(stack, owner):
    org_a, _ = create_org(owner, name="Leak A")
    engine = sa.create_engine(stack.url("coax_ingest"), pool_size=1, max_overflow=0)
    try:
        with UnitOfWork(engine, org_id=org_a) as uow:
            assert uow.execute("select count(*) from organizations").scalar() == 1
        with UnitOfWork(engine) as uow:
            assert uow.scalar("select current_setting('app.org_id', true)") in (None, "")
            assert uow.execute("select count(*) from organizations").scalar() == 0
    finally:
        engine.dispose()


def test_set_org_refuses_anything_but_a_uuid(stack):
    engine = role_engine(stack, "coax_ingest")
    try:
        with UnitOfWork(engine) as uow, pytest.raises(ValueError):
            uow.set_org("' or 1=1 --")
    finally:
        engine.dispose()


def test_only_the_owner_reads_system_audit_records(stack, owner):
    marker = f"rls-test-{uuid.uuid4()}"
    engine = role_engine(stack, "coax_email_scan")
    try:
        with UnitOfWork(engine) as uow:
            uow.audit("email-scan", "test.system_event", marker)
            uow.commit()
        with UnitOfWork(engine) as uow:
            seen = uow.execute("select count(*) from audit_log where target = :t",
                               {"t": marker}).scalar()
        assert seen == 0
    finally:
        engine.dispose()
    with owner.connect() as c:
        assert c.execute(sa.text("select count(*) from audit_log where target = :t"),
                         {"t": marker}).scalar() == 1
