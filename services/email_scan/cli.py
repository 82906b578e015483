"""`coax email ...`: the email-scan service's commands.

    coax email classify < messages.jsonl     # {"sender": ..., "subject": ...} per line
    coax email filters --start 2026-03-01T00:00:00Z --end 2026-03-04T00:00:00Z
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TextIO

from services.email_scan.classify import Classifier
from services.email_scan.sender_filter import SenderFilterError, sender_filters
from shared.catalog import CatalogError, load_catalog


def register(subparsers) -> None:
    email = subparsers.add_parser("email", help="billing-email classification and sender filters")
    email.set_defaults(func=lambda args: _usage(email))
    commands = email.add_subparsers(dest="email_command", metavar="SUBCOMMAND")

    classify = commands.add_parser(
        "classify",
        help="classify JSON lines {sender, subject} from stdin",
        description="Reads one JSON object {\"sender\", \"subject\"} per line and prints "
        "{\"vendor\", \"class\"} per line; a malformed line prints {\"error\"} and the exit "
        "code is 1 at the end.",
    )
    classify.add_argument("--catalog", type=Path, help="catalog YAML (default: packaged)")
    classify.set_defaults(func=classify_command)

    filters = commands.add_parser("filters", help="print the Graph $filter strings for a window")
    filters.add_argument("--start", required=True, help="ISO 8601 with offset, e.g. ...T00:00Z")
    filters.add_argument("--end", required=True, help="ISO 8601 with offset")
    filters.add_argument("--max-clauses", type=int, default=20)
    filters.add_argument("--catalog", type=Path, help="catalog YAML (default: packaged)")
    filters.set_defaults(func=filters_command)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def classify_command(
    args: argparse.Namespace, stdin: TextIO | None = None, stdout: TextIO | None = None
) -> int:
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    try:
        classifier = Classifier(load_catalog(getattr(args, "catalog", None)))
    except CatalogError as exc:
        print(f"coax email classify: {exc}", file=sys.stderr)
        return 2
    any_bad = False
    for number, line in enumerate(stdin, start=1):
        if not line.strip():
            continue  # blank lines carry no message
        try:
            sender, subject = _parse_line(line)
            result = classifier.classify(sender, subject)
            answer = {"vendor": result.vendor_id, "class": result.kind}
        except ValueError as exc:
            any_bad = True
            answer = {"error": f"line {number}: {exc}"}
        stdout.write(json.dumps(answer) + "\n")
    stdout.flush()
    return 1 if any_bad else 0


def _parse_line(line: str) -> tuple[str | None, str | None]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(record, dict):
        raise ValueError("expected a JSON object with 'sender' and 'subject'")
    missing = [key for key in ("sender", "subject") if key not in record]
    if missing:
        raise ValueError(f"missing field(s): {', '.join(missing)}")
    for key in ("sender", "subject"):
        if record[key] is not None and not isinstance(record[key], str):
            raise ValueError(f"'{key}' must be a string or null")
    return record["sender"], record["subject"]


def filters_command(args: argparse.Namespace, stdout: TextIO | None = None) -> int:
    stdout = stdout or sys.stdout
    try:
        start = datetime.fromisoformat(args.start)
        end = datetime.fromisoformat(args.end)
        filters = sender_filters(
            load_catalog(getattr(args, "catalog", None)), start, end, args.max_clauses
        )
    except (ValueError, SenderFilterError, CatalogError) as exc:
        print(f"coax email filters: {exc}", file=sys.stderr)
        return 2
    for text in filters:
        stdout.write(text + "\n")
    return 0
