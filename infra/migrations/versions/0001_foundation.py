"""Foundation: organizations, connections, outbox, processed/parked messages, audit, sync runs.

Each service adds its own tables in its own branch off this revision
(`alembic upgrade heads` applies them all), so services never fight over the
revision chain.

Revision ID: 0001_foundation
"""

from alembic import op

from shared.db.ddl import (
    OWNER_ROLE,
    SERVICE_ROLES,
    grant,
    own_rows_table,
    script_statements,
    tenant_table,
)

revision = "0001_foundation"
down_revision = None
branch_labels = None
depends_on = None

TABLES = """
create table organizations (
    id uuid primary key,
    name text not null,
    status text not null default 'active' check (status in ('active', 'offboarding', 'purged')),
    currency char(3) not null default 'EUR',
    created_at timestamptz not null default now(),
    offboarded_at timestamptz
);

create table connections (
    id uuid primary key,
    org_id uuid not null references organizations (id) on delete cascade,
    tenant_id text not null,
    mode text not null check (mode in ('metadata', 'attachments')),
    status text not null default 'pending'
        check (status in ('pending', 'active', 'needs_consent', 'disconnected')),
    permissions text[] not null default '{}',
    mailbox_scope text[],                -- null: every mailbox the grant allows
    has_p1_licence boolean,              -- null until the first sign-in query tells us
    needs_consent_reason text,
    sync_started_at timestamptz,         -- set while a sync runs: no second one starts
    last_synced_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index connections_org on connections (org_id);

create table outbox (
    id uuid primary key,
    producer text not null default current_user,
    topic text not null,
    payload jsonb not null,
    attributes jsonb not null,
    created_at timestamptz not null default now(),
    published_at timestamptz,
    attempts integer not null default 0,
    last_error text
);
create index outbox_unpublished on outbox (created_at) where published_at is null;

create table processed_messages (
    db_role text not null default current_user,
    consumer text not null,
    message_key text not null,
    processed_at timestamptz not null default now(),
    primary key (db_role, consumer, message_key)
);

create table parked_messages (
    id bigserial primary key,
    db_role text not null default current_user,
    consumer text not null,
    message_id text,
    subscription text,
    org_id uuid,
    reason text not null,
    envelope text not null,
    parked_at timestamptz not null default now()
);

create table audit_log (
    id bigserial primary key,
    org_id uuid,                          -- null: a system event outside any organization
    actor text not null,
    action text not null,
    target text not null,
    details jsonb not null default '{}',
    at timestamptz not null default now()
);
create index audit_log_org_at on audit_log (org_id, at);

create table sync_runs (
    id uuid primary key default gen_random_uuid(),
    org_id uuid not null references organizations (id) on delete cascade,
    connection_id uuid not null references connections (id) on delete cascade,
    reason text not null,
    requested_at timestamptz not null,
    started_at timestamptz not null default now(),
    finished_at timestamptz,
    status text not null default 'running'
        check (status in ('running', 'succeeded', 'failed', 'skipped'))
);
create index sync_runs_connection on sync_runs (connection_id, started_at);
"""

# Cross-organization questions are answered by SECURITY DEFINER functions that
# run as the owner and return ids only; services get EXECUTE on the ones they need.
FUNCTIONS = """
create function due_connections() returns table (org_id uuid, connection_id uuid)
language sql stable security definer set search_path = public as $$
    select c.org_id, c.id from connections c
    join organizations o on o.id = c.org_id
    where c.status = 'active' and o.status = 'active'
    order by c.org_id, c.id
$$;
revoke all on function due_connections() from public;
"""


def upgrade() -> None:
    for statement in script_statements(TABLES):
        op.execute(statement)
    op.execute(FUNCTIONS)
    statements = [
        *tenant_table("organizations", key="id"),
        *tenant_table("connections"),
        *tenant_table("sync_runs"),
        *own_rows_table("outbox", column="producer"),
        *own_rows_table("processed_messages"),
        *own_rows_table("parked_messages"),
        # Audit: readable per organization; system records (org_id null) are
        # writable by every service but readable by the owner only.
        "alter table audit_log enable row level security",
        "alter table audit_log force row level security",
        "create policy org_read on audit_log for select using "
        "(org_id = nullif(current_setting('app.org_id', true), '')::uuid)",
        "create policy append on audit_log for insert with check (org_id is null or "
        "org_id = nullif(current_setting('app.org_id', true), '')::uuid)",
        f"create policy owner_all on audit_log to {OWNER_ROLE} using (true) with check (true)",
        "grant execute on function due_connections() to coax_ingest, coax_retention_purge",
    ]
    for role in SERVICE_ROLES:
        statements += [
            f"grant usage on schema public to {role}",
            *grant("outbox", "select, insert, update", role),
            *grant("processed_messages", "select, insert", role),
            *grant("parked_messages", "insert", role),
            *grant("audit_log", "select, insert", role),
            f"grant usage on sequence audit_log_id_seq, parked_messages_id_seq to {role}",
        ]
    statements += [
        *grant("organizations", "select", "coax_ingest", "coax_token_vault", "coax_email_scan",
               "coax_invoice_parse", "coax_retention_purge"),
        *grant("organizations", "select, insert, update", "coax_api"),
        *grant("connections", "select", "coax_ingest", "coax_email_scan", "coax_invoice_parse",
               "coax_api"),
        *grant("connections", "update (has_p1_licence, sync_started_at, last_synced_at, "
               "updated_at)", "coax_ingest"),
        *grant("connections", "select, insert, update", "coax_token_vault"),
        *grant("sync_runs", "select, insert, update", "coax_ingest"),
        *grant("sync_runs", "select", "coax_api"),
        *grant("organizations, connections, sync_runs, audit_log", "delete",
               "coax_retention_purge"),
        *grant("organizations, connections, sync_runs, audit_log", "select",
               "coax_retention_purge"),
    ]
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    op.execute("drop function if exists due_connections()")
    for table in ("sync_runs", "audit_log", "parked_messages", "processed_messages", "outbox",
                  "connections", "organizations"):
        op.execute(f"drop table if exists {table} cascade")
