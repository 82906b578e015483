"""`coax invoice parse FILE...`: the service's extraction code on local files.

One JSON object per line per file. A refused file prints its reason and the run goes on;
the exit code is 1 when any file failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import Future
from pathlib import Path

from services.invoice_parse.extraction import (
    DEFAULT_LIMITS,
    InvoiceRejected,
    PdfTextWorker,
    VendorMatcher,
    extract_from_text,
    load_default_catalog,
)
from services.invoice_parse.extraction.extract import extract_invoice_text, fields_of_text
from services.invoice_parse.extraction.pipeline import one_ahead


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
        # Two stages: the worker reads the next file's text while this one's fields are found.
        texts = one_ahead(lambda path: _read_text(path, worker), args.files)
        for path, text in texts:
            failed |= not _print_one(path, text, args.vendor_hint, vendors)
    return 1 if failed else 0


def _print_one(path: Path, text: Future, vendor_hint: str | None, vendors) -> bool:
    ok = True
    try:
        is_pdf, content = text.result()
        find = fields_of_text if is_pdf else extract_from_text
        fields = find(content, vendor_hint=vendor_hint, vendors=vendors)
        record = {"file": str(path), **fields.to_json_dict()}
    except InvoiceRejected as exc:
        ok, record = False, {"file": str(path), "error": exc.reason}
    except OSError as exc:
        ok, record = False, {"file": str(path), "error": "unreadable", "detail": exc.strerror}
    print(json.dumps(record, ensure_ascii=False), flush=True)
    return ok


def _read_text(path: Path, worker: PdfTextWorker) -> tuple[bool, str]:
    """(is it a PDF, its text): stage one, which runs ahead in a helper thread."""
    if path.suffix.lower() == ".txt":
        if path.stat().st_size > DEFAULT_LIMITS.max_bytes:
            raise InvoiceRejected("too_large", "text file over the size cap")
        return False, path.read_text(encoding="utf-8", errors="replace")
    with path.open("rb") as handle:
        # Read one byte past the cap so oversize files are refused without loading them.
        data = handle.read(DEFAULT_LIMITS.max_bytes + 1)
    return True, extract_invoice_text(data, worker=worker)


def main(argv: list[str] | None = None) -> int:
    """Standalone entry (`python -m services.invoice_parse.cli parse FILE...`)."""
    parser = argparse.ArgumentParser(prog="coax")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["invoice", *(argv if argv is not None else sys.argv[1:])])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
