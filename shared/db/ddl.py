"""SQL building blocks for migrations: row-level security and grants.

Every tenant table goes through `tenant_table()`: RLS enabled AND forced (so
even the owner is filtered), one policy that reads the organization from the
transaction's `app.org_id`, and a policy that lets the owner role see all rows
(only SECURITY DEFINER functions run as the owner, for the few cross-org
questions such as "which connections are due for a sync").
"""

from __future__ import annotations

OWNER_ROLE = "coax_owner"
CURRENT_ORG = "nullif(current_setting('app.org_id', true), '')::uuid"

SERVICE_ROLES = (
    "coax_ingest",
    "coax_token_vault",
    "coax_email_scan",
    "coax_invoice_parse",
    "coax_retention_purge",
    "coax_api",
)


def script_statements(script: str) -> list[str]:
    """A migration's DDL script, one statement per `;` at a line end (pg8000's
    extended protocol runs one statement per call)."""
    return [statement for statement in script.split(";\n") if statement.strip()]


def tenant_table(table: str, key: str = "org_id") -> list[str]:
    return [
        f"alter table {table} enable row level security",
        f"alter table {table} force row level security",
        f"create policy org_isolation on {table} using ({key} = {CURRENT_ORG}) "
        f"with check ({key} = {CURRENT_ORG})",
        f"create policy owner_all on {table} to {OWNER_ROLE} using (true) with check (true)",
    ]


def own_rows_table(table: str, column: str = "db_role") -> list[str]:
    """Infrastructure tables (outbox, processed, parked): each role sees its own rows."""
    return [
        f"alter table {table} enable row level security",
        f"alter table {table} force row level security",
        f"create policy own_rows on {table} using ({column} = current_user) "
        f"with check ({column} = current_user)",
        f"create policy owner_all on {table} to {OWNER_ROLE} using (true) with check (true)",
    ]


def grant(table: str, privileges: str, *roles: str) -> list[str]:
    return [f"grant {privileges} on {table} to {role}" for role in roles]
