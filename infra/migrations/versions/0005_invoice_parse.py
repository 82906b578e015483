"""invoice-parse: invoice fields, per-message parse outcomes, spend roll-ups, exchange rates.

Only extracted fields are stored; no PDF, image or text of an invoice ever is.
`exchange_rates` is reference data shared by every organization (no org_id);
the other tables are tenant tables under forced row-level security.

Revision ID: 0005_invoice_parse
"""

from alembic import op

from shared.db.ddl import grant, script_statements, tenant_table

revision = "0005_invoice_parse"
down_revision = "0001_foundation"
branch_labels = ("invoice_parse",)
depends_on = None

TABLES = """
create table invoices (
    id uuid primary key default gen_random_uuid(),
    org_id uuid not null references organizations (id) on delete cascade,
    vendor_id text not null,
    invoice_number text,
    source_message_id text not null,     -- the Graph message the fields came from
    kind text not null check (kind in ('receipt', 'renewal')),
    total_minor bigint check (total_minor >= 0),
    currency char(3),
    tax_minor bigint,
    invoice_date date,
    received_on date not null,           -- counts for spend when the invoice states no date
    period_start date,
    period_end date,
    source text not null check (source in ('subject', 'attachment')),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    check ((total_minor is null) = (currency is null))
);
create unique index invoices_by_number on invoices (org_id, vendor_id, invoice_number)
    where invoice_number is not null;
create unique index invoices_by_message on invoices (org_id, source_message_id)
    where invoice_number is null;
create index invoices_vendor on invoices (org_id, vendor_id);

create table invoice_parse_outcomes (
    org_id uuid not null references organizations (id) on delete cascade,
    source_message_id text not null,
    vendor_id text not null,
    kind text not null,
    outcome text not null check (outcome in ('stored', 'nothing_found', 'not_spend')),
    document text check (document in ('parsed', 'rejected', 'skipped')),
    reason text,                          -- a reason code, never document content
    invoice_id uuid references invoices (id) on delete set null,
    recorded_at timestamptz not null default now(),
    primary key (org_id, source_message_id)
);

create table spend_monthly (
    org_id uuid not null references organizations (id) on delete cascade,
    vendor_id text not null,
    month date not null check (extract(day from month) = 1),
    currency char(3) not null,
    amount_minor bigint not null,
    org_currency char(3) not null,
    amount_org_minor bigint,              -- null: a rate was missing, not zero
    invoices integer not null,
    updated_at timestamptz not null default now(),
    primary key (org_id, vendor_id, month, currency)
);

create table spend_annualized (
    org_id uuid not null references organizations (id) on delete cascade,
    vendor_id text not null,
    currency char(3) not null,
    annualized_minor bigint not null,
    org_currency char(3) not null,
    annualized_org_minor bigint,
    as_of date not null,
    invoices integer not null,
    updated_at timestamptz not null default now(),
    primary key (org_id, vendor_id, currency)
);

create table exchange_rates (
    currency char(3) not null check (currency ~ '^[A-Z]{3}$' and currency <> 'EUR'),
    rate_date date not null,
    per_eur numeric(20, 10) not null check (per_eur > 0),   -- units of currency per 1 EUR
    source text not null,
    primary key (currency, rate_date)
);
"""

# Approximate euro reference rates, rounded, for local development and tests
# only: they are NOT market data. Production loads the ECB's published history
# (`coax rates load eurofxref-hist.csv`, source 'ecb'), which supersedes these
# rows day by day.
REFERENCE_RATES = {
    "2024-01-02": {"USD": "1.10", "GBP": "0.87", "DKK": "7.46", "SEK": "11.10",
                   "NOK": "11.20", "CHF": "0.93", "JPY": "156"},
    "2025-01-02": {"USD": "1.04", "GBP": "0.83", "DKK": "7.46", "SEK": "11.50",
                   "NOK": "11.80", "CHF": "0.94", "JPY": "163"},
    "2026-01-02": {"USD": "1.17", "GBP": "0.87", "DKK": "7.47", "SEK": "10.80",
                   "NOK": "11.80", "CHF": "0.93", "JPY": "184"},
    "2026-07-01": {"USD": "1.16", "GBP": "0.86", "DKK": "7.46", "SEK": "11.00",
                   "NOK": "11.70", "CHF": "0.94", "JPY": "182"},
}

TENANT_TABLES = ("invoices", "invoice_parse_outcomes", "spend_monthly", "spend_annualized")


def upgrade() -> None:
    for statement in script_statements(TABLES):
        op.execute(statement)
    for day, rates in REFERENCE_RATES.items():
        for currency, per_eur in rates.items():
            op.execute(f"insert into exchange_rates (currency, rate_date, per_eur, source) "
                       f"values ('{currency}', '{day}', {per_eur}, 'reference')")
    statements = [statement for table in TENANT_TABLES for statement in tenant_table(table)]
    statements += [
        *grant("invoices, invoice_parse_outcomes, spend_monthly, spend_annualized",
               "select, insert, update, delete", "coax_invoice_parse"),
        *grant("exchange_rates", "select, insert, update", "coax_invoice_parse"),
        *grant("invoices, invoice_parse_outcomes, spend_monthly, spend_annualized, "
               "exchange_rates", "select", "coax_api"),
        *grant("invoices, invoice_parse_outcomes, spend_monthly, spend_annualized",
               "select, delete", "coax_retention_purge"),
    ]
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    for table in ("spend_annualized", "spend_monthly", "invoice_parse_outcomes", "invoices",
                  "exchange_rates"):
        op.execute(f"drop table if exists {table} cascade")
