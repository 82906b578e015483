"""`coax rates load FILE`: load ECB euro reference rates into the dated rate table.

Runs with the invoice-parse database role (DATABASE_URL), the only service allowed to
write rates. Re-loading a file is harmless: a day's rate is replaced, never duplicated.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path

from services.invoice_parse import store
from services.invoice_parse.rates import RateFileError, parse_ecb_csv
from shared.db import UnitOfWorkFactory, make_engine

MAX_FILE_BYTES = 50 * 1024 * 1024   # the full ECB history is about 1.5 MB


def register(subparsers) -> None:
    rates = subparsers.add_parser("rates", help="exchange-rate table tools")
    actions = rates.add_subparsers(dest="rates_command", required=True)
    load = actions.add_parser("load", help="load an ECB eurofxref CSV file",
                              description="Load euro reference rates (eurofxref-hist.csv or "
                              "eurofxref.csv from the ECB) into exchange_rates.")
    load.add_argument("file", type=Path)
    load.add_argument("--since", type=date.fromisoformat, default=None,
                      help="only rates on or after this day (YYYY-MM-DD)")
    load.add_argument("--source", default="ecb", help="label stored with each rate")
    load.set_defaults(func=load_rates)


def load_rates(args: argparse.Namespace) -> int:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        print("DATABASE_URL is required (the invoice-parse role)", file=sys.stderr)
        return 2
    try:
        if args.file.stat().st_size > MAX_FILE_BYTES:
            print(f"{args.file}: larger than {MAX_FILE_BYTES} bytes", file=sys.stderr)
            return 1
        rates = parse_ecb_csv(args.file.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, RateFileError) as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return 1
    if args.since:
        rates = [r for r in rates if r.on >= args.since]
    engine = make_engine(url, pool_size=1, max_overflow=0)
    try:
        with UnitOfWorkFactory(engine)() as uow:
            written = store.save_rates(uow, rates, args.source)
            uow.commit()
    finally:
        engine.dispose()
    days = sorted({r.on for r in rates})
    span = f" from {days[0]} to {days[-1]}" if days else ""
    print(f"{written} rates loaded{span}")
    return 0
