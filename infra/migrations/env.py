"""Alembic environment: migrations run as the owner role, never as a service."""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import context

url = context.config.get_main_option("sqlalchemy.url") or os.environ["COAX_MIGRATION_URL"]


def run_migrations_online() -> None:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    context.configure(url=url, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
