"""`coax email classify` and `coax email filters`: JSON lines in, JSON lines out."""

import argparse
import io
import json

import pytest

from services.email_scan.cli import classify_command, filters_command
from shared.cli import main as coax_main


def _classify(text, catalog=None):
    out = io.StringIO()
    code = classify_command(argparse.Namespace(catalog=catalog), io.StringIO(text), out)
    return code, [json.loads(line) for line in out.getvalue().splitlines()]


def _line(sender, subject):
    return json.dumps({"sender": sender, "subject": subject}) + "\n"


def test_each_line_gets_its_vendor_and_class():
    code, answers = _classify(
        _line("receipts+acct_1@stripe.com", "Ihre Quittung von Figma [#2378-4412]")
        + _line("billing@zoom.us", "Webinar: better meetings")
        + _line("friend@example.org", "Lunch?")
        + _line("billing@box.com", None)
    )
    assert code == 0
    assert answers == [
        {"vendor": "figma", "class": "receipt"},
        {"vendor": "zoom", "class": "other"},
        {"vendor": None, "class": "not_vendor"},
        {"vendor": "box", "class": "other"},
    ]


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("{not json\n", "not valid JSON"),
        ("[1, 2]\n", "expected a JSON object"),
        ('{"sender": "billing@zoom.us"}\n', "missing field(s): subject"),
        ('{"sender": 7, "subject": "x"}\n', "'sender' must be a string or null"),
    ],
)
def test_a_malformed_line_reports_an_error_and_processing_continues(bad_line, message):
    code, answers = _classify(
        _line("billing@zoom.us", "Your payment failed") + bad_line
        + _line("feedback@slack.com", "Velkommen til Slack")
    )
    assert code == 1
    assert answers[0] == {"vendor": "zoom", "class": "payment_failed"}
    assert answers[1]["error"].startswith("line 2: ") and message in answers[1]["error"]
    assert answers[2] == {"vendor": "slack", "class": "signup"}


def test_blank_lines_are_skipped():
    code, answers = _classify("\n" + _line("billing@zoom.us", "Your Zoom invoice") + "   \n")
    assert code == 0 and answers == [{"vendor": "zoom", "class": "receipt"}]


def test_a_broken_catalog_is_reported_with_exit_code_2(tmp_path, capsys):
    broken = tmp_path / "vendors.yaml"
    broken.write_text("vendors: [", encoding="utf-8")
    code, answers = _classify(_line("billing@zoom.us", "x"), catalog=broken)
    assert code == 2 and answers == []
    assert "not valid YAML" in capsys.readouterr().err


def test_the_coax_command_loads_the_plugin(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO(_line("help@paddle.com", "Your receipt for n8n")))
    assert coax_main(["email", "classify"]) == 0
    assert json.loads(capsys.readouterr().out) == {"vendor": "n8n", "class": "receipt"}


def test_filters_command_prints_one_filter_per_line():
    out = io.StringIO()
    args = argparse.Namespace(
        start="2026-03-01T00:00:00+00:00", end="2026-03-02T00:00:00Z", max_clauses=5, catalog=None
    )
    assert filters_command(args, out) == 0
    lines = out.getvalue().splitlines()
    assert len(lines) > 1
    assert all(line.startswith("receivedDateTime ge 2026-03-01T00:00:00Z") for line in lines)


def test_filters_command_refuses_a_naive_time(capsys):
    args = argparse.Namespace(
        start="2026-03-01T00:00:00", end="2026-03-02T00:00:00Z", max_clauses=5, catalog=None
    )
    assert filters_command(args, io.StringIO()) == 2
    assert "no timezone" in capsys.readouterr().err
