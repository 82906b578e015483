"""Creating the database, its roles and its schema (local stack and CI).

Roles come from the topology: one LOGIN role per service, NOSUPERUSER and
NOBYPASSRLS, owning nothing; plus `coax_owner`, which owns the schema and runs
migrations. In the cloud the same roles are Cloud SQL IAM users; here they
have a local password.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from shared.db.ddl import OWNER_ROLE
from shared.topology import Topology

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def bootstrap(superuser_url: str, database: str, topology: Topology, password: str) -> None:
    """Idempotent: roles and database exist afterwards, whatever existed before."""
    engine = sa.create_engine(superuser_url, isolation_level="AUTOCOMMIT")
    roles = [OWNER_ROLE] + [s.db_role for s in topology.services.values()]
    with engine.connect() as connection:
        for role in roles:
            exists = connection.execute(
                sa.text("select 1 from pg_roles where rolname = :r"), {"r": role}).first()
            verb = "alter" if exists else "create"
            # Role names come from the validated topology (plain identifiers);
            # the password is a local development value, never a real secret.
            connection.execute(sa.text(
                f"{verb} role {role} login nosuperuser nobypassrls nocreatedb nocreaterole "
                f"password '{password}'"))
        if not connection.execute(sa.text("select 1 from pg_database where datname = :d"),
                                  {"d": database}).first():
            connection.execute(sa.text(f"create database {database} owner {OWNER_ROLE}"))
    engine.dispose()
    db_engine = sa.create_engine(superuser_url.rsplit("/", 1)[0] + f"/{database}",
                                 isolation_level="AUTOCOMMIT")
    with db_engine.connect() as connection:
        connection.execute(sa.text("revoke create on schema public from public"))
        connection.execute(sa.text(f"alter schema public owner to {OWNER_ROLE}"))
    db_engine.dispose()


def alembic_config(owner_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", owner_url.replace("%", "%%"))
    return config


def migrate(owner_url: str) -> None:
    command.upgrade(alembic_config(owner_url), "heads")


def reset_schema(owner_url: str) -> None:
    """Drop and re-create everything (tests start from an empty schema)."""
    engine = sa.create_engine(owner_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text("drop schema public cascade"))
        connection.execute(sa.text("create schema public"))
        for role_row in connection.execute(sa.text(
                "select rolname from pg_roles where rolname like 'coax\\_%' "
                "and rolname <> :owner"), {"owner": OWNER_ROLE}):
            connection.execute(sa.text(f"grant usage on schema public to {role_row.rolname}"))
    engine.dispose()
