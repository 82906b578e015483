"""`coax invoice parse FILE...`: the service's extraction code on local files.

One JSON object per line per file. A refused file prints its reason and the run goes on;
the exit code is 1 when any file failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from services.invoice_parse.extraction import (
    DEFAULT_LIMITS,
    InvoiceRejected,
    PdfTextWorker,
    VendorMatcher,
    extract_from_text,
    extract_invoice,
    load_default_catalog,
)


def register(subparsers) -> None:
    invoice = subparsers.add_parser("invoice", help="invoice tools")
    actions = invoice.add_subparsers(dest="invoice_command", required=True)
    parse = actions.add_parser(
        "parse",
        help="extract invoice fields from PDF or text files",
        description="Print one JSON object per file: vendor, total, currency, invoice_date, "
        "invoice_number, period_start, period_end, tax (null where unknown).",
    )
    parse.add_argument("files", nargs="+", metavar="FILE", type=Path)
    parse.add_argument("--vendor-hint", default=None, help="catalog id the sender implies")
    parse.set_defaults(func=parse_files)


def parse_files(args: argparse.Namespace) -> int:
    catalog = load_default_catalog()
    vendors = VendorMatcher(catalog.vendors) if catalog is not None else None
    failed = False
    with PdfTextWorker() as worker:
        for path in args.files:
            failed |= not _print_one(path, args.vendor_hint, vendors, worker)
    return 1 if failed else 0


def _print_one(path: Path, vendor_hint: str | None, vendors, worker: PdfTextWorker) -> bool:
    ok = True
    try:
        fields = _extract(path, vendor_hint, vendors, worker)
        record = {"file": str(path), **fields.to_json_dict()}
    except InvoiceRejected as exc:
        ok, record = False, {"file": str(path), "error": exc.reason}
    except OSError as exc:
        ok, record = False, {"file": str(path), "error": "unreadable", "detail": exc.strerror}
    print(json.dumps(record, ensure_ascii=False), flush=True)
    return ok


def _extract(path: Path, vendor_hint: str | None, vendors, worker: PdfTextWorker):
    if path.suffix.lower() == ".txt":
        if path.stat().st_size > DEFAULT_LIMITS.max_bytes:
            raise InvoiceRejected("too_large", "text file over the size cap")
        text = path.read_text(encoding="utf-8", errors="replace")
        return extract_from_text(text, vendor_hint=vendor_hint, vendors=vendors)
    with path.open("rb") as handle:
        # Read one byte past the cap so oversize files are refused without loading them.
        data = handle.read(DEFAULT_LIMITS.max_bytes + 1)
    return extract_invoice(data, vendor_hint=vendor_hint, vendors=vendors, worker=worker)


def main(argv: list[str] | None = None) -> int:
    """Standalone entry (`python -m services.invoice_parse.cli parse FILE...`)."""
    parser = argparse.ArgumentParser(prog="coax")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["invoice", *(argv if argv is not None else sys.argv[1:])])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
