"""email-scan: billing and sign-up email metadata, mailbox watermarks, vendor discoveries.

What is stored, and only that (data minimization): for a message a catalog vendor sent that
classifies as receipt, renewal, payment_failed or signup, its Graph id, the vendor, the kind,
the sender (a vendor's address, never a person's), the received time, whether it has
attachments, and the subject *minimized*: control characters removed, whitespace collapsed,
any email address in it replaced by "[email]", cut to 200 characters. The subject stays because
in metadata-only mode it is the only place an amount can come from. Mail classified "other" or
"not_vendor" is never written anywhere.

Revision ID: 0004_email_scan
"""

from alembic import op

from shared.db.ddl import grant, script_statements, tenant_table

revision = "0004_email_scan"
down_revision = "0001_foundation"
branch_labels = ("email_scan",)
depends_on = None

TABLES = """
create table billing_emails (
    id uuid primary key default gen_random_uuid(),
    org_id uuid not null references organizations (id) on delete cascade,
    connection_id uuid not null references connections (id) on delete cascade,
    mailbox_id text not null,               -- Graph user id of the mailbox
    message_id text not null,               -- Graph message id
    vendor_id text not null,                -- catalog vendor id
    kind text not null check (kind in ('receipt', 'renewal', 'payment_failed', 'signup')),
    subject text not null check (char_length(subject) <= 200),
    sender text not null,
    received_at timestamptz not null,
    has_attachments boolean not null,
    detected_at timestamptz not null default now(),
    -- Re-scans of an overlapping window and redeliveries add nothing twice.
    unique (org_id, message_id)
);
create index billing_emails_vendor on billing_emails (org_id, vendor_id, received_at);
create index billing_emails_mailbox on billing_emails (org_id, mailbox_id);

-- One row per scanned mailbox: the contiguous span already scanned, so a window inside it
-- costs no Graph request, and the row lock serializes scans of one mailbox (Graph allows
-- only 4 concurrent requests per app and mailbox).
create table mailbox_watermarks (
    org_id uuid not null references organizations (id) on delete cascade,
    connection_id uuid not null references connections (id) on delete cascade,
    mailbox_id text not null,
    scanned_from timestamptz,               -- null until the first scan completes
    scanned_until timestamptz,              -- the watermark: window end of the last scan
    last_scan_at timestamptz,
    last_scan_queries integer not null default 0,   -- Graph queries (filter chunks) it took
    primary key (connection_id, mailbox_id)
);
create index mailbox_watermarks_org on mailbox_watermarks (org_id);

create table vendor_discoveries (
    org_id uuid not null references organizations (id) on delete cascade,
    vendor_id text not null,
    source text not null check (source in ('email')),
    first_seen_at timestamptz not null,
    last_seen_at timestamptz not null,
    primary key (org_id, vendor_id, source)
);
"""

TENANT_TABLES = ("billing_emails", "mailbox_watermarks", "vendor_discoveries")


def upgrade() -> None:
    for statement in script_statements(TABLES):
        op.execute(statement)
    statements = [statement for table in TENANT_TABLES for statement in tenant_table(table)]
    statements += [
        *grant("billing_emails", "select, insert", "coax_email_scan"),
        *grant("mailbox_watermarks, vendor_discoveries", "select, insert, update",
               "coax_email_scan"),
        *grant(", ".join(TENANT_TABLES), "select", "coax_api"),
        # DELETE ... WHERE needs SELECT on the columns the condition reads.
        *grant(", ".join(TENANT_TABLES), "select, delete", "coax_retention_purge"),
    ]
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    for table in reversed(TENANT_TABLES):
        op.execute(f"drop table if exists {table} cascade")
