"""`coax rates load`: ECB files into the dated rate table, as the invoice-parse role."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from infra.local.stack import service_env
from services.invoice_parse import store
from shared.cli import main as coax
from shared.db import UnitOfWorkFactory, make_engine

# XTS is ISO 4217's code reserved for testing: no real rate is disturbed.
HISTORY = "Date,XTS,\n2026-03-03,2.5000,\n2026-03-02,2.0000,\n"
ONE_DAY = "Date, XTS, \n04 March 2026, 3.0000, \n"


def _rates(owner):
    with owner.connect() as c:
        return c.execute(sa.text("select rate_date, per_eur, source from exchange_rates "
                                 "where currency = 'XTS' order by rate_date")).all()


def test_loading_is_repeatable_and_a_day_is_corrected_not_duplicated(stack, owner, tmp_path,
                                                                    monkeypatch, capsys):
    with owner.begin() as c:
        c.execute(sa.text("delete from exchange_rates where currency = 'XTS'"))
    env = service_env(stack, "invoice-parse")
    monkeypatch.setenv("DATABASE_URL", env["DATABASE_URL"])
    history, day = tmp_path / "eurofxref-hist.csv", tmp_path / "eurofxref.csv"
    history.write_text(HISTORY)
    day.write_text(ONE_DAY)

    assert coax(["rates", "load", str(history)]) == 0
    assert coax(["rates", "load", str(history), "--since", "2026-03-03"]) == 0
    assert coax(["rates", "load", str(day)]) == 0
    assert "1 rates loaded from 2026-03-04 to 2026-03-04" in capsys.readouterr().out
    assert [(r.rate_date, r.per_eur) for r in _rates(owner)] == [
        (date(2026, 3, 2), Decimal("2.0000000000")), (date(2026, 3, 3), Decimal("2.5000000000")),
        (date(2026, 3, 4), Decimal("3.0000000000"))]

    # What the handler sees: the rate in force on a day, the nearest earlier one.
    engine = make_engine(env["DATABASE_URL"], pool_size=1)
    try:
        with UnitOfWorkFactory(engine)() as uow:
            table = store.rates_for(uow, {("XTS", date(2026, 3, 8)), ("XTS", date(2026, 3, 2)),
                                          ("XTS", date(2026, 3, 1))})
    finally:
        engine.dispose()
    assert table.per_eur("XTS", date(2026, 3, 8)) == Decimal("3")
    assert table.per_eur("XTS", date(2026, 3, 2)) == Decimal("2")


def test_a_file_that_is_not_an_ecb_file_is_refused(stack, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", service_env(stack, "invoice-parse")["DATABASE_URL"])
    wrong = tmp_path / "rates.csv"
    wrong.write_text("currency,rate\nUSD,1.1\n")
    assert coax(["rates", "load", str(wrong)]) == 1
    assert "Date" in capsys.readouterr().err
    assert coax(["rates", "load", str(tmp_path / "missing.csv")]) == 1
