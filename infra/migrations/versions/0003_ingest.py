"""ingest: the directory, sign-in events partitioned by month, usage roll-ups, discovered apps.

Sign-ins are the one big table (a large tenant writes millions of rows a month), so it is
partitioned by month on `created_at`: retention drops a whole partition instead of deleting
rows, and the primary key (org_id, created_at, id) carries the partition column, which is
what lets `on conflict do nothing` de-duplicate a sign-in id (the same sign-in always has
the same created_at). Partitions are created ahead by `ensure_sign_in_partitions()`, a
SECURITY DEFINER function, because service roles own nothing and cannot create tables.

Revision ID: 0003_ingest
"""

from alembic import op

from shared.db.ddl import grant, script_statements, tenant_table

revision = "0003_ingest"
down_revision = "0001_foundation"
branch_labels = ("ingest",)
depends_on = None

TABLES = """
create table directory_users (
    org_id uuid not null references organizations (id) on delete cascade,
    connection_id uuid not null references connections (id) on delete cascade,
    user_id uuid not null,                    -- Graph object id
    display_name text,
    user_principal_name text,
    mail text,
    job_title text,
    department text,
    account_enabled boolean,
    removed_at timestamptz,                   -- the delta query reported the user deleted
    mail_scan_requested_until timestamptz,    -- end of the last mailbox-scan window asked for
    first_synced_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (org_id, connection_id, user_id)
);

create table directory_state (
    org_id uuid not null references organizations (id) on delete cascade,
    connection_id uuid not null references connections (id) on delete cascade,
    delta_link text,                          -- where the next round starts (complete rounds)
    next_link text,                           -- where an unfinished round resumes
    round_started_at timestamptz,
    last_round_finished_at timestamptz,
    updated_at timestamptz not null default now(),
    primary key (org_id, connection_id)
);

create table sign_ins (
    org_id uuid not null references organizations (id) on delete cascade,
    created_at timestamptz not null,
    id uuid not null,                         -- Graph signIn id
    connection_id uuid not null,
    user_id uuid not null,
    app_id uuid not null,
    app_name text not null,
    succeeded boolean not null,
    interactive boolean not null,
    primary key (org_id, created_at, id)
) partition by range (created_at);

create table sign_in_watermarks (
    org_id uuid not null references organizations (id) on delete cascade,
    connection_id uuid not null references connections (id) on delete cascade,
    synced_until timestamptz,                 -- every sign-in before this is stored
    window_start timestamptz,                 -- the window being read, if one is unfinished
    window_end timestamptz,
    next_link text,                           -- the unfinished window's next page
    updated_at timestamptz not null default now(),
    primary key (org_id, connection_id)
);

create table app_usage_daily (
    org_id uuid not null references organizations (id) on delete cascade,
    app_id uuid not null,
    day date not null,                        -- UTC day
    active_users integer not null,            -- distinct users with a successful sign-in
    sign_ins integer not null,
    failed_sign_ins integer not null,
    primary key (org_id, app_id, day)
);

create table app_user_activity (
    org_id uuid not null references organizations (id) on delete cascade,
    app_id uuid not null,
    user_id uuid not null,
    first_seen_at timestamptz not null,       -- successful sign-ins only
    last_seen_at timestamptz not null,
    primary key (org_id, app_id, user_id)
);

create table discovered_apps (
    org_id uuid not null references organizations (id) on delete cascade,
    app_id uuid not null,
    display_name text not null,
    vendor_id text,                           -- catalog vendor; null while unmapped
    mapping text not null check (mapping in ('app_id', 'name', 'unmapped', 'manual', 'ignored')),
    first_seen_at timestamptz not null,
    last_seen_at timestamptz not null,
    active_users_7d integer not null,
    active_users_30d integer not null,
    active_users_90d integer not null,
    as_of timestamptz not null,               -- the moment the active-user counts end at
    updated_at timestamptz not null default now(),
    primary key (org_id, app_id)
);
create index discovered_apps_vendor on discovered_apps (org_id, vendor_id);
"""

