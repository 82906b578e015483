"""invoice-parse's SQL: invoices by business key, parse outcomes, spend roll-ups, rates.

Every statement runs in the caller's unit of work, under its organization's
row-level security; nothing here commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.invoice_parse.facts import InvoiceFacts
from services.invoice_parse.rates import Rate, RateTable
from services.invoice_parse.spend import AnnualizedSpend, MonthlySpend, SpendInvoice
from shared.db import UnitOfWork


@dataclass(frozen=True)
class ConnectionAccess:
    mode: str          # "metadata" | "attachments"
    status: str


@dataclass(frozen=True)
class SavedInvoice:
    id: str
    changed: bool      # inserted or updated now; False for a repeat of known facts


def load_connection(uow: UnitOfWork, connection_id: str) -> ConnectionAccess | None:
    row = uow.execute("select mode, status from connections where id = cast(:id as uuid)",
                      {"id": connection_id}).first()
    return ConnectionAccess(row.mode, row.status) if row else None


def lock_vendor(uow: UnitOfWork, org_id: str, vendor_id: str) -> None:
    """Serialize writers of one organization's vendor until commit, so each spend
    recomputation sees every invoice committed before it."""
    uow.execute("select pg_advisory_xact_lock(hashtextextended(:key, 0))",
                {"key": f"invoice-parse/{org_id}/{vendor_id}"})


_COLUMNS = ("org_id, vendor_id, invoice_number, source_message_id, kind, total_minor, currency, "
            "tax_minor, invoice_date, received_on, period_start, period_end, source")
_VALUES = ("cast(:org as uuid), :vendor, :number, :message, :kind, :total, :currency, :tax, "
           "cast(:invoice_date as date), cast(:received_on as date), cast(:period_start as date), "
           "cast(:period_end as date), :source")
_FACTS = ("total_minor, currency, tax_minor, invoice_date, period_start, period_end, source, "
          "kind, invoice_number")


def save_invoice(uow: UnitOfWork, org_id: str, vendor_id: str, message_id: str, kind: str,
                 received_on: date, facts: InvoiceFacts) -> SavedInvoice:
    params = {
        "org": org_id, "vendor": vendor_id, "number": facts.invoice_number,
        "message": message_id, "kind": kind, "total": facts.total_minor,
        "currency": facts.currency, "tax": facts.tax_minor,
        "invoice_date": _iso(facts.invoice_date), "received_on": received_on.isoformat(),
        "period_start": _iso(facts.period_start), "period_end": _iso(facts.period_end),
        "source": facts.source,
    }
    if facts.invoice_number:
        # A replay may now read the number a first pass missed: that earlier
        # number-less row is the same invoice, not a second one.
        uow.execute("delete from invoices where org_id = cast(:org as uuid) and "
                    "source_message_id = :message and invoice_number is null", params)
        conflict = ("on conflict (org_id, vendor_id, invoice_number) "
                    "where invoice_number is not null")
    else:
        known = uow.execute("select id from invoices where org_id = cast(:org as uuid) and "
                            "source_message_id = :message and invoice_number is not null",
                            params).first()
        if known:
            return SavedInvoice(str(known.id), False)
        conflict = "on conflict (org_id, source_message_id) where invoice_number is null"
    written = uow.execute(
        f"insert into invoices ({_COLUMNS}) values ({_VALUES}) {conflict} {_update_clause()} "
        "returning id", params).first()
    if written:
        return SavedInvoice(str(written.id), True)
    key = ("vendor_id = :vendor and invoice_number = :number" if facts.invoice_number
           else "source_message_id = :message and invoice_number is null")
    existing = uow.execute(f"select id from invoices where org_id = cast(:org as uuid) and {key}",
                           params).scalar()
    return SavedInvoice(str(existing), False)


def _update_clause() -> str:
    """A later message may bring better facts for the same invoice (its PDF after a
    subject-only receipt), never worse ones: document facts are not replaced by a
    subject's. An identical repeat changes nothing, and so publishes nothing."""
    kept = [column.strip() for column in _FACTS.split(",")]
    ours = ", ".join(f"invoices.{c}" for c in kept)
    theirs = ", ".join(f"excluded.{c}" for c in kept)
    return (f"do update set ({', '.join(kept)}, updated_at) = ({theirs}, now()) "
            f"where (invoices.source = 'subject' or excluded.source = 'attachment') "
            f"and ({ours}) is distinct from ({theirs})")


