"""Invoice and spend tables: one organization never sees or writes another's, and each
role holds only the privileges the migration grants it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from shared.db import UnitOfWork
from tests.support.stack import create_org, role_engine

TENANT_TABLES = ("invoices", "invoice_parse_outcomes", "spend_monthly", "spend_annualized")


def _seed(owner, org_id: str, number: str) -> None:
    with owner.begin() as c:
        c.execute(sa.text(
            "insert into invoices (org_id, vendor_id, invoice_number, source_message_id, kind, "
            "total_minor, currency, received_on, source) values (:o, 'slack', :n, :n, "
            "'receipt', 1000, 'EUR', '2026-10-01', 'subject')"), {"o": org_id, "n": number})
        c.execute(sa.text(
            "insert into spend_monthly (org_id, vendor_id, month, currency, amount_minor, "
            "org_currency, amount_org_minor, invoices) values (:o, 'slack', '2026-10-01', "
            "'EUR', 1000, 'EUR', 1000, 1)"), {"o": org_id})


@pytest.fixture(scope="module")
def two_orgs(stack, owner):
    (org_a, _), (org_b, _) = create_org(owner, name="Inv A"), create_org(owner, name="Inv B")
    _seed(owner, org_a, "A-1")
    _seed(owner, org_b, "B-1")
    return org_a, org_b


@pytest.mark.parametrize("role", ["coax_invoice_parse", "coax_api", "coax_retention_purge"])
def test_each_role_sees_only_the_organization_it_is_scoped_to(stack, two_orgs, role):
    org_a, org_b = two_orgs
    engine = role_engine(stack, role)
    try:
        with UnitOfWork(engine, org_id=org_a) as uow:
            numbers = uow.execute("select invoice_number from invoices").scalars().all()
            spend_orgs = uow.execute("select distinct org_id from spend_monthly").scalars().all()
        assert numbers == ["A-1"] and [str(o) for o in spend_orgs] == [org_a]
        with UnitOfWork(engine) as uow:               # no organization: nothing
            assert uow.scalar("select count(*) from invoices") == 0
    finally:
        engine.dispose()


def test_invoice_parse_cannot_write_into_another_organization(stack, two_orgs):
    org_a, org_b = two_orgs
    engine = role_engine(stack, "coax_invoice_parse")
    try:
        with pytest.raises(DBAPIError, match="row-level security"):
            with UnitOfWork(engine, org_id=org_a) as uow:
                uow.execute("insert into spend_monthly (org_id, vendor_id, month, currency, "
                            "amount_minor, org_currency, invoices) values (:b, 'x', "
                            "'2026-10-01', 'EUR', 1, 'EUR', 1)", {"b": org_b})
        with UnitOfWork(engine, org_id=org_a) as uow:
            assert uow.execute("delete from invoices where org_id = :b",
                               {"b": org_b}).rowcount == 0
    finally:
        engine.dispose()


@pytest.mark.parametrize(("role", "statement"), [
    ("coax_api", "insert into invoices (org_id, vendor_id, source_message_id, kind, "
                 "received_on, source) values (:o, 'x', 'm', 'receipt', now(), 'subject')"),
    ("coax_api", "delete from spend_monthly"),
    ("coax_api", "update exchange_rates set per_eur = 1"),
    ("coax_email_scan", "select count(*) from invoices"),
    ("coax_retention_purge", "update invoices set total_minor = 0"),
    ("coax_invoice_parse", "delete from exchange_rates"),
])
def test_roles_hold_only_what_they_need(stack, two_orgs, role, statement):
    org_a, _ = two_orgs
    engine = role_engine(stack, role)
    try:
        with pytest.raises(DBAPIError, match="permission denied"):
            with UnitOfWork(engine, org_id=org_a) as uow:
                uow.execute(statement, {"o": org_a})
    finally:
        engine.dispose()


def test_retention_purge_can_erase_an_organizations_invoices(stack, owner, two_orgs):
    org_a, org_b = two_orgs
    engine = role_engine(stack, "coax_retention_purge")
    try:
        with UnitOfWork(engine, org_id=org_b) as uow:
            for table in TENANT_TABLES:
                uow.execute(f"delete from {table} where org_id = :b", {"b": org_b})
            uow.commit()
    finally:
        engine.dispose()
    with owner.connect() as c:
        left = {(t, org): c.execute(sa.text(f"select count(*) from {t} where org_id = :o"),
                                    {"o": org}).scalar()
                for t in ("invoices", "spend_monthly") for org in (org_a, org_b)}
    assert left == {("invoices", org_a): 1, ("spend_monthly", org_a): 1,
                    ("invoices", org_b): 0, ("spend_monthly", org_b): 0}