FUNCTIONS = """
create function ensure_sign_in_partitions(first_month date, last_month date) returns integer
language plpgsql security definer set search_path = public as $$
declare
    month date := date_trunc('month', first_month)::date;
    partition text;
    created integer := 0;
begin
    if last_month < first_month or last_month > first_month + interval '10 years' then
        raise exception 'sign-in partitions: bad month range % .. %', first_month, last_month;
    end if;
    -- Serialize creators: two syncs reaching a new month at once must not both create it.
    perform pg_advisory_xact_lock(hashtext('sign_ins partitions'));
    while month <= last_month loop
        partition := 'sign_ins_' || to_char(month, '"y"YYYY"m"MM');
        if to_regclass(partition) is null then
            execute format('create table %I partition of sign_ins for values from (%L) to (%L)',
                           partition, month::text || ' 00:00:00+00',
                           (month + interval '1 month')::date::text || ' 00:00:00+00');
            execute format('alter table %I enable row level security', partition);
            execute format('alter table %I force row level security', partition);
            execute format('create policy org_isolation on %I using (org_id = '
                           'nullif(current_setting(''app.org_id'', true), '''')::uuid) with check '
                           '(org_id = nullif(current_setting(''app.org_id'', true), '''')::uuid)',
                           partition);
            execute format('create policy owner_all on %I to coax_owner using (true) '
                           'with check (true)', partition);
            created := created + 1;
        end if;
        month := (month + interval '1 month')::date;
    end loop;
    return created;
end $$;
revoke all on function ensure_sign_in_partitions(date, date) from public;

-- Retention: sign-ins are kept 12 months; a whole month goes at once.
create function drop_sign_in_partitions_before(cutoff date) returns setof text
language plpgsql security definer set search_path = public as $$
declare
    partition record;
begin
    for partition in
        select c.relname from pg_inherits i
        join pg_class c on c.oid = i.inhrelid
        where i.inhparent = 'sign_ins'::regclass and c.relname ~ '^sign_ins_y[0-9]{4}m[0-9]{2}$'
          and (to_date(substr(c.relname, 11, 4) || substr(c.relname, 16, 2), 'YYYYMM')
               + interval '1 month') <= cutoff
        order by c.relname
    loop
        execute format('drop table %I', partition.relname);
        return next partition.relname;
    end loop;
end $$;
revoke all on function drop_sign_in_partitions_before(date) from public;
"""

TENANT_TABLES = ("directory_users", "directory_state", "sign_ins", "sign_in_watermarks",
                 "app_usage_daily", "app_user_activity", "discovered_apps")


def upgrade() -> None:
    for statement in script_statements(TABLES):
        op.execute(statement)
    op.execute(FUNCTIONS)
    # A year back (so a first sync of old data has somewhere to land) and a few months ahead.
    op.execute("select ensure_sign_in_partitions((now() - interval '13 months')::date, "
               "(now() + interval '3 months')::date)")
    statements = [statement for table in TENANT_TABLES for statement in tenant_table(table)]
    statements += [
        *grant("directory_users, directory_state, sign_in_watermarks, app_usage_daily, "
               "app_user_activity, discovered_apps", "select, insert, update", "coax_ingest"),
        *grant("sign_ins", "select, insert", "coax_ingest"),
        "grant execute on function ensure_sign_in_partitions(date, date) to coax_ingest",
        # The API reads everything ingest stores and triages discovered apps by hand.
        *grant(", ".join(TENANT_TABLES), "select", "coax_api"),
        *grant("discovered_apps", "update (vendor_id, mapping, updated_at)", "coax_api"),
        # Retention: sign-ins by partition drop, usage and leavers by delete; erasing a
        # person (GDPR) deletes their rows everywhere.
        *grant(", ".join(TENANT_TABLES), "select, delete", "coax_retention_purge"),
        "grant execute on function drop_sign_in_partitions_before(date) to coax_retention_purge",
    ]
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    op.execute("drop function if exists drop_sign_in_partitions_before(date)")
    op.execute("drop function if exists ensure_sign_in_partitions(date, date)")
    for table in reversed(TENANT_TABLES):
        op.execute(f"drop table if exists {table} cascade")
