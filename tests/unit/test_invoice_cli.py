"""`coax invoice parse FILE...` through its registered handler: one JSON line per file,
refused files reported with their reason, exit code 1 when any file failed."""

from __future__ import annotations

import argparse
import json

from services.invoice_parse.cli import register
from tests.unit.test_invoice_hostile import encrypted, invoice_pdf


def run_cli(argv: list[str], capsys) -> tuple[int, list[dict]]:
    parser = argparse.ArgumentParser(prog="coax")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code = args.func(args)
    lines = capsys.readouterr().out.splitlines()
    return code, [json.loads(line) for line in lines]


def test_pdf_and_text_files_print_the_documented_shape(tmp_path, capsys):
    pdf = tmp_path / "stripe.pdf"
    pdf.write_bytes(invoice_pdf())
    text = tmp_path / "rechnung.txt"
    text.write_text("Rechnungsnr. RE-7\nRechnungsdatum 7. Mai 2024\nGesamtbetrag  119,00 €\n")
    code, records = run_cli(["invoice", "parse", str(pdf), str(text)], capsys)
    assert code == 0
    assert [r["file"] for r in records] == [str(pdf), str(text)]
    expected_keys = {
        "file",
        "vendor",
        "total",
        "currency",
        "invoice_date",
        "invoice_number",
        "period_start",
        "period_end",
        "tax",
    }
    assert all(set(r) == expected_keys for r in records)
    assert (records[0]["total"], records[0]["currency"], records[0]["tax"]) == (
        "119.00",
        "USD",
        "19.00",
    )
    assert records[1]["invoice_date"] == "2024-05-07"
    assert (records[1]["total"], records[1]["currency"]) == ("119.00", "EUR")


def test_refused_files_are_reported_and_the_run_goes_on(tmp_path, capsys):
    locked = tmp_path / "locked.pdf"
    locked.write_bytes(encrypted(invoice_pdf(), user_password="s3cret"))
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"not a pdf at all")
    good = tmp_path / "good.pdf"
    good.write_bytes(invoice_pdf())
    missing = tmp_path / "missing.pdf"
    code, records = run_cli(
        ["invoice", "parse", str(locked), str(junk), str(missing), str(good)], capsys
    )
    assert code == 1
    assert [r.get("error") for r in records] == ["encrypted", "not_pdf", "unreadable", None]
    assert records[-1]["total"] == "119.00"
