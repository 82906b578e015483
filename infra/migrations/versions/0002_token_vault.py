"""token-vault: encrypted token records, grants, used flow states; cross-org helpers.

Only `coax_token_vault` is granted anything on these tables. Token rows carry
the envelope (KEK version, wrapped data key, ciphertext) and a generation that
is bound into the ciphertext's AAD, so an older record cannot be replayed into
the row. A null `wrapped_dek` means the record was crypto-shredded.

Revision ID: 0002_token_vault
"""

from alembic import op

from shared.db.ddl import grant, script_statements, tenant_table

revision = "0002_token_vault"
down_revision = "0001_foundation"
branch_labels = ("token_vault",)
depends_on = None

VAULT_ROLE = "coax_token_vault"

TABLES = """
create table vault_tokens (
    id uuid primary key default gen_random_uuid(),
    org_id uuid not null references organizations (id) on delete cascade,
    connection_id uuid not null references connections (id) on delete cascade,
    kind text not null,                   -- 'refresh_token' | 'access_token:<scope set>'
    generation bigint not null,           -- bumped on every write; part of the AAD
    kek_version integer not null check (kek_version > 0),
    wrapped_dek bytea,                    -- null: crypto-shredded, the token is gone
    ciphertext bytea not null,
    expires_at timestamptz,
    updated_at timestamptz not null default now(),
    unique (connection_id, kind)
);
create index vault_tokens_org on vault_tokens (org_id);
create index vault_tokens_kek on vault_tokens (kek_version, org_id, id)
    where wrapped_dek is not null;
create index vault_tokens_expiry on vault_tokens (expires_at) where wrapped_dek is not null;

create table vault_grants (
    connection_id uuid primary key references connections (id) on delete cascade,
    org_id uuid not null references organizations (id) on delete cascade,
    flow text not null check (flow in ('app_only', 'delegated')),
    scopes text[] not null default '{}', -- delegated: the scopes to refresh with
    granted_at timestamptz not null default now()
);
create index vault_grants_org on vault_grants (org_id);

create table vault_used_states (
    nonce text primary key,
    org_id uuid not null references organizations (id) on delete cascade,
    used_at timestamptz not null default now()
)
"""

# Cross-organization questions the vault asks; they run as the owner and
# return ids or counts only, never token material.
FUNCTIONS = """
create function vault_connection_org(p_connection uuid) returns uuid
language sql stable security definer set search_path = public as $$
    select org_id from connections where id = p_connection
$$;

-- Records wrapped by one of the given (older) KEK versions: the rewrap job names the
-- versions its key ring holds, so a record under a version it lacks is never touched.
-- Paged by (organization, record) so a page holds few organizations (one transaction
-- each), and a record that cannot be moved is passed, not retried.
create function vault_records_to_rewrap(p_versions integer[], p_after_org uuid,
                                        p_after_record uuid, p_limit integer)
returns table (org_id uuid, record_id uuid)
language sql stable security definer set search_path = public as $$
    select org_id, id from vault_tokens
    where wrapped_dek is not null and kek_version = any(p_versions)
      and (org_id, id) > (p_after_org, p_after_record)
    order by org_id, id
    limit p_limit
$$;

create function vault_kek_usage() returns table (kek_version integer, records bigint)
language sql stable security definer set search_path = public as $$
    select kek_version, count(*) from vault_tokens
    where wrapped_dek is not null group by kek_version order by kek_version
$$;

create function vault_refresh_due(p_horizon_s integer)
returns table (org_id uuid, connection_id uuid)
language sql stable security definer set search_path = public as $$
    select c.org_id, c.id from connections c
    join organizations o on o.id = c.org_id
    join vault_grants g on g.connection_id = c.id
    where c.status = 'active' and o.status = 'active'
      and not exists (
          select 1 from vault_tokens t
          where t.connection_id = c.id and t.kind like 'access_token:%'
            and t.wrapped_dek is not null
            and t.expires_at > now() + make_interval(secs => p_horizon_s))
    order by c.org_id, c.id
$$;
"""

HELPERS = ("vault_connection_org(uuid)", "vault_records_to_rewrap(integer[], uuid, uuid, integer)",
           "vault_kek_usage()", "vault_refresh_due(integer)")


def upgrade() -> None:
    for statement in script_statements(TABLES):
        op.execute(statement)
    op.execute(FUNCTIONS)
    statements = [
        *tenant_table("vault_tokens"),
        *tenant_table("vault_grants"),
        *tenant_table("vault_used_states"),
        *grant("vault_tokens", "select, insert, update, delete", VAULT_ROLE),
        *grant("vault_grants", "select, insert, update, delete", VAULT_ROLE),
        *grant("vault_used_states", "select, insert, delete", VAULT_ROLE),
    ]
    for helper in HELPERS:
        statements += [f"revoke all on function {helper} from public",
                       f"grant execute on function {helper} to {VAULT_ROLE}"]
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    for helper in HELPERS:
        op.execute(f"drop function if exists {helper}")
    for table in ("vault_used_states", "vault_grants", "vault_tokens"):
        op.execute(f"drop table if exists {table} cascade")