def record_outcome(uow: UnitOfWork, org_id: str, message_id: str, vendor_id: str, kind: str, *,
                   outcome: str, document: str | None = None, reason: str | None = None,
                   invoice_id: str | None = None) -> None:
    uow.execute(
        "insert into invoice_parse_outcomes (org_id, source_message_id, vendor_id, kind, "
        "outcome, document, reason, invoice_id) values (cast(:org as uuid), :message, :vendor, "
        ":kind, :outcome, :document, :reason, cast(:invoice as uuid)) "
        "on conflict (org_id, source_message_id) do update set outcome = excluded.outcome, "
        "document = excluded.document, reason = excluded.reason, "
        "invoice_id = excluded.invoice_id, recorded_at = now()",
        {"org": org_id, "message": message_id, "vendor": vendor_id, "kind": kind,
         "outcome": outcome, "document": document, "reason": reason, "invoice": invoice_id})


def spend_invoices(uow: UnitOfWork, org_id: str, vendor_id: str) -> list[SpendInvoice]:
    rows = uow.execute(
        "select total_minor, currency, coalesce(invoice_date, received_on) as spend_date, "
        "period_start, period_end from invoices where org_id = cast(:org as uuid) "
        "and vendor_id = :vendor and total_minor is not null",
        {"org": org_id, "vendor": vendor_id}).all()
    return [SpendInvoice(r.total_minor, r.currency, r.spend_date, r.period_start, r.period_end)
            for r in rows]


def org_currency(uow: UnitOfWork, org_id: str) -> str:
    return uow.scalar("select currency from organizations where id = cast(:org as uuid)",
                      {"org": org_id}) or "EUR"


def rates_for(uow: UnitOfWork, needs: set[tuple[str, date]]) -> RateTable:
    """The rate in force for each (currency, day): one indexed lookup per pair."""
    needs = {(c, d) for c, d in needs if c != "EUR"}
    if not needs:
        return RateTable()
    currencies, days = zip(*sorted(needs), strict=True)
    rows = uow.execute(
        "select q.currency, r.rate_date, r.per_eur "
        "from unnest(cast(:currencies as text[]), cast(:days as date[])) as q(currency, day) "
        "join lateral (select rate_date, per_eur from exchange_rates e "
        "where e.currency = q.currency and e.rate_date <= q.day "
        "order by rate_date desc limit 1) r on true",
        {"currencies": list(currencies), "days": [d.isoformat() for d in days]}).all()
    return RateTable(Rate(r.currency, r.rate_date, r.per_eur) for r in rows)


def save_rates(uow: UnitOfWork, rates: list[Rate], source: str,
               chunk: int = 5000) -> int:
    """Insert or correct rates (reference data, no organization); returns rows written."""
    rates = [r for r in rates if r.currency != "EUR"]
    for start in range(0, len(rates), chunk):
        part = rates[start:start + chunk]
        uow.execute(
            "insert into exchange_rates (currency, rate_date, per_eur, source) "
            "select c, d, r, :source from unnest(cast(:currencies as text[]), "
            "cast(:days as date[]), cast(:values as numeric[])) as t(c, d, r) "
            "on conflict (currency, rate_date) do update set per_eur = excluded.per_eur, "
            "source = excluded.source",
            {"source": source, "currencies": [r.currency for r in part],
             "days": [r.on.isoformat() for r in part], "values": [str(r.per_eur) for r in part]})
    return len(rates)


def replace_spend(uow: UnitOfWork, org_id: str, vendor_id: str, currency: str,
                  monthly: list[MonthlySpend], annualized: list[AnnualizedSpend]) -> None:
    key = {"org": org_id, "vendor": vendor_id, "org_currency": currency}
    uow.execute("delete from spend_monthly where org_id = cast(:org as uuid) "
                "and vendor_id = :vendor", key)
    uow.execute("delete from spend_annualized where org_id = cast(:org as uuid) "
                "and vendor_id = :vendor", key)
    if monthly:
        uow.execute(
            "insert into spend_monthly (org_id, vendor_id, month, currency, amount_minor, "
            "org_currency, amount_org_minor, invoices) values (cast(:org as uuid), :vendor, "
            "cast(:month as date), :currency, :amount, :org_currency, :org_amount, :invoices)",
            [{**key, "month": m.month.isoformat(), "currency": m.currency,
              "amount": m.amount_minor, "org_amount": m.org_amount_minor,
              "invoices": m.invoices} for m in monthly])
    if annualized:
        uow.execute(
            "insert into spend_annualized (org_id, vendor_id, currency, annualized_minor, "
            "org_currency, annualized_org_minor, as_of, invoices) values (cast(:org as uuid), "
            ":vendor, :currency, :amount, :org_currency, :org_amount, cast(:as_of as date), "
            ":invoices)",
            [{**key, "currency": a.currency, "amount": a.annualized_minor,
              "org_amount": a.org_annualized_minor, "as_of": a.as_of.isoformat(),
              "invoices": a.invoices} for a in annualized])


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None
