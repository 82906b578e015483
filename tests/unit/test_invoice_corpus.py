"""Template-free extraction on the invoice2data corpus (real invoices, not written for us).

Prints the share of files whose total, currency, invoice date and invoice number match the
corpus's expected JSON, and holds the targets: total and currency right on at least 10 of
12 files, all four fields right on at least 8.

Scoring rules (also used by the benchmark): a field the expected JSON does not state is not
checked for that file (SammyMaystone states no amount); invoice numbers compare without a
leading "#", spaces and case. The expected JSON was written for templates and is kept as
is, including Orlen's invoice number "F" (the document says "F 1234K20/1234/12").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from services.invoice_parse.extraction import (
    InvoiceFields,
    PdfTextWorker,
    extract_from_text,
    extract_invoice,
)
from services.invoice_parse.extraction.amounts import to_minor

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "invoices"
FIELDS = ("total", "currency", "date", "invoice_number")


@dataclass(frozen=True)
class Expected:
    name: str
    path: Path
    total: int | None
    currency: str | None
    date: str | None
    invoice_number: str | None


def corpus_files(corpus: Path = CORPUS) -> list[Expected]:
    """Every document in the corpus with its expected fields."""
    expected = []
    for answer in sorted(corpus.glob("*.json")):
        document = next(
            (p for p in (answer.with_suffix(".pdf"), answer.with_suffix(".txt")) if p.exists()),
            None,
        )
        if document is None:
            continue
        truth = json.loads(answer.read_text(encoding="utf-8"))[0]
        currency = truth.get("currency")
        amount = truth.get("amount")
        expected.append(
            Expected(
                name=answer.stem,
                path=document,
                total=None if amount is None else to_minor(Decimal(str(amount)), currency),
                currency=currency,
                date=truth.get("date"),
                invoice_number=truth.get("invoice_number"),
            )
        )
    return expected


def normalize_number(value: str | None) -> str | None:
    return None if value is None else "".join(value.split()).lstrip("#").casefold()


def field_results(expected: Expected, found: dict) -> dict[str, bool | None]:
    """Per field: True/False when the corpus states it, None when it does not.

    `found` uses the CLI's JSON shape ("total" a decimal string, dates YYYY-MM-DD)."""
    total = found.get("total")
    found_total = None
    if total is not None:
        found_total = to_minor(Decimal(total), found.get("currency") or expected.currency)
    checks = {
        "total": (expected.total, found_total),
        "currency": (expected.currency, found.get("currency")),
        "date": (expected.date, found.get("invoice_date")),
        "invoice_number": (
            normalize_number(expected.invoice_number),
            normalize_number(found.get("invoice_number")),
        ),
    }
    return {f: None if want is None else want == got for f, (want, got) in checks.items()}


def summarize(results: dict[str, dict[str, bool | None]]) -> dict[str, int]:
    """Counts of files right per field, plus "total+currency" and "all four"."""

    def right(result: dict, field: str) -> bool:
        return result[field] is not False  # an unstated field cannot be got wrong

    return {
        **{f: sum(right(r, f) for r in results.values()) for f in FIELDS},
        "total+currency": sum(right(r, "total") and right(r, "currency") for r in results.values()),
        "all four": sum(all(right(r, f) for f in FIELDS) for r in results.values()),
        "files": len(results),
    }


def extract_file(path: Path, worker: PdfTextWorker) -> InvoiceFields:
    if path.suffix == ".txt":
        return extract_from_text(path.read_text(encoding="utf-8"))
    return extract_invoice(path.read_bytes(), worker=worker)


@pytest.mark.skipif(not CORPUS.is_dir(), reason="corpus not present")
def test_corpus_share_meets_targets():
    files = corpus_files()
    assert len(files) == 12
    results = {}
    with PdfTextWorker() as worker:
        found_by_name = {e.name: extract_file(e.path, worker).to_json_dict() for e in files}
    for expected in files:
        found = found_by_name[expected.name]
        results[expected.name] = field_results(expected, found)
        wrong = [f for f, ok in results[expected.name].items() if ok is False]
        print(f"{expected.name:28} wrong: {', '.join(wrong) or '-'}")
    counts = summarize(results)
    for label, count in counts.items():
        if label != "files":
            print(f"{label:16} {count}/{counts['files']} ({count / counts['files']:.0%})")
    assert counts["total+currency"] >= 10
    assert counts["all four"] >= 8


def test_scoring_counts_a_wrong_field():
    expected = Expected("x", Path("x.pdf"), 11900, "EUR", "2024-01-31", "#A-1")
    right = {
        "total": "119.00",
        "currency": "EUR",
        "invoice_date": "2024-01-31",
        "invoice_number": "a-1",
    }
    assert field_results(expected, right) == dict.fromkeys(FIELDS, True)
    wrong = {**right, "total": "11.90", "invoice_number": None}
    assert field_results(expected, wrong)["total"] is False
    assert field_results(expected, wrong)["invoice_number"] is False
    assert summarize({"x": field_results(expected, wrong)})["all four"] == 0
